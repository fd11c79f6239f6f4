"""The Redis side of one process's object graph: the connection, what is kept in
Redis (state, events, ledger, logs, sessions), the job queue and scheduler, the
lifecycle lock and job chains. The first layer of ``adapters.wiring.App``."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

import redis
from redis import Redis as RedisClient  # ``redis`` is also Stores' property

from bot.config import Settings, redact_url
from bot.errors import BotError
from bot.ports import Clock, ParticipantSource, PlatformParts
from infra import jobs
from infra.audit_log import RedisAuditLog
from infra.chain import JobChain
from infra.clock import SystemClock
from infra.events import RedisEventSink, RedisNoticeSink
from infra.follow import Follower
from infra.keys import Keys
from infra.lock import LeaseLock
from infra.metrics import MeteredAuditLog, MeteredEventSink, MetricsRecorder, metrics_client
from infra.outage import Outage
from infra.queue import RQJobQueue
from infra.ready_times import RedisReadyTimes
from infra.redis_store import RedisLedger, RedisPlatformStore, UnwatchedJobs
from infra.scheduling import RedisScheduler
from infra.sessions import RedisSessionStore
from infra.traffic_log import RedisTrafficLog


class RedisUnavailable(BotError):
    """Redis does not answer at the configured URL."""


@dataclass
class Stores:
    """One process's objects, each built on first use and then shared: here those kept
    in Redis; the layers above add AWS, the worker's jobs and chat.

    ``given_parts`` and ``given_source`` replace the AWS parts and the participant
    source (tests and benches hand in fakes)."""

    settings: Settings
    clock: Clock = field(default_factory=SystemClock)
    given_parts: PlatformParts | None = None
    given_source: ParticipantSource | None = None
    # A person waits on this process's AWS calls (status, audit): short timeouts.
    interactive_aws: bool = False
    # The JWT app secret as tests hand it in; None: read from its SSM parameter.
    given_link_secret: Callable[[], str] | None = None

    # -- Redis ---------------------------------------------------------------

    @cached_property
    def redis(self) -> redis.Redis:
        return redis.Redis.from_url(
            self.settings.redis_dsn,
            socket_connect_timeout=3,
            socket_timeout=30,
            health_check_interval=30,
        )

    def check_redis(self) -> None:
        """Raise ``RedisUnavailable`` with the (redacted) URL and what to do."""
        try:
            self.redis.ping()
        except (redis.ConnectionError, redis.TimeoutError, OSError) as exc:
            where = redact_url(self.settings.redis_dsn)
            raise RedisUnavailable(
                f"The queue is unreachable. Cannot reach Redis at {where} ({type(exc).__name__}).",
                "Start redis-server or set JITSI_REDIS_URL (make demo starts its own).",
            ) from None

    @cached_property
    def keys(self) -> Keys:
        return Keys(self.settings.project_name)

    @cached_property
    def store(self) -> RedisPlatformStore:
        return RedisPlatformStore(self.redis, self.keys)

    @cached_property
    def metrics_redis(self) -> RedisClient:
        """Short timeouts: metrics, heartbeats and scrapes never stall on Redis."""
        return metrics_client(self.settings.redis_dsn)

    @cached_property
    def metrics(self) -> MetricsRecorder:
        """Counts into Redis when /metrics is on (``metrics_port``), nothing otherwise."""
        on = self.settings.metrics_port is not None
        return MetricsRecorder(self.metrics_redis if on else None, self.keys)

    @cached_property
    def sink(self) -> RedisEventSink:
        return MeteredEventSink(self.redis, self.keys, self.metrics)

    @cached_property
    def notices(self) -> RedisNoticeSink:
        return RedisNoticeSink(self.redis, self.keys)

    @cached_property
    def ledger(self) -> RedisLedger:
        return RedisLedger(self.redis, self.keys)

    @cached_property
    def traffic_log(self) -> RedisTrafficLog:
        return RedisTrafficLog(self.redis, self.keys)

    @cached_property
    def audit_log(self) -> RedisAuditLog:
        return MeteredAuditLog(
            self.redis,
            self.keys,
            self.metrics,
            self.settings.command_name,
            max_entries=self.settings.audit_max_entries,
            retention_days=self.settings.audit_retention_days,
        )

    @cached_property
    def sessions(self) -> RedisSessionStore:
        return RedisSessionStore(self.redis, self.keys)

    @cached_property
    def unwatched(self) -> UnwatchedJobs:
        return UnwatchedJobs(self.redis, self.keys)

    @cached_property
    def follower(self) -> Follower:
        return Follower(self.settings.redis_dsn, self.keys)

    # -- queue, schedules, locks ---------------------------------------------

    @cached_property
    def queue(self) -> RQJobQueue:
        return RQJobQueue(self.redis, self.settings, self.sink, jobs.lifecycle)

    @cached_property
    def scheduler(self) -> RedisScheduler:
        return RedisScheduler(self.redis, self.keys, jobs.scheduled)

    @cached_property
    def ready_times(self) -> RedisReadyTimes:
        # Per ingress: a scheduled start begins as early as this deployment's way in needs.
        return RedisReadyTimes(self.redis, self.keys, self.settings.ingress.value)

    def lock(self) -> LeaseLock:
        """A new handle on the platform's lifecycle lock (one per job)."""
        return LeaseLock(self.redis, self.keys.lock, self.settings.lock_lease_seconds)

    def _chain(
        self, key: str, func: Callable[..., object], prefix: str, result_ttl: int
    ) -> JobChain:
        return JobChain(self.redis, self.queue.queue, key, func, prefix, result_ttl=result_ttl)

    def outage(self, what: str) -> Outage:
        """A tracker that waits out a Redis outage for ``what`` (a job, the worker)."""
        return Outage(
            self.redis,
            what,
            logging.getLogger("jitsi.worker"),
            max_backoff=self.settings.redis_retry_max_seconds,
        )
