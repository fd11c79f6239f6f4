"""Building the object graph for one process from the one ``Settings``."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import redis
from rich.console import Console

from adapters.chat.host import ChatHost
from adapters.console.app import ConsoleChat
from bot.config import Settings
from bot.cost import CostModel
from bot.errors import BotError
from bot.lifecycle import Lifecycle
from bot.model import Actor
from bot.ports import CloudPlatform
from bot.service import CommandService
from infra.clock import SystemClock
from infra.events import RedisEventSink, RedisNoticeSink
from infra.follow import Follower
from infra.glance import PlatformGlance
from infra.keys import Keys
from infra.pricing import load_prices
from infra.queue import RQJobQueue
from infra.redis_store import RedisAuditLog, RedisLedger, RedisPlatformStore
from infra.scheduling import RedisScheduler
from infra.sessions import RedisSessionStore
from infra.worker import JobContext


class RedisUnavailable(BotError):
    """Redis does not answer at the configured URL."""


@dataclass
class App:
    settings: Settings
    clock: SystemClock = field(default_factory=SystemClock)

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
            from bot.config import redact_url

            where = redact_url(self.settings.redis_dsn)
            raise RedisUnavailable(
                f"Cannot reach Redis at {where} ({type(exc).__name__}).",
                "Start redis-server or set JITSI_REDIS_URL (make demo starts its own).",
            ) from None

    @cached_property
    def keys(self) -> Keys:
        return Keys(self.settings.project_name)

    @cached_property
    def costs(self) -> CostModel:
        return CostModel(self.settings, load_prices(self.settings.price_region))

    @cached_property
    def store(self) -> RedisPlatformStore:
        return RedisPlatformStore(self.redis, self.keys)

    @cached_property
    def sink(self) -> RedisEventSink:
        return RedisEventSink(self.redis, self.keys)

    @cached_property
    def notices(self) -> RedisNoticeSink:
        return RedisNoticeSink(self.redis, self.keys)

    @cached_property
    def ledger(self) -> RedisLedger:
        return RedisLedger(self.redis, self.keys)

    @cached_property
    def audit_log(self) -> RedisAuditLog:
        return RedisAuditLog(self.redis, self.keys)

    @cached_property
    def queue(self) -> RQJobQueue:
        return RQJobQueue(self.redis, self.settings, self.sink)

    @cached_property
    def service(self) -> CommandService:
        return CommandService(
            self.settings,
            self.store,
            self.queue,
            self.sink,
            self.ledger,
            self.audit_log,
            self.costs,
            self.clock,
            sessions=self.sessions,
            scheduler=self.scheduler,
        )

    @cached_property
    def sessions(self) -> RedisSessionStore:
        return RedisSessionStore(self.redis, self.keys)

    @cached_property
    def scheduler(self) -> RedisScheduler:
        return RedisScheduler(self.redis, self.keys)

    @cached_property
    def follower(self) -> Follower:
        return Follower(self.settings.redis_dsn, self.keys)

    def chat_host(self) -> ChatHost:
        """What the chat adapters of ``serve`` get, and nothing more."""
        glance = PlatformGlance(self.store, self.sessions, self.ledger, self.clock)
        return ChatHost(self.settings, self.service, self.follower, self.audit_log.record, glance)

    def console_chat(
        self, actor: Actor, console: Console | None = None, renderer: str | None = None
    ) -> ConsoleChat:
        """The terminal chat of ``say``, ``serve`` without chat adapters, and the demo."""
        return ConsoleChat(self.service, self.follower, self.settings, actor, console, renderer)

    @cached_property
    def cloud(self) -> CloudPlatform:
        from infra.aws.platform import Boto3Platform
        from infra.aws.session import AwsClients

        boto3_platform = Boto3Platform(self.settings, AwsClients(self.settings))
        if self.settings.nlb_driver == "terraform":
            from infra.terraform.platform import terraform_platform

            return terraform_platform(self.settings, boto3_platform)
        return boto3_platform

    @cached_property
    def lifecycle(self) -> Lifecycle:
        return Lifecycle(
            self.settings, self.cloud, self.store, self.sink, self.clock, self.ledger, self.costs
        )

    def job_context(self) -> JobContext:
        return JobContext(self.settings, self.redis, self.lifecycle)
