"""Scheduled starts and stops: RQ's scheduled registry keeps them across worker restarts.

Each item is a hash entry (for `schedule` and `cancel`) plus an RQ job
``sched-<id>`` queued with ``enqueue_at``; any worker's scheduler moves it to
the queue when due. A cancelled item's job, if it still runs, finds no entry
and does nothing.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

import redis
from rq import Queue
from rq.exceptions import NoSuchJobError
from rq.job import Job
from rq.registry import ScheduledJobRegistry

from bot.events import NoticeKind
from bot.model import Actor, ChatPlatform, JobKind, UserId
from bot.ports import Clock, SessionStore
from bot.reply import ReplyKind
from bot.service import CommandService
from bot.watch import ScheduledItem, StopReason
from infra.guard import Guards
from infra.keys import Keys
from infra.redis_store import UnwatchedJobs

SCHEDULER = Actor(UserId("system:schedule"), "notices", ChatPlatform.SYSTEM, "schedule")


def job_id(item_id: str) -> str:
    return f"sched-{item_id}"


class RedisScheduler:
    """Scheduled items in a hash, each with an RQ job in RQ's scheduled registry (so a
    worker restart keeps it) that runs ``entry`` (``infra.jobs.scheduled``) at its time."""

    def __init__(self, client: redis.Redis, keys: Keys, entry: Callable[[str], str]) -> None:
        self.r = client
        self.keys = keys
        self.entry = entry
        self.queue = Queue(keys.queue_name, connection=client)

    def add(self, item: ScheduledItem) -> None:
        self.r.hset(self.keys.schedule, item.item_id, item.to_json())
        self.queue.enqueue_at(
            # A start may begin before its time, so the URL is ready at it.
            datetime.fromtimestamp(item.runs_at, UTC),
            self.entry,
            item.item_id,
            job_id=job_id(item.item_id),
            result_ttl=3600,
            failure_ttl=7 * 86400,
            description=f"scheduled {item.kind} {item.item_id}",
        )

    def items(self) -> list[ScheduledItem]:
        return [ScheduledItem.from_json(v) for v in self.r.hvals(self.keys.schedule)]

    def get(self, item_id: str) -> ScheduledItem | None:
        raw = self.r.hget(self.keys.schedule, item_id)
        return ScheduledItem.from_json(raw) if raw else None

    def cancel(self, item_id: str) -> ScheduledItem | None:
        item = self.get(item_id)
        if item is None or not self.r.hdel(self.keys.schedule, item_id):
            return None
        ScheduledJobRegistry(queue=self.queue).remove(job_id(item_id), delete_job=False)
        with contextlib.suppress(NoSuchJobError):
            Job.fetch(job_id(item_id), connection=self.r).delete()
        return item

    def take(self, item_id: str) -> ScheduledItem | None:
        """Remove and return the item when it is due to run (None: cancelled meanwhile)."""
        item = self.get(item_id)
        if item is None or not self.r.hdel(self.keys.schedule, item_id):
            return None
        return item


class ScheduledRuns:
    """Runs a scheduled start or stop as the person who scheduled it."""

    def __init__(
        self,
        scheduler: RedisScheduler,
        service: CommandService,
        sessions: SessionStore,
        guards: Guards,
        unwatched: UnwatchedJobs,
        clock: Clock,
    ) -> None:
        self.scheduler = scheduler
        self.service = service
        self.sessions = sessions
        self.guards = guards
        self.unwatched = unwatched
        self.clock = clock

    def run(self, item_id: str) -> str:
        item = self.scheduler.take(item_id)
        if item is None:
            return "cancelled"
        actor = Actor.from_dict(item.actor)
        kind = JobKind(item.kind)
        who = actor.display_name or actor.user
        if kind is JobKind.STOP:
            watch = self.sessions.load()
            if watch is not None and watch.stop_reason is None:
                self.sessions.save(watch.with_(stop_reason=StopReason.SCHEDULE))
        # A start runs as its requester (the session's notices go to their channel);
        # a stop as the system, so its ending is announced with the session's cost.
        reply = self.service.request(kind, actor if kind is JobKind.START else SCHEDULER, item.room)
        if reply.job_id and not reply.joined:
            self.unwatched.add(reply.job_id)
        if kind is JobKind.START and item.minutes and reply.kind is not ReplyKind.DENIED:
            now = self.clock.now()
            # The session's length counts from the time asked for, not from an early begin.
            end = max(now, item.at) + item.minutes * 60
            stop = ScheduledItem(uuid.uuid4().hex[:6], "stop", end, item.actor, created_at=now)
            self.scheduler.add(stop)
            reply_text = f"{reply.text} It runs for {item.minutes} min (stop id {stop.item_id})."
        else:
            reply_text = reply.text
        self.guards.announce(
            NoticeKind.SCHEDULE,
            f"Scheduled {item.kind} by {who}: {reply_text}",
            platform=actor.platform.value,
            channel=actor.channel,
            item_id=item_id,
            job_id=reply.job_id,
            refused=reply.kind is ReplyKind.DENIED,
        )
        return f"{item.kind}: {reply.kind.value}"
