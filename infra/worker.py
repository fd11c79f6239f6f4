"""What the RQ worker runs: lifecycle jobs under the lease lock, and the reconciler.

The worker command registers a factory (``configure``) before it starts; RQ's
forked work horse inherits it and builds fresh clients per job, since boto3 and
redis connections must not cross a fork.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import redis
from rq import Queue
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from bot.config import Settings
from bot.events import Event, EventKind
from bot.lifecycle import Lifecycle
from bot.model import Actor, ChatPlatform, JobId, JobKind, JobSpec, UserId
from bot.state import DesiredState, PlatformState
from infra.events import RedisEventSink
from infra.keys import Keys
from infra.lock import LeaseLock
from infra.redis_store import RedisPlatformStore

log = logging.getLogger("jitsi.worker")
SYSTEM = Actor(UserId("system:reconciler"), "notices", ChatPlatform.SYSTEM, "reconciler")


@dataclass(frozen=True, slots=True)
class JobContext:
    settings: Settings
    redis: redis.Redis
    lifecycle: Lifecycle


_factory: Callable[[], JobContext] | None = None


def configure(factory: Callable[[], JobContext]) -> None:
    """Register how a job builds its context; the worker command calls this once."""
    global _factory
    _factory = factory


def _context() -> JobContext:
    if _factory is None:
        raise RuntimeError("infra.worker.configure() was not called before running jobs")
    return _factory()


def run_job(spec_data: dict[str, Any]) -> bool:
    """RQ entry point of a lifecycle job."""
    ctx = _context()
    spec = JobSpec.from_dict(spec_data)
    keys = Keys(ctx.settings.project_name)
    sink = RedisEventSink(ctx.redis, keys)
    lock = LeaseLock(ctx.redis, keys.lock, ctx.settings.lock_lease_seconds)
    wait = ctx.settings.start_timeout_seconds + ctx.settings.stop_timeout_seconds

    def busy() -> None:
        sink.emit(
            Event(
                EventKind.NOTICE,
                spec.job_id,
                time.time(),
                "Waiting for the job already running on this platform to finish.",
            )
        )

    if not lock.acquire(wait, busy):
        _fail(sink, spec.job_id, "Another lifecycle job held the platform for too long.")
        return False
    try:
        return _run_locked(ctx, spec, sink)
    finally:
        lock.release()


def _run_locked(ctx: JobContext, spec: JobSpec, sink: RedisEventSink) -> bool:
    store = RedisPlatformStore(ctx.redis, Keys(ctx.settings.project_name))
    try:
        return ctx.lifecycle.run(spec)
    except Exception as exc:  # a bug, not a BotError: still end the stream for the followers
        log.exception("job %s crashed", spec.job_id)
        _fail(
            sink,
            spec.job_id,
            f"The job crashed: {type(exc).__name__}: {exc}. "
            "The reconciler will retry; see the worker log.",
        )
        raise
    finally:
        store.finish_job(spec.job_id)


def _fail(sink: RedisEventSink, job_id: JobId, message: str) -> None:
    now = time.time()
    sink.emit(Event(EventKind.ERROR, job_id, now, message))
    sink.emit(Event(EventKind.FINISHED, job_id, now, message, data={"ok": False}))


def reconcile() -> str:
    """Converge AWS toward the desired state when no job is doing so; say what was done.

    Resumes a job whose worker died (same job id, so its followers keep rendering),
    and schedules the next run.
    """
    ctx = _context()
    keys = Keys(ctx.settings.project_name)
    try:
        return _reconcile(ctx, keys)
    finally:
        _schedule_next(ctx, keys)


def _reconcile(ctx: JobContext, keys: Keys) -> str:
    store = RedisPlatformStore(ctx.redis, keys)
    sink = RedisEventSink(ctx.redis, keys)
    lock = LeaseLock(ctx.redis, keys.lock, ctx.settings.lock_lease_seconds)
    # Outwait the lease of a dead owner; a live owner keeps renewing and wins.
    if not lock.acquire(ctx.settings.lock_lease_seconds + 1):
        return "busy: a lifecycle job is running"
    try:
        status = store.status()
        job_id = status.job_id
        if job_id and _job_pending(ctx.redis, job_id):
            return f"job {job_id} is queued; nothing to do"
        kind: JobKind | None = None
        if status.desired is DesiredState.RUNNING and status.state is not PlatformState.RUNNING:
            kind = JobKind.START
        elif status.desired is DesiredState.STOPPED and status.state is not PlatformState.STOPPED:
            kind = JobKind.STOP
        elif job_id:  # the recorded job died after reaching its state: just close it
            kind = status.job_kind
        if kind is None:
            return "converged"
        resumed = (
            JobId(job_id) if job_id and status.job_kind is kind else JobId(uuid.uuid4().hex[:16])
        )
        store.force_job(kind, resumed)
        sink.emit(
            Event(
                EventKind.NOTICE,
                resumed,
                time.time(),
                f"Resuming: the platform should be {status.desired.value} but is "
                f"{status.state.value}, and no job is running.",
                data={"resumed": True},
            )
        )
        log.info("reconcile: resuming %s as job %s", kind.value, resumed)
        _run_locked(ctx, JobSpec(resumed, kind, SYSTEM, status.session_room, time.time()), sink)
        return f"resumed {kind.value} as job {resumed}"
    finally:
        lock.release()


def _job_pending(client: redis.Redis, job_id: str) -> bool:
    try:
        job = Job.fetch(job_id, connection=client)
    except NoSuchJobError:
        return False
    return job.get_status(refresh=True) in (
        JobStatus.QUEUED,
        JobStatus.DEFERRED,
        JobStatus.SCHEDULED,
    )


def _schedule_next(ctx: JobContext, keys: Keys) -> None:
    interval = ctx.settings.reconcile_interval_seconds
    if interval <= 0:
        return
    # One chain of scheduled runs per platform, however many workers run.
    if ctx.redis.set(keys.reconcile_scheduled, "1", nx=True, ex=max(int(interval), 1)):
        Queue(keys.queue_name, connection=ctx.redis).enqueue_in(
            timedelta(seconds=interval),
            "infra.worker.reconcile",
            job_id=f"reconcile-{uuid.uuid4().hex[:12]}",
            result_ttl=600,
            failure_ttl=86400,
        )
