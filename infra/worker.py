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
from bot.ports import ParticipantSource
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
    participants: ParticipantSource | None = None  # None: as configured (idle_source)


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
        ok = _run_locked(ctx, spec, sink)
    finally:
        lock.release()
    _after(ctx, spec, ok)
    return ok


def _after(ctx: JobContext, spec: JobSpec, ok: bool) -> None:
    """Session bookkeeping once the lock is free: the monitor, unprompted announcements."""
    from infra.guard import Guards, after_start, after_stop

    g = Guards(ctx.settings, ctx.redis, ctx.lifecycle, ctx.participants)
    unwatched = bool(ctx.redis.srem(g.keys.unwatched_jobs, spec.job_id))
    unwatched = unwatched or spec.actor.platform is ChatPlatform.SYSTEM
    try:
        if spec.kind is JobKind.START:
            after_start(g, spec, ok, unwatched and spec.actor.platform is not ChatPlatform.SYSTEM)
        else:
            after_stop(g, spec, ok, unwatched)
    except Exception:  # bookkeeping must not turn a finished job into a failed one
        log.exception("after job %s", spec.job_id)


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
    from rq import get_current_job

    from infra.guard import Guards
    from infra.reconciler import clear_stale_lock, daily_summary

    ctx = _context()
    keys = Keys(ctx.settings.project_name)
    g = Guards(ctx.settings, ctx.redis, ctx.lifecycle, ctx.participants)
    job = get_current_job()
    began = time.monotonic()
    try:
        clear_stale_lock(g)
        result = _reconcile(ctx, keys)
        daily_summary(g)
        return result
    finally:
        _schedule_next(ctx, keys, job.id if job else "", time.monotonic() - began)


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
            return _repair(ctx, keys, sink)
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
        spec = JobSpec(resumed, kind, SYSTEM, status.session_room, time.time())
        _after(ctx, spec, _run_locked(ctx, spec, sink))
        return f"resumed {kind.value} as job {resumed}"
    finally:
        lock.release()


def _repair(ctx: JobContext, keys: Keys, sink: RedisEventSink) -> str:
    """Drift between Redis and AWS, repaired under the lock this run holds."""
    from infra.guard import Guards
    from infra.reconciler import repair

    g = Guards(ctx.settings, ctx.redis, ctx.lifecycle, ctx.participants)
    store = g.store

    def spec(kind: JobKind) -> JobSpec:
        job_id = JobId(uuid.uuid4().hex[:16])
        store.force_job(kind, job_id)
        return JobSpec(job_id, kind, SYSTEM, store.status().session_room, time.time())

    def run(job: JobSpec) -> bool:
        try:
            return _run_locked(ctx, job, sink)
        except Exception:
            return False

    return repair(g, run, spec)


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


# RQ's scheduler moves due jobs to the queue about once a second: schedule that
# much early so runs are one interval apart, not one interval plus the lag.
SCHEDULER_LAG_SECONDS = 1.0
# Only the run whose id is recorded (or any run when none is) schedules the next.
_HANDOVER = """
local cur = redis.call('GET', KEYS[1])
if cur and cur ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
"""


def _schedule_next(ctx: JobContext, keys: Keys, run_id: str, elapsed: float) -> None:
    interval = ctx.settings.reconcile_interval_seconds
    if interval <= 0:
        return
    # One chain of scheduled runs per platform, however many workers run: the
    # recorded id is handed from run to run. It expires if the chain breaks, and
    # the next worker start (or any later run) takes over.
    next_id = f"reconcile-{uuid.uuid4().hex[:12]}"
    ttl_ms = str(int((3 * interval + 60) * 1000))
    if ctx.redis.eval(_HANDOVER, 1, keys.reconcile_scheduled, run_id, next_id, ttl_ms):
        delay = max(interval - elapsed - SCHEDULER_LAG_SECONDS, 0.5)
        Queue(keys.queue_name, connection=ctx.redis).enqueue_in(
            timedelta(seconds=delay),
            "infra.worker.reconcile",
            job_id=next_id,
            result_ttl=600,
            failure_ttl=86400,
        )
