"""Configuration sections of the guards that keep the platform from billing unused.

Each section may be nested (``{"idle": {"minutes": 20}}``) or written as flat
keys that read as one name: ``idle_minutes``, ``idle_warn_minutes``,
``budget_monthly``, ``schedule_timezone`` (``JITSI_IDLE_MINUTES`` ...).
"""

from __future__ import annotations

from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class IdleSource(StrEnum):
    AUTO = "auto"  # jicofo when its URL is set, else jvb when set, else jicofo-metric
    # Jicofo's count, published by the task's sidecar as the CloudWatch metric
    # JitsiChatops/Participants (dimension Project): sees a lone waiter, no port exposed.
    JICOFO_METRIC = "jicofo-metric"
    CLOUDWATCH = "cloudwatch"  # the NLB's UDP flow metrics: blind to a lone waiter and p2p
    JICOFO = "jicofo"  # /stats on 8888 (JICOFO_ENABLE_REST=1): counts a lone waiter
    JVB = "jvb"  # /colibri/stats or /metrics: people on the bridge only
    OFF = "off"  # no idle stop (max session length and budget still apply)


class IdleSettings(BaseModel):
    """When an empty meeting platform stops by itself."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    source: IdleSource = IdleSource.AUTO
    jicofo_url: str | None = None  # e.g. http://10.0.1.5:8888/stats
    jvb_url: str | None = None  # e.g. http://10.0.1.5:8080/colibri/stats
    source_timeout_seconds: float = Field(default=3.0, gt=0, le=30)
    # jicofo-metric: a count older than this is no count (unknown, never idle). The
    # sidecar publishes every minute and CloudWatch shows it a minute or two later.
    metric_max_age_minutes: float = Field(default=5.0, gt=0, le=60)
    metric_period_seconds: int = Field(default=60, ge=1, le=300)  # the query's period
    minutes: float = Field(default=15.0, gt=0)  # idle this long: stop
    warn_minutes: float = Field(default=5.0, ge=0)  # warn this long before the stop
    readings: int = Field(default=3, ge=1, le=60)  # consecutive idle readings needed
    grace_minutes: float = Field(default=10.0, ge=0)  # after the start nobody needs to be in
    check_seconds: float = Field(default=60.0, gt=0)  # how often the monitor reads
    keep_minutes: float = Field(default=30.0, gt=0)  # `keep` with no number
    keep_max_minutes: float = Field(default=240.0, gt=0)
    max_session_hours: float = Field(default=12.0, ge=0)  # 0: no limit

    @model_validator(mode="after")
    def _check(self) -> IdleSettings:
        if self.warn_minutes >= self.minutes:
            raise ValueError("idle_warn_minutes must be below idle_minutes")
        if self.keep_minutes > self.keep_max_minutes:
            raise ValueError("idle_keep_minutes must not exceed idle_keep_max_minutes")
        return self


class BudgetSettings(BaseModel):
    """A monthly spending limit; unset means no limit."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    monthly: float | None = Field(default=None, gt=0)  # dollars per calendar month (UTC)
    warn_percent: float = Field(default=80.0, gt=0, lt=100)
    admins: list[str] = Field(default_factory=list)  # may `start --force` past the budget


class ScheduleSettings(BaseModel):
    """Scheduled sessions and the daily summary."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    timezone: str = "UTC"  # IANA name; `start at 18:45` means 18:45 here
    summary_hour: int | None = Field(default=None, ge=0, le=23)  # daily summary; None: off

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not a time zone such as Europe/Berlin or UTC") from None
        return value
