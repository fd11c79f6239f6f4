"""Building the object graph for one process from the one ``Settings``: the only place
where objects are made and handed to each other."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import redis
from redis import Redis as RedisClient  # the name ``redis`` is App's own property below
from rich.console import Console

from adapters.chat.host import ChatHost
from adapters.console.app import ConsoleChat
from bot.config import NlbDriver, Settings, redact_url
from bot.cost import CostModel, IdleSizes
from bot.errors import BotError
from bot.job import Deps
from bot.lifecycle import Lifecycle
from bot.model import Actor, Finding, JobResult, JobSpec
from bot.ports import (
    Clock,
    LinkSigner,
    ParticipantSource,
    PlatformParts,
    SpendSource,
    TrafficMeter,
)
from bot.service import CommandService
from infra import jobs
from infra.audit_log import RedisAuditLog
from infra.chain import JobChain
from infra.clock import SystemClock
from infra.events import RedisEventSink, RedisNoticeSink
from infra.follow import Follower
from infra.glance import PlatformGlance
from infra.guard import Guards
from infra.jobs import JobContext
from infra.keys import Keys
from infra.links import JwtSigner
from infra.lock import LeaseLock
from infra.metrics import (
    AwsCallMetrics,
    MeteredAuditLog,
    MeteredEventSink,
    MetricsRecorder,
    metrics_client,
)
from infra.outage import Outage
from infra.pricing import (
    PREFETCH_WAIT_SECONDS,
    RegionPrices,
    cached_prices,
    current_prices,
    refresh_prices,
    start_refresher,
    unknown_reason,
)
from infra.queue import RQJobQueue
from infra.ready_times import RedisReadyTimes
from infra.reconciler import Reconciler
from infra.redis_store import (
    RedisLedger,
    RedisPlatformStore,
    SummaryMarks,
    UnwatchedJobs,
)
from infra.runner import LifecycleRunner
from infra.scheduling import RedisScheduler, ScheduledRuns
from infra.sessions import RedisSessionStore
from infra.traffic_log import RedisTrafficLog

if TYPE_CHECKING:
    from infra.aws.nlb import NlbIngress
    from infra.aws.session import AwsClients
    from infra.tls_renewal import CertificateCheck
    from infra.tls_store import CertificateManager


class RedisUnavailable(BotError):
    """Redis does not answer at the configured URL."""


@dataclass
class App:
    """One process's objects, each built on first use and then shared.

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

    # -- Redis -------------------------------------------------------------------

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

    def chat_host(self) -> ChatHost:
        """What the chat adapters of ``serve`` get, and nothing more."""
        glance = PlatformGlance(self.store, self.sessions, self.ledger, self.clock, self.costs)
        return ChatHost(self.settings, self.service, self.follower, self.audit_log.record, glance)

    def console_chat(
        self, actor: Actor, console: Console | None = None, renderer: str | None = None
    ) -> ConsoleChat:
        """The terminal chat of ``say``, ``serve`` without chat adapters, and the demo."""
        return ConsoleChat(self.service, self.follower, self.settings, actor, console, renderer)

    # -- commands --------------------------------------------------------------

    @cached_property
    def costs(self) -> CostModel:
        region = self.settings.price_region
        found = self.region_prices
        return CostModel(
            self.settings, found.table if found else None, unknown_reason(region), self.idle_sizes
        )

    @cached_property
    def region_prices(self) -> RegionPrices | None:
        """The configured region's prices: the Price List API's cached in Redis, else the
        bundled snapshot, else None (unknown)."""
        return current_prices(self.prices_redis, self.keys, self.settings.price_region)

    @cached_property
    def prices_redis(self) -> RedisClient:
        # Short timeouts: reading the price cache never holds a command up (the snapshot
        # stands in when Redis does not answer at once).
        return redis.Redis.from_url(
            self.settings.redis_dsn, socket_connect_timeout=0.5, socket_timeout=0.5
        )

    def price_list_client(self) -> Any | None:
        """A boto3 ``pricing`` client, or None when the Price List API is not to be asked
        (``price_list_url`` "off", or an emulator endpoint with no explicit URL)."""
        url = self.settings.price_list_url
        if url == "off" or (not url and self.settings.aws_endpoint_url):
            return None
        from infra.price_snapshot import pricing_client

        return pricing_client(url or None)

    @cached_property
    def stop_price_refresh(self) -> threading.Event:
        return threading.Event()

    def prefetch_prices(self) -> None:
        """The worker's start: refresh today's prices in the background (and every few
        hours), waiting a bounded time for the first refresh so the worker's costs use
        them; a slow or absent API leaves the snapshot in charge."""
        start_refresher(self.refresh_prices, self.stop_price_refresh).wait(PREFETCH_WAIT_SECONDS)

    def refresh_prices(self) -> str:
        """Fetch today's prices into Redis (the worker's prefetch); never raises."""
        client = self.price_list_client()
        if client is None:
            return "off"
        return refresh_prices(
            self.redis,
            self.keys,
            self.settings.price_region,
            lambda: client,
            dt.datetime.now(dt.UTC).date(),
        )

    @cached_property
    def idle_sizes(self) -> Callable[[], IdleSizes | None] | None:
        """The bucket's, logs' and parameters' real sizes for the idle cost (None with
        given parts: configured sizes). Its own clients, so a job's AWS call count
        stays the job's."""
        if self.given_parts is not None:
            return None
        from infra.aws.idle_size import CachedIdleSizes  # boto3 too: see _aws
        from infra.aws.session import AwsClients

        return CachedIdleSizes(self.settings, AwsClients(self.settings), self.clock)

    def configuration_notes(self) -> list[str]:
        """What a process should say once at start-up about a configuration that works
        but is incomplete (today: no prices for the region, so costs show as unknown)."""
        if self.costs.known:
            return []
        return [
            f"Costs will show as unknown: {self.costs.unknown_reason}. Set price_region "
            f"to a region with a table or add infra/prices/{self.settings.price_region}.json."
        ]

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
            ready_times=self.ready_times,
            links=self.link_signer,
            traffic_log=self.traffic_log,
            spend=self.spend,
        )

    @cached_property
    def spend(self) -> SpendSource | None:
        """Cost Explorer's figures for `cost actual` (None with given parts)."""
        if self.given_parts is not None:
            return None
        from infra.aws.cost_explorer import CostExplorerSpend  # boto3 too: see _aws

        return CostExplorerSpend(self.settings, self.aws_clients, self.redis, self.keys, self.clock)

    @cached_property
    def link_signer(self) -> LinkSigner | None:
        """Signs meeting links where the secret is read (serve, say); None with jwt off."""
        if not self.settings.jwt.enabled:
            return None
        return JwtSigner(self.given_link_secret or self._link_secret)

    def _link_secret(self) -> str:
        return self._ssm_link_secret()

    @cached_property
    def _ssm_link_secret(self) -> Callable[[], str]:
        # Imported on the first link, not at start-up: boto3 is heavy (see aws_clients).
        from infra.aws.jwt_secret import SsmSecret

        return SsmSecret(self.settings, self.aws_clients)

    # -- AWS -------------------------------------------------------------------

    @cached_property
    def aws_clients(self) -> AwsClients:
        # Imported here, not at the top: boto3 and its service models weigh about
        # 20 MiB, and the chat process (serve) never talks to AWS.
        from infra.aws.session import INTERACTIVE_CONFIG, RETRY_CONFIG, AwsClients

        config = INTERACTIVE_CONFIG if self.interactive_aws else RETRY_CONFIG
        clients = AwsClients(self.settings, retry_config=config)
        if self.metrics.enabled:
            meter = AwsCallMetrics(self.metrics)
            clients.on("before-call.*.*", meter.on_call)
            clients.on("after-call.*.*", meter.on_answer)
            clients.on("after-call-error.*.*", meter.on_no_answer)
        return clients

    @cached_property
    def _aws(self) -> tuple[PlatformParts, NlbIngress | None]:
        from infra.aws.parts import aws_parts

        clients = self.aws_clients
        if self.settings.nlb_driver is NlbDriver.TERRAFORM:
            from infra.terraform.nlb import terraform_provisioner

            provisioner = terraform_provisioner(self.settings, clients)
            return aws_parts(self.settings, clients, provisioner)
        from infra.aws.nlb_boto3 import Boto3NlbProvisioner

        return aws_parts(self.settings, clients, Boto3NlbProvisioner(self.settings, clients))

    @cached_property
    def parts(self) -> PlatformParts:
        return self.given_parts if self.given_parts is not None else self._aws[0]

    @property
    def nlb(self) -> NlbIngress | None:
        """The NLB ingress itself (None with given parts or in direct mode), for its
        CloudWatch metrics."""
        return None if self.given_parts is not None else self._aws[1]

    def diagnose(self) -> list[Finding]:
        """Every prerequisite of a start, checked against the account (``doctor``)."""
        from infra.aws.doctor import diagnose  # boto3 too: see aws_clients

        region = self.settings.price_region
        return diagnose(
            self.settings,
            self.aws_clients,
            self.parts.preflight,
            lambda: cached_prices(self.prices_redis, self.keys, region),
        )

    @cached_property
    def lifecycle(self) -> Lifecycle:
        return Lifecycle(
            Deps(
                self.settings,
                self.parts,
                self.store,
                self.sink,
                self.clock,
                self.ledger,
                self.costs,
                self.traffic,
                self.traffic_log,
            )
        )

    @cached_property
    def traffic(self) -> TrafficMeter | None:
        """The session's measured traffic for the stop message (None with given parts)."""
        if self.given_parts is not None:
            return None
        from infra.aws.traffic import CloudWatchTraffic  # boto3 too: see _aws

        return CloudWatchTraffic(self.settings, self.aws_clients)

    @cached_property
    def participants(self) -> ParticipantSource:
        if self.given_source is not None:
            return self.given_source
        from infra.idle_sources import build_source  # boto3 too: see _aws

        # Direct mode has no NLB but the same AWS clients (the sidecar's metric).
        clients = None if self.given_parts is not None else self.aws_clients
        return build_source(self.settings, self.clock, self.nlb, clients)

    # -- the worker's jobs -------------------------------------------------------

    def lock(self) -> LeaseLock:
        """A new handle on the platform's lifecycle lock (one per job)."""
        return LeaseLock(self.redis, self.keys.lock, self.settings.lock_lease_seconds)

    def _chain(
        self, key: str, func: Callable[..., object], prefix: str, result_ttl: int
    ) -> JobChain:
        return JobChain(self.redis, self.queue.queue, key, func, prefix, result_ttl=result_ttl)

    @cached_property
    def reconcile_chain(self) -> JobChain:
        return self._chain(self.keys.reconcile_scheduled, jobs.reconcile, "reconcile", 600)

    @cached_property
    def guards(self) -> Guards:
        return Guards(
            self.settings,
            self.store,
            self.sessions,
            self.notices,
            self.participants,
            self.service,
            self.ledger,
            self.costs,
            self.clock,
            self._chain(self.keys.monitor_scheduled, jobs.monitor, "monitor", 60),
            self.unwatched,
        )

    @cached_property
    def runner(self) -> LifecycleRunner:
        return LifecycleRunner(
            self.settings,
            self.lifecycle,
            self.store,
            self.sink,
            self.lock,
            self._after_job,
            self.outage,
            journal=self.audit_log.record_job,
            acting_for=self._acting_for,
        )

    def _acting_for(self, actor: Actor | None) -> None:
        """The job's AWS calls name who asked (``AwsClients.act_for``); given parts
        (tests, benches) make no AWS calls of ours."""
        if self.given_parts is None:
            self.aws_clients.act_for(actor)

    def _after_job(self, spec: JobSpec, result: JobResult) -> None:
        self.ready_times.after_job(spec, result)  # before the announcements: never raises
        self.guards.after_job(spec, result)

    def outage(self, what: str) -> Outage:
        """A tracker that waits out a Redis outage for ``what`` (a job, the worker)."""
        return Outage(
            self.redis,
            what,
            logging.getLogger("jitsi.worker"),
            max_backoff=self.settings.redis_retry_max_seconds,
        )

    @cached_property
    def reconciler(self) -> Reconciler:
        return Reconciler(
            self.settings,
            self.store,
            self.sink,
            self.parts,
            self.costs,
            self.clock,
            self.ledger,
            SummaryMarks(self.redis, self.keys),
            self.guards,
            self.runner,
            self.queue,
            self.lock,
            self.reconcile_chain,
        )

    @cached_property
    def certificate_chain(self) -> JobChain:
        return self._chain(self.keys.certificate_scheduled, jobs.certificate, "certificate", 3600)

    @cached_property
    def certificates(self) -> CertificateManager:
        """The direct ingress's certificate in SSM, issued and renewed by ACME DNS-01."""
        # Imported here for the same reason as aws_clients: acme and boto3 weigh.
        from infra.acme_cert import AcmeIssuer, Route53Challenge
        from infra.tls_store import CertificateManager, SsmTlsStore

        clients = self.aws_clients
        challenge = Route53Challenge(self.settings, clients)
        return CertificateManager(
            self.settings,
            SsmTlsStore(self.settings, clients),
            AcmeIssuer(self.settings, challenge),
        )

    def certificate_check(self) -> CertificateCheck | None:
        """The worker's daily renewal, when a certificate can exist: DNS-01 needs the
        hosted zone (without one nothing is ever stored, and no AWS call is made)."""
        if not self.settings.hosted_zone_id:
            return None
        from infra.tls_renewal import CertificateCheck

        return CertificateCheck(
            self.certificates,
            self.redis,
            self.keys.certificate_failing,
            self.guards.announce,
            self.certificate_chain,
        )

    def job_context(self) -> JobContext:
        """Everything the worker's jobs run, built once (``infra.jobs.install``)."""
        scheduled = ScheduledRuns(
            self.scheduler, self.service, self.sessions, self.guards, self.unwatched, self.clock
        )
        return JobContext(
            self.runner, self.guards, self.reconciler, scheduled, self.certificate_check()
        )
