"""The validated, frozen configuration of one jitsi-chatops deployment.

This module only describes and validates; reading the environment and the
config file happens once, at the entry point (``infra.settings``).
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Annotated
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from bot.config_acme import AcmeSettings
from bot.config_chat import MatrixSettings, SlackSettings
from bot.config_idle import BudgetSettings, IdleSettings, ScheduleSettings
from bot.config_jwt import JwtSettings
from bot.config_terraform import TerraformSettings
from bot.model import IngressKind

_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$")
# Load balancer and target group names are at most 32 characters; the longest
# suffix we add is "-udp10000" (9), so 23 keeps every derived name legal.
_PROJECT = re.compile(r"^[a-z][a-z0-9-]{0,21}[a-z0-9]$")

ProjectName = Annotated[str, Field(pattern=_PROJECT.pattern)]


class NlbDriver(StrEnum):
    BOTO3 = "boto3"
    TERRAFORM = "terraform"


class LogFormat(StrEnum):
    TEXT = "text"  # one human line per record
    JSON = "json"  # one JSON object per line, for log shippers (infra.logs)


class ImageCache(StrEnum):
    """Where the task pulls the docker-jitsi-meet images from (docs/emulator.md)."""

    NONE = "none"  # Docker Hub, at every start (Fargate caches nothing between tasks)
    ECR = "ecr"  # an ECR pull-through cache rule for docker.io in the deployment's region


class CpuArchitecture(StrEnum):
    X86_64 = "x86_64"
    ARM64 = "arm64"


def redact_url(url: str) -> str:
    """Return ``url`` with any password replaced by ``***``."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))


class Settings(BaseModel):
    """Every configuration key, its type, default and validation."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)

    project_name: ProjectName = "jitsi-video-platform"
    domain: str = "meet.example.com"
    aws_region: str = "us-east-1"
    aws_profile: str | None = None
    aws_endpoint_url: str | None = None
    redis_url: SecretStr = SecretStr("redis://127.0.0.1:6379/0")

    cluster_name: str = ""  # derived from project_name when empty
    service_name: str = ""  # derived from project_name when empty
    advertise_ips_parameter: str = ""  # SSM parameter for JVB_ADVERTISE_IPS
    hosted_zone_id: str | None = None
    acm_certificate_arn: str | None = None
    enable_tcp_4443: bool = False
    image_cache: ImageCache = ImageCache.NONE
    # Secrets Manager secret with Docker Hub's {"username", "accessToken"} for image_cache=ecr;
    # none: the one named ecr-pullthroughcache/<project>-hub.
    image_cache_secret_arn: str | None = None
    nlb_driver: NlbDriver = NlbDriver.BOTO3
    # The way in: an on-demand NLB, or the task's own public IP (docs/ingress.md).
    ingress: IngressKind = IngressKind.NLB
    # direct: the A record's TTL. Low, because the address changes every session and
    # resolvers keep the old one this long after a restart.
    direct_dns_ttl_seconds: int = Field(default=30, ge=1, le=3600)
    deregistration_delay_seconds: int = Field(default=5, ge=0, le=3600)

    price_region: str = ""  # defaults to aws_region
    # The Price List API's endpoint: "" = AWS's own (us-east-1), unless aws_endpoint_url
    # points at an emulator (which has none: the bundled snapshot is used); "off" = never.
    price_list_url: str = ""
    task_vcpu: float = Field(default=4.0, gt=0, le=16)
    task_memory_gb: float = Field(default=8.0, gt=0, le=120)
    cpu_architecture: CpuArchitecture = CpuArchitecture.X86_64
    nlb_availability_zones: int = Field(default=2, ge=1, le=6)
    storage_gb: float = Field(default=10.0, ge=0)
    average_session_hours: float = Field(default=1.5, gt=0, le=24)

    command_name: str = "jitsi"
    # command -> user ids allowed to run it; a missing command or "*" means everyone.
    allowed_users: dict[str, list[str]] = Field(default_factory=dict)
    # The audit log (a Redis stream of commands and job ends) keeps at most this many
    # entries, none older than this many days (0: no age bound); whichever bound is hit
    # first trims the oldest. ~300 bytes an entry: 100,000 entries are about 30 MB.
    audit_retention_days: float = Field(default=90.0, ge=0, le=3650)
    audit_max_entries: int = Field(default=100_000, ge=10, le=10_000_000)

    start_timeout_seconds: float = Field(default=900.0, gt=0)
    stop_timeout_seconds: float = Field(default=600.0, gt=0)
    poll_min_seconds: float = Field(default=1.0, gt=0)
    poll_max_seconds: float = Field(default=10.0, gt=0)
    lock_lease_seconds: float = Field(default=30.0, ge=2)
    unhealthy_grace_seconds: float = Field(default=60.0, ge=0)
    # Chat adapters: each section is enabled when any of its keys is given.
    slack: SlackSettings | None = None
    matrix: MatrixSettings | None = None
    # Guards against an unused platform billing: idle stop, budget, schedules.
    idle: IdleSettings = IdleSettings()
    budget: BudgetSettings = BudgetSettings()
    schedule: ScheduleSettings = ScheduleSettings()
    terraform: TerraformSettings | None = None  # the nlb_driver=terraform section
    # The direct ingress's certificate: ACME DNS-01, renewed this many days before expiry.
    acme: AcmeSettings = AcmeSettings()
    tls_renew_days: int = Field(default=30, ge=1, le=60)
    # Per-person meeting links (docker-jitsi-meet's JWT auth); ``jwt: off`` opens the platform.
    jwt: JwtSettings = JwtSettings()

    # The readiness check's HTTPS request to the meeting URL, as a browser makes it.
    # For an emulator: a CA bundle to trust besides the system's, and the host:port
    # to connect to instead of resolving the meeting domain (its HTTPS front).
    https_check_ca_file: str | None = None
    https_check_connect_to: str | None = None

    reconcile_interval_seconds: float = Field(default=300.0, ge=0)  # 0 turns it off
    # While something billable is left with the platform meant to be stopped (a
    # rollback or stop that could not finish), the reconciler runs this often instead.
    reconcile_fast_interval_seconds: float = Field(default=30.0, gt=0)
    # How long a rollback or stop keeps retrying (with backoff) when AWS fails
    # retryably (unreachable, throttling, 5xx) before it reports what is left.
    teardown_retry_seconds: float = Field(default=300.0, ge=0)
    worker_pickup_seconds: float = Field(default=30.0, gt=0)
    # Redis outages: the longest pause between two tries to reach Redis again (worker,
    # running jobs), and how long a followed job may have no worker holding its lease
    # (after the lease ran out) before the follower is told the worker stopped.
    redis_retry_max_seconds: float = Field(default=5.0, gt=0, le=300)
    worker_lost_seconds: float = Field(default=10.0, ge=0)

    # Operators' view (docs/operations.md): Prometheus /metrics of serve and worker on
    # this port (None: off), the address it binds, and the format of log lines.
    metrics_port: int | None = Field(default=None, ge=1, le=65535)
    metrics_host: str = "0.0.0.0"
    log_format: LogFormat = LogFormat.TEXT
    # How often serve and worker renew their liveness record (``jitsi-bot health``).
    heartbeat_seconds: float = Field(default=10.0, ge=1, le=300)

    @field_validator("domain")
    @classmethod
    def _domain(cls, value: str) -> str:
        host = value.strip().lower().rstrip(".")
        labels = host.split(".")
        if len(host) > 253 or len(labels) < 2 or not all(_HOST_LABEL.match(x) for x in labels):
            raise ValueError(f"{value!r} is not a domain name such as meet.example.org")
        if labels[-1].isdigit():
            raise ValueError(f"{value!r} is an IP address; the meeting needs a domain name")
        return host

    @field_validator("aws_region")
    @classmethod
    def _region(cls, value: str) -> str:
        if not _REGION.match(value):
            raise ValueError(f"{value!r} is not an AWS region such as us-east-1")
        return value

    @field_validator("price_region")
    @classmethod
    def _price_region(cls, value: str) -> str:
        if value and not _REGION.match(value):
            raise ValueError(f"{value!r} is not an AWS region such as us-east-1")
        return value

    @field_validator("aws_endpoint_url")
    @classmethod
    def _endpoint(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ValueError(f"{value!r} is not an http(s) URL such as http://127.0.0.1:5000")
        return value.rstrip("/")

    @field_validator("https_check_connect_to")
    @classmethod
    def _connect_to(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        host, sep, port = value.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
            raise ValueError(f"{value!r} is not host:port such as 127.0.0.1:8443")
        return value

    @field_validator("redis_url")
    @classmethod
    def _redis(cls, value: SecretStr) -> SecretStr:
        parts = urlsplit(value.get_secret_value())
        if parts.scheme not in ("redis", "rediss", "unix") or not (parts.netloc or parts.path):
            raise ValueError(
                f"{redact_url(value.get_secret_value())!r} is not a Redis URL "
                "such as redis://127.0.0.1:6379/0"
            )
        return value

    @field_validator("command_name")
    @classmethod
    def _command(cls, value: str) -> str:
        name = value.lstrip("/!")
        if not re.fullmatch(r"[a-z0-9][a-z0-9_-]{0,31}", name):
            raise ValueError(f"{value!r} is not a command name (lowercase letters, digits, - or _)")
        return name

    @model_validator(mode="after")
    def _derive(self) -> Settings:
        # Frozen model: derived defaults are filled in through object.__setattr__
        # exactly once, here, so every reader sees the final names.
        derived = {
            "cluster_name": self.cluster_name or f"{self.project_name}-cluster",
            "service_name": self.service_name or f"{self.project_name}-service",
            "advertise_ips_parameter": self.advertise_ips_parameter
            or f"/{self.project_name}/jvb/advertise-ips",
            "price_region": self.price_region or self.aws_region,
        }
        for key, value in derived.items():
            object.__setattr__(self, key, value)
        if not self.jwt.secret_parameter:
            # terraform/main.tf names the parameter the same.
            secret = f"/{self.project_name}/jwt/app-secret"
            object.__setattr__(
                self, "jwt", self.jwt.model_copy(update={"secret_parameter": secret})
            )
        if self.poll_max_seconds < self.poll_min_seconds:
            raise ValueError("poll_max_seconds must not be below poll_min_seconds")
        return self

    @property
    def redis_dsn(self) -> str:
        """The Redis URL, secret included: pass it to a client, never print it."""
        return self.redis_url.get_secret_value()

    @property
    def meeting_base_url(self) -> str:
        return f"https://{self.domain}"

    def public_view(self) -> dict[str, object]:
        """Every key with secrets redacted, for ``config show`` and logs."""
        data = self.model_dump(mode="json")
        data["redis_url"] = redact_url(self.redis_dsn)
        return data
