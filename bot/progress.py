"""Emitting a job's progress events: steps with durations, waits, outcome."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from bot.events import Event, EventKind
from bot.model import JobId
from bot.ports import Clock, EventSink

STEP_LABELS = {
    "load-balancer": "Network Load Balancer, target groups and listeners",
    "advertise-ips": "NLB public IPs for JVB",
    "dns": "DNS alias",
    "scale-up": "ECS service to 1 task",
    "register": "Task registered as NLB target",
    "healthy": "Targets healthy, NLB active",
    "scale-down": "ECS service to 0 tasks",
    "delete-load-balancer": "Delete listeners and NLB",
    "delete-target-groups": "Delete target groups",
    "tasks-stopped": "Tasks stopped",
    "audit": "Orphan audit",
    "rollback": "Undo the partial start",
}


class Reporter:
    """Writes one job's events to the sink, timing each step."""

    def __init__(self, job_id: JobId, sink: EventSink, clock: Clock) -> None:
        self.job_id = job_id
        self.sink = sink
        self.clock = clock
        self.current_step: str | None = None

    def note(self, message: str, data: dict[str, Any]) -> None:
        """Progress a driver reports from inside a step (e.g. Terraform, resource by
        resource): a WAITING event under the step that is running."""
        self.emit(EventKind.WAITING, message, self.current_step, **data)

    def emit(
        self, kind: EventKind, message: str = "", step: str | None = None, **data: Any
    ) -> None:
        self.sink.emit(Event(kind, self.job_id, self.clock.now(), message, step, data))

    @contextmanager
    def step(self, name: str, message: str = "") -> Iterator[None]:
        label = STEP_LABELS.get(name, name)
        self.emit(EventKind.STEP_STARTED, message or label, name, label=label)
        began = self.clock.monotonic()
        outer, self.current_step = self.current_step, name
        try:
            yield
        except BaseException as exc:
            self.current_step = outer
            self.emit(
                EventKind.STEP_FINISHED,
                str(exc) or type(exc).__name__,
                name,
                label=label,
                ok=False,
                seconds=round(self.clock.monotonic() - began, 3),
            )
            raise
        self.current_step = outer
        self.emit(
            EventKind.STEP_FINISHED,
            label,
            name,
            label=label,
            ok=True,
            seconds=round(self.clock.monotonic() - began, 3),
        )

    def waiting(self, step: str, message: str, waited: float) -> None:
        self.emit(EventKind.WAITING, message, step, seconds=round(waited, 1))
