"""One running lifecycle job: its reporter, its state writes and its waits.

``bot.start`` and ``bot.stop`` are written against this; ``bot.lifecycle`` builds it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Generic, TypeVar

from bot.config import Settings
from bot.cost import CostModel
from bot.errors import Cancelled, CloudError, LifecycleTimeout
from bot.events import EventKind
from bot.fmt import sentence
from bot.model import JobSpec, SessionTags
from bot.polling import poll
from bot.ports import (
    Clock,
    EventSink,
    Ledger,
    PlatformParts,
    PlatformStore,
    TrafficLog,
    TrafficMeter,
)
from bot.progress import Reporter, step_labels
from bot.state import DesiredState, PlatformState, PlatformStatus

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Deps:
    """What every lifecycle job works with, handed in by the wiring."""

    settings: Settings
    parts: PlatformParts
    store: PlatformStore
    sink: EventSink
    clock: Clock
    ledger: Ledger
    costs: CostModel
    traffic: TrafficMeter | None = None  # None: the stop message leaves traffic out
    traffic_log: TrafficLog | None = None  # where measured sessions go (cost's estimate)


class JobRun:
    """The state of one job while it runs (its reporter, its start time, its calls)."""

    def __init__(self, deps: Deps, spec: JobSpec) -> None:
        self.deps = deps
        self.spec = spec
        self.parts = deps.parts
        self.settings = deps.settings
        self.report = Reporter(
            spec.job_id, deps.sink, deps.clock, step_labels(deps.parts.ingress.kind)
        )
        self.calls_before = sum(deps.parts.meter.calls().values())
        self.began = deps.clock.monotonic()

    @property
    def tags(self) -> SessionTags:
        return SessionTags(session=self.spec.job_id, requested_by=self.spec.actor.user)

    def save(self, state: PlatformState, **changes: object) -> PlatformStatus:
        """Move the recorded state (checked against the transition table) and set fields."""
        status = self.deps.store.status()
        moved = status.moved_to(state, self.deps.clock.now())
        moved = replace(moved, **changes)  # type: ignore[arg-type]
        self.deps.store.save(moved)
        return moved

    def check_cancel(self) -> None:
        """Raise ``Cancelled`` when someone asked for a stop since this start began."""
        if self.deps.store.status().desired is DesiredState.STOPPED:
            raise Cancelled("A stop was requested while starting.")

    def wait(
        self,
        step: str,
        what: str,
        probe: Callable[[], T],
        done: Callable[[T], bool],
        describe: Callable[[T], str],
        *,
        cancellable: bool = True,
    ) -> T:
        """Poll ``probe`` until ``done``; one WAITING event each time ``describe`` changes.

        A start's waits see a stop at every poll (``cancellable``); teardown waits don't.
        A poll only reads, so a retryable failure (throttling, 5xx, a connection error or
        a read timeout, after botocore's own attempts) means "not yet": the wait goes on
        until the step's deadline, which then names the AWS error if it still holds."""
        s = self.settings
        last_note = [""]
        last_error: list[CloudError] = []

        def attempt() -> _Attempt[T]:
            try:
                seen = _Attempt(probe())
            except CloudError as exc:
                if not exc.retryable:
                    raise
                last_error[:] = [exc]
                return _Attempt(None, exc)
            last_error.clear()  # the deadline names an error only if it still holds
            return seen

        def finished(seen: _Attempt[T]) -> bool:
            return seen.error is None and done(seen.value)  # type: ignore[arg-type]

        def on_wait(seen: _Attempt[T], waited: float) -> None:
            if cancellable:
                self.check_cancel()
            if seen.error is not None:
                note = f"AWS is not answering yet, retrying: {_short(seen.error)}"
            else:
                note = describe(seen.value)  # type: ignore[arg-type]
            if note != last_note[0]:
                last_note[0] = note
                self.report.waiting(step, f"Waiting for {what}: {note}", waited)

        try:
            result = poll(
                attempt,
                finished,
                clock=self.deps.clock,
                timeout=s.start_timeout_seconds if cancellable else s.stop_timeout_seconds,
                what=what,
                min_interval=s.poll_min_seconds,
                max_interval=s.poll_max_seconds,
                on_wait=on_wait,
            )
        except LifecycleTimeout as exc:
            if last_error:
                raise LifecycleTimeout(
                    sentence(f"{str(exc).rstrip('.')}; AWS still fails: {last_error[0]}"),
                    exc.hint,
                ) from exc
            raise
        return result.value  # type: ignore[return-value]

    def retry(self, step: str, what: str, call: Callable[[], object]) -> None:
        """Run an idempotent ``call`` (find-or-create, register what is missing) again
        while AWS fails retryably, as ``wait`` does for a poll, until the step's deadline."""

        def attempt() -> bool:
            call()
            return True

        self.wait(step, what, attempt, bool, lambda _: "done")

    def aws_calls(self) -> int:
        """AWS API calls made since this job began."""
        return sum(self.parts.meter.calls().values()) - self.calls_before

    def finish(self, ok: bool, message: str) -> None:
        """The job's last event, with its AWS calls and duration."""
        calls = self.aws_calls()
        self.report.emit(
            EventKind.FINISHED,
            message,
            ok=ok,
            aws_calls=calls,
            seconds=round(self.deps.clock.monotonic() - self.began, 3),
            job_kind=self.spec.kind.value,
        )


@dataclass(frozen=True, slots=True)
class _Attempt(Generic[T]):
    """One poll: what the probe saw, or the retryable error it failed with."""

    value: T | None
    error: CloudError | None = None


def _short(error: CloudError) -> str:
    """The error's message without its closing period (it ends a clause)."""
    return str(error).rstrip(".")


def count(found: Sequence[object]) -> str:
    """A waiting note for a list probe."""
    return f"{len(found)} found" if found else "none yet"


def remaining(left: list[str]) -> str:
    """A waiting note for what is still there."""
    return ", ".join(left) if left else "gone"
