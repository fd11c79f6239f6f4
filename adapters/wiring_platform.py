"""What a process knows of the platform: AWS clients and parts (imported on first
use: boto3 is heavy and the chat process never talks to AWS), prices and costs, and
the command service that answers from them. The second layer of ``adapters.wiring.App``."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING, Any

import redis
from redis import Redis as RedisClient  # ``redis`` is also Stores' property

from adapters.wiring_stores import Stores
from bot.config import NlbDriver
from bot.cost import CostModel, IdleSizes
from bot.model import Finding
from bot.ports import LinkSigner, ParticipantSource, PlatformParts, SpendSource, TrafficMeter
from bot.service import CommandService
from infra.links import JwtSigner
from infra.metrics import AwsCallMetrics
from infra.pricing import (
    PREFETCH_WAIT_SECONDS,
    RegionPrices,
    cached_prices,
    current_prices,
    refresh_prices,
    start_refresher,
    unknown_reason,
)

if TYPE_CHECKING:
    from infra.aws.nlb import NlbIngress
    from infra.aws.session import AwsClients
    from infra.tls_store import CertificateManager


class Platform(Stores):
    """``Stores`` plus the platform's parts in AWS, its costs and the commands."""

    # -- AWS -----------------------------------------------------------------

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

    # -- prices and costs ----------------------------------------------------

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

    @cached_property
    def spend(self) -> SpendSource | None:
        """Cost Explorer's figures for `cost actual` (None with given parts)."""
        if self.given_parts is not None:
            return None
        from infra.aws.cost_explorer import CostExplorerSpend  # boto3 too: see _aws

        return CostExplorerSpend(self.settings, self.aws_clients, self.redis, self.keys, self.clock)

    def configuration_notes(self) -> list[str]:
        """What a process should say once at start-up about a configuration that works
        but is incomplete (today: no prices for the region, so costs show as unknown)."""
        if self.costs.known:
            return []
        return [
            f"Costs will show as unknown: {self.costs.unknown_reason}. Set price_region "
            f"to a region with a table or add infra/prices/{self.settings.price_region}.json."
        ]

    # -- commands ------------------------------------------------------------

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
