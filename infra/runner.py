"""Running lifecycle jobs: one at a time per platform, under the lease lock.

A job that crashes (a bug, not a ``BotError``) still ends its event stream, so
the people following it are told; the reconciler runs it again later.

A Redis outage is neither a failure nor a crash: the job waits for Redis, takes its
lease back and runs again on the same job id (every step finds what exists first),
so its followers see it resume. If it cannot (another owner took the lease, or the
job was killed meanwhile), it keeps its slot in the platform record and ends
without a word: the reconciler resumes it on the same id.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import replace

from bot.config import Settings
from bot.events import Event, EventKind
from bot.fmt import safe_text, sentence
from bot.lifecycle import Lifecycle
from bot.model import Actor, JobId, JobKind, JobResult, JobSpec
from bot.state import DesiredState
from infra.events import RedisEventSink
from infra.lock import LeaseLock
from infra.outage import Outage, is_outage
from infra.redis_store import RedisPlatformStore

log = logging.getLogger("jitsi.worker")

AfterJob = Callable[[JobSpec, JobResult], None]
JobJournal = Callable[[JobSpec, str, JobResult, float], None]
"""Record how a job ended: (spec, outcome, result, seconds); ``RedisAuditLog.record_job``.
Outcomes: ``ok``, ``failed``, ``crashed``, ``lock-timeout``."""
ActingFor = Callable[[Actor | None], None]
"""Whose request the next AWS calls serve (None: nobody's); ``AwsClients.act_for``."""
OutageFor = Callable[[str], Outage]
"""A new ``Outage`` tracker for what is named (one per job run)."""

# Outages in one run before the job gives up its slot to the reconciler: a flapping
# Redis must not restart the same steps forever from one horse.
MAX_RESUMES = 20


class LifecycleRunner:
    def __init__(
        self,
        settings: Settings,
        lifecycle: Lifecycle,
        store: RedisPlatformStore,
        sink: RedisEventSink,
        lock: Callable[[], LeaseLock],
        after: AfterJob,
        outage: OutageFor | None = None,
        journal: JobJournal | None = None,
        acting_for: ActingFor | None = None,
    ) -> None:
        self.settings = settings
        self.lifecycle = lifecycle
        self.store = store
        self.sink = sink
        self.lock = lock
        self.after = after
        self.outage = outage
        self.journal = journal
        self.acting_for = acting_for

    def run_queued(self, spec: JobSpec) -> bool:
        """A job from the queue: wait for the lock, run, release, then the bookkeeping."""
        lock = self.lock()
        wait = self.settings.start_timeout_seconds + self.settings.stop_timeout_seconds

        def busy() -> None:
            self.sink.emit(
                Event(
                    EventKind.NOTICE,
                    spec.job_id,
                    time.time(),
                    "Waiting for the job already running on this platform to finish.",
                )
            )

        began = time.monotonic()
        if not lock.acquire(wait, busy):
            self.fail(spec.job_id, "Another lifecycle job held the platform for too long.")
            self._record(spec, "lock-timeout", JobResult(False), began)
            return False
        try:
            result = self.run_locked(spec, lock)
        finally:
            lock.release()
        self.after(spec, result)
        return result.ok

    def run_locked(self, spec: JobSpec, lock: LeaseLock | None = None) -> JobResult:
        """Run ``spec`` with ``lock`` already held; the job slot is freed however it ends,
        except when a Redis outage interrupts it for good (the reconciler resumes it)."""
        interrupted = False
        began = time.monotonic()
        outcome, result = "crashed", JobResult(False)
        if self.acting_for is not None:
            self.acting_for(spec.actor)
        try:
            result = self._through_outages(spec, lock)
            outcome = "ok" if result.ok else "failed"
            return result
        except Exception as exc:
            if is_outage(exc):
                interrupted = True
                log.warning(
                    "job %s interrupted by a Redis outage; the reconciler resumes it", spec.job_id
                )
                raise
            log.exception("job %s crashed", spec.job_id)  # a bug, not a BotError
            # The chat gets the error's kind and first line, never a traceback
            # (that goes to the worker log).
            first = str(exc).splitlines()[0] if str(exc).strip() else ""
            detail = f": {sentence(safe_text(first, 200))}" if first else "."
            self.fail(
                spec.job_id,
                f"The job crashed on an unexpected error ({type(exc).__name__}){detail} "
                "The reconciler will retry; see the worker log.",
            )
            raise
        finally:
            if self.acting_for is not None:
                self.acting_for(None)
            if not interrupted:
                self.store.finish_job(spec.job_id)
                self._record(spec, outcome, result, began)

    def _record(self, spec: JobSpec, outcome: str, result: JobResult, began: float) -> None:
        """Write the job's end to the audit log. Never fails the job: an audit write
        lost to a Redis failure is logged (the job's own stream still tells how it ended)."""
        if self.journal is None:
            return
        try:
            self.journal(spec, outcome, result, time.monotonic() - began)
        except Exception:
            log.exception("job %s: could not write its end to the audit log", spec.job_id)

    def _through_outages(self, spec: JobSpec, lock: LeaseLock | None) -> JobResult:
        """``lifecycle.run``, run again on the same id after each Redis outage, as long
        as the lease is still (or again) this job's."""
        resumes = 0
        tracker = self.outage(f"job {spec.job_id}") if self.outage else None
        resumed: Event | None = None
        while True:
            try:
                if resumed is not None:
                    self.sink.emit(resumed)
                return self.lifecycle.run(spec)
            except Exception as exc:
                if tracker is None or lock is None or not is_outage(exc):
                    raise
                resumes += 1
                if resumes > MAX_RESUMES:
                    raise
                # Bounded by RQ's job timeout, which kills a job waiting too long.
                seconds = tracker.wait(exc)
                if not lock.regain():
                    log.warning("job %s: another owner took the lease meanwhile", spec.job_id)
                    raise
                if self.store.status().desired is DesiredState.STOPPED:
                    # A stop was asked for, or the start was rolling back: bringing
                    # the platform up first would only be undone.
                    spec = replace(spec, kind=JobKind.STOP)
                resumed = Event(
                    EventKind.NOTICE,
                    spec.job_id,
                    time.time(),
                    f"The queue was unreachable for {seconds:.0f} s; resuming the "
                    f"{spec.kind.value}.",
                    data={"resumed": True, "outage_seconds": round(seconds, 1)},
                )

    def fail(self, job_id: JobId, message: str) -> None:
        """End a job's stream with an error, for whoever follows it."""
        now = time.time()
        self.sink.emit(Event(EventKind.ERROR, job_id, now, message))
        self.sink.emit(Event(EventKind.FINISHED, job_id, now, message, data={"ok": False}))
