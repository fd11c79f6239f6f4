"""The worker side of the guards: the session monitor chain and the announcement of
stops nobody in chat asked for (idle, max session, budget, schedule).

The monitor is an RQ job that reschedules itself every ``idle_check_seconds``
while the platform runs; ``monitor_scheduled`` holds the id of the next run so
exactly one chain exists per platform, however many workers run.
"""

from __future__ import annotations

import json
import logging
import uuid
from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property

import redis
from rq import Queue

from bot.config import Settings
from bot.cost import money
from bot.events import EventKind, Notice, NoticeKind
from bot.idle import SessionGuard, notice
from bot.lifecycle import Lifecycle
from bot.model import JobKind, JobSpec
from bot.ports import ParticipantSource
from bot.service import CommandService
from bot.watch import SessionWatch
from infra.events import RedisEventSink, RedisNoticeSink
from infra.keys import Keys
from infra.queue import RQJobQueue
from infra.redis_store import RedisAuditLog, RedisPlatformStore
from infra.sessions import RedisSessionStore

log = logging.getLogger("jitsi.guard")

# Only the run whose id is recorded may schedule the next one.
_HANDOVER = """
local cur = redis.call('GET', KEYS[1])
if cur and cur ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
"""

_KIND_BY_REASON = {
    "idle": NoticeKind.IDLE_STOP,
    "max-session": NoticeKind.IDLE_STOP,
    "budget": NoticeKind.BUDGET,
    "schedule": NoticeKind.SCHEDULE,
}
_WHY = {
    "idle": "nobody was in a meeting",
    "max-session": "the session reached its maximum length",
    "budget": "the monthly budget was reached",
    "schedule": "it was scheduled",
}


@dataclass
class Guards:
    """The objects the guard jobs need, built from a job context."""

    settings: Settings
    redis: redis.Redis
    lifecycle: Lifecycle
    source: ParticipantSource | None = None

    @cached_property
    def keys(self) -> Keys:
        return Keys(self.settings.project_name)

    @cached_property
    def store(self) -> RedisPlatformStore:
        return RedisPlatformStore(self.redis, self.keys)

    @cached_property
    def sessions(self) -> RedisSessionStore:
        return RedisSessionStore(self.redis, self.keys)

    @cached_property
    def notices(self) -> RedisNoticeSink:
        return RedisNoticeSink(self.redis, self.keys)

    @cached_property
    def service(self) -> CommandService:
        from infra.scheduling import RedisScheduler

        life = self.lifecycle
        sink = RedisEventSink(self.redis, self.keys)
        return CommandService(
            self.settings,
            self.store,
            RQJobQueue(self.redis, self.settings, sink),
            sink,
            life.ledger,
            RedisAuditLog(self.redis, self.keys),
            life.costs,
            life.clock,
            sessions=self.sessions,
            scheduler=RedisScheduler(self.redis, self.keys),
        )

    def participants(self) -> ParticipantSource:
        if self.source is not None:
            return self.source
        from infra.idle_sources import build_source

        return build_source(self.settings, self.lifecycle.cloud, self.lifecycle.clock)

    def guard(self) -> SessionGuard:
        life = self.lifecycle

        def stop(actor):  # type: ignore[no-untyped-def]
            return self.service.request(JobKind.STOP, actor).job_id

        return SessionGuard(
            self.settings,
            self.store,
            self.sessions,
            self.participants(),
            self.notices,
            life.ledger,
            life.costs,
            life.clock,
            stop,
        )


def begin_session(g: Guards, spec: JobSpec) -> None:
    """After a start succeeded: remember where it was asked from, start the monitor."""
    status = g.store.status()
    if status.session_started_at is None:
        return
    old = g.sessions.load()
    if old is None or abs(old.session_started_at - status.session_started_at) > 1e-3:
        origin = spec.actor
        system = origin.platform.value == "system"
        g.sessions.save(
            SessionWatch(
                status.session_started_at,
                ready_at=g.lifecycle.clock.now(),
                origin_platform=None if system else origin.platform.value,
                origin_channel=None if system else origin.channel,
                started_by=origin.user,
            )
        )
    ensure_monitor(g)


def ensure_monitor(g: Guards, *, delay: float | None = None) -> bool:
    """Start a monitor chain unless one exists; True when this call started it."""
    interval = g.settings.idle.check_seconds
    next_id = f"monitor-{uuid.uuid4().hex[:12]}"
    ttl_ms = int((3 * interval + 60) * 1000)
    if not g.redis.set(g.keys.monitor_scheduled, next_id, nx=True, px=ttl_ms):
        return False
    _enqueue_monitor(g, next_id, interval if delay is None else delay)
    return True


def _enqueue_monitor(g: Guards, job_id: str, delay: float) -> None:
    queue = Queue(g.keys.queue_name, connection=g.redis)
    queue.enqueue_in(
        timedelta(seconds=max(delay, 0.0)),
        "infra.guard.monitor",
        job_id=job_id,
        result_ttl=60,
        failure_ttl=86400,
    )


def run_monitor(g: Guards, job_id: str | None) -> str:
    """One tick, then hand the chain over to the next run (or end it)."""
    keep_going = True
    try:
        keep_going = g.guard().tick()
    finally:
        if keep_going:
            interval = g.settings.idle.check_seconds
            next_id = f"monitor-{uuid.uuid4().hex[:12]}"
            ttl_ms = str(int((3 * interval + 60) * 1000))
            handed = g.redis.eval(
                _HANDOVER, 1, g.keys.monitor_scheduled, job_id or "", next_id, ttl_ms
            )
            if handed:
                _enqueue_monitor(g, next_id, interval)
            else:
                keep_going = False  # another chain owns the platform
        else:
            # End of the session (or a stop was asked for): release the chain.
            cur = g.redis.get(g.keys.monitor_scheduled)
            if cur is None or cur.decode() == (job_id or ""):
                g.redis.delete(g.keys.monitor_scheduled)
    return "watching" if keep_going else "ended"


def after_stop(g: Guards, spec: JobSpec, ok: bool, unwatched: bool) -> None:
    """Announce a stop nobody in chat asked for (with the session's cost); forget the watch."""
    watch = g.sessions.load()
    g.sessions.clear()
    if not unwatched:
        return  # the requester follows the job and sees its cost
    reason = watch.stop_reason if watch else None
    if not ok:
        g.notices.notify(
            notice(
                watch,
                NoticeKind.JOB_FAILED,
                g.lifecycle.clock.now(),
                f"A stop asked for by {spec.actor.display_name or spec.actor.user} failed; "
                "the platform may still bill. Run `stop`.",
                job_id=spec.job_id,
            )
        )
        return
    if reason is None:
        return
    cost = _session_cost(g, spec)
    text = f"Stopped because {_WHY.get(reason, reason)}."
    if cost is not None:
        seconds, dollars = cost
        text += f" The session lasted {_duration(seconds)} and cost about {money(dollars)}."
    g.notices.notify(
        notice(
            watch,
            _KIND_BY_REASON.get(reason, NoticeKind.IDLE_STOP),
            g.lifecycle.clock.now(),
            text,
            reason=reason,
            job_id=spec.job_id,
            session_cost=round(cost[1], 4) if cost else None,
            session_seconds=round(cost[0], 1) if cost else None,
        )
    )


def _session_cost(g: Guards, spec: JobSpec) -> tuple[float, float] | None:
    """(seconds, dollars) from the stop job's own COST event."""
    entries = g.redis.xrevrange(g.keys.job_events(spec.job_id), count=50)
    for _, raw in entries:
        body = json.loads(raw[b"event"])
        data = body.get("data") or {}
        if body.get("kind") == EventKind.COST.value and "session_cost" in data:
            return float(data["session_seconds"]), float(data["session_cost"])
    return None


def _duration(seconds: float) -> str:
    minutes = round(seconds / 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min" if hours else f"{minutes} min"


def announce(
    g: Guards,
    kind: NoticeKind,
    text: str,
    *,
    platform: str | None = None,
    channel: str | None = None,
    **data: object,
) -> None:
    g.notices.notify(Notice(kind, g.lifecycle.clock.now(), text, platform, channel, dict(data)))


def after_start(g: Guards, spec: JobSpec, ok: bool, unwatched: bool) -> None:
    """Start the session monitor; tell the channel how a start nobody followed ended."""
    if ok:
        begin_session(g, spec)
    if not unwatched:
        return
    status = g.store.status()
    actor = spec.actor
    system = actor.platform.value == "system"
    text = (
        f"Meeting ready: {status.url} (started for {actor.display_name or actor.user})."
        if ok
        else f"The start for {actor.display_name or actor.user} failed: "
        f"{status.last_error or 'see the worker log'}."
    )
    announce(
        g,
        NoticeKind.SCHEDULE if ok else NoticeKind.JOB_FAILED,
        text,
        platform=None if system else actor.platform.value,
        channel=None if system else actor.channel,
        job_id=spec.job_id,
        url=status.url,
    )


def monitor() -> str:
    """RQ entry point of the session monitor (scheduled by ``ensure_monitor``)."""
    from rq import get_current_job

    from infra.worker import _context

    ctx = _context()
    job = get_current_job()
    g = Guards(ctx.settings, ctx.redis, ctx.lifecycle, ctx.participants)
    return run_monitor(g, job.id if job is not None else None)
