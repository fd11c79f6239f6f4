"""Running lifecycle jobs: one at a time per platform, under the lease lock.

A job that crashes (a bug, not a ``BotError``) still ends its event stream, so
the people following it are told; the reconciler runs it again later.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from bot.config import Settings
from bot.events import Event, EventKind
from bot.fmt import safe_text, sentence
from bot.lifecycle import Lifecycle
from bot.model import JobId, JobResult, JobSpec
from infra.events import RedisEventSink
from infra.lock import LeaseLock
from infra.redis_store import RedisPlatformStore

log = logging.getLogger("jitsi.worker")

AfterJob = Callable[[JobSpec, JobResult], None]


class LifecycleRunner:
    def __init__(
        self,
        settings: Settings,
        lifecycle: Lifecycle,
        store: RedisPlatformStore,
        sink: RedisEventSink,
        lock: Callable[[], LeaseLock],
        after: AfterJob,
    ) -> None:
        self.settings = settings
        self.lifecycle = lifecycle
        self.store = store
        self.sink = sink
        self.lock = lock
        self.after = after

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

        if not lock.acquire(wait, busy):
            self.fail(spec.job_id, "Another lifecycle job held the platform for too long.")
            return False
        try:
            result = self.run_locked(spec)
        finally:
            lock.release()
        self.after(spec, result)
        return result.ok

    def run_locked(self, spec: JobSpec) -> JobResult:
        """Run ``spec`` with the lock already held; the job slot is freed however it ends."""
        try:
            return self.lifecycle.run(spec)
        except Exception as exc:  # a bug, not a BotError: still end the stream
            log.exception("job %s crashed", spec.job_id)
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
            self.store.finish_job(spec.job_id)

    def fail(self, job_id: JobId, message: str) -> None:
        """End a job's stream with an error, for whoever follows it."""
        now = time.time()
        self.sink.emit(Event(EventKind.ERROR, job_id, now, message))
        self.sink.emit(Event(EventKind.FINISHED, job_id, now, message, data={"ok": False}))
