"""The cost model: what the platform costs running, idle, per session and per month.

Prices come from a data file per region (``infra/prices``); nothing here is a price.
A region with no data file has unknown prices: every amount is then None.
Billing rules modelled: Fargate per second with a one-minute minimum; the NLB and
public IPv4 addresses per started hour (a partial hour bills as a full one).
"""

from __future__ import annotations

import calendar
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import MISSING, dataclass, fields
from datetime import UTC, datetime

from bot.config import CpuArchitecture, Settings
from bot.model import BillableResource, IngressKind, ResourceKind

HOURS_PER_MONTH = 730.0
FARGATE_MINIMUM_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class PriceTable:
    region: str
    fargate_vcpu_hour: float
    fargate_gb_hour: float
    fargate_arm_vcpu_hour: float
    fargate_arm_gb_hour: float
    nlb_hour: float
    nlb_nlcu_hour: float
    public_ipv4_hour: float
    route53_zone_month: float
    s3_gb_month: float
    egress_gb: float
    nat_gateway_hour: float
    # Optional in a price file: the us-east-1 list prices stand in while it lacks them.
    logs_ingestion_gb: float = 0.50
    logs_storage_gb_month: float = 0.03
    cross_zone_gb: float = 0.01  # per GB, in each direction

    @classmethod
    def from_mapping(cls, data: Mapping[str, object]) -> PriceTable:
        """Build from the JSON data file; raise ``ValueError`` naming a missing or bad key."""
        values: dict[str, object] = {}
        for f in fields(cls):
            if f.name not in data:
                if f.default is not MISSING:
                    continue
                raise ValueError(f"price table: missing key {f.name!r}")
            raw = data[f.name]
            if f.name == "region":
                values[f.name] = str(raw)
                continue
            if not isinstance(raw, int | float) or isinstance(raw, bool) or raw < 0:
                raise ValueError(f"price table: {f.name!r} must be a non-negative number")
            values[f.name] = float(raw)
        return cls(**values)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class IdleSizes:
    """What exists while the platform is stopped, as measured (``infra/aws/idle_size.py``)."""

    bucket_bytes: float | None  # None: the bucket's size could not be read
    bucket_source: str  # how it was read: "CloudWatch BucketSizeBytes" or "a listing"
    log_bytes: float | None  # the log group's stored bytes
    parameters: int | None  # SSM parameters under the project's path


BYTES_PER_GB = float(2**30)


@dataclass(frozen=True, slots=True)
class LineItem:
    label: str
    amount: float | None  # dollars per hour, per month or in total; None: price unknown


def _sum(amounts: Iterable[float | None]) -> float | None:
    """The total, or None when any part of it is unknown."""
    total = 0.0
    for amount in amounts:
        if amount is None:
            return None
        total += amount
    return total


def rounded(amount: float | None, digits: int) -> float | None:
    """``round`` that keeps an unknown amount unknown (for event data and JSON)."""
    return None if amount is None else round(amount, digits)


class CostModel:
    """Prices the platform as configured (task size, NLB zones, storage, DNS).

    With no price table for the region (``prices`` None) every amount is None
    (unknown) and ``unknown_reason`` says why: an unknown price never blocks a
    start or a command, it is shown as unknown."""

    def __init__(
        self,
        settings: Settings,
        prices: PriceTable | None,
        unknown_reason: str = "",
        idle_sizes: Callable[[], IdleSizes | None] | None = None,
    ) -> None:
        self.settings = settings
        self.prices = prices
        # Reads what exists (cached by the caller); None: configured sizes only.
        self.idle_sizes = idle_sizes
        self.unknown_reason = (
            ""
            if prices is not None
            else (unknown_reason or f"no prices for region {settings.price_region}")
        )

    @property
    def known(self) -> bool:
        return self.prices is not None

    @property
    def region(self) -> str:
        return self.prices.region if self.prices is not None else self.settings.price_region

    # -- running ---------------------------------------------------------------
    @property
    def task_hour(self) -> float | None:
        p, s = self.prices, self.settings
        if p is None:
            return None
        if s.cpu_architecture is CpuArchitecture.ARM64:
            return s.task_vcpu * p.fargate_arm_vcpu_hour + s.task_memory_gb * p.fargate_arm_gb_hour
        return s.task_vcpu * p.fargate_vcpu_hour + s.task_memory_gb * p.fargate_gb_hour

    @property
    def direct(self) -> bool:
        """No load balancer: the task's own public IP is the way in."""
        return self.settings.ingress is IngressKind.DIRECT

    @property
    def nlb_hour(self) -> float | None:
        """The NLB and its public addresses (one per zone), excluding traffic (NLCU);
        nothing in direct mode."""
        p = self.prices
        if p is None:
            return None
        if self.direct:
            return 0.0
        return p.nlb_hour + self.settings.nlb_availability_zones * p.public_ipv4_hour

    def running_items(self) -> list[LineItem]:
        s, p = self.settings, self.prices
        arch = "ARM" if s.cpu_architecture is CpuArchitecture.ARM64 else "x86"
        task = [
            LineItem(
                f"Fargate task {s.task_vcpu:g} vCPU / {s.task_memory_gb:g} GB ({arch})",
                self.task_hour,
            ),
            LineItem("Task public IPv4 address", None if p is None else p.public_ipv4_hour),
        ]
        if self.direct:
            return task
        return [
            *task,
            LineItem("Network Load Balancer", None if p is None else p.nlb_hour),
            LineItem(
                f"NLB public IPv4 addresses ({s.nlb_availability_zones} zones)",
                None if p is None else s.nlb_availability_zones * p.public_ipv4_hour,
            ),
        ]

    @property
    def running_hour(self) -> float | None:
        return _sum(item.amount for item in self.running_items())

    # -- idle --------------------------------------------------------------------
    def idle_items(self) -> list[LineItem]:
        """What bills while stopped, from the measured sizes when they can be read; the
        bucket holds Terraform state and bootstrap files (nothing records meetings)."""
        s, p = self.settings, self.prices
        sizes = self.idle_sizes() if self.idle_sizes is not None else None
        if sizes is not None and sizes.bucket_bytes is not None:
            gb = sizes.bucket_bytes / BYTES_PER_GB
            bucket = LineItem(
                f"S3 bucket ({gb:.3f} GB, {sizes.bucket_source})",
                None if p is None else gb * p.s3_gb_month,
            )
        else:
            bucket = LineItem(
                f"S3 bucket (size not read; storage_gb {s.storage_gb:g} GB assumed)",
                None if p is None else s.storage_gb * p.s3_gb_month,
            )
        count = "" if sizes is None or sizes.parameters is None else f"{sizes.parameters} "
        items = [bucket, LineItem(f"SSM parameters ({count}standard)", 0.0)]
        if sizes is not None and sizes.log_bytes is not None:
            gb = sizes.log_bytes / BYTES_PER_GB
            items.append(
                LineItem(
                    f"CloudWatch Logs storage ({gb:.3f} GB)",
                    None if p is None else gb * p.logs_storage_gb_month,
                )
            )
        if s.hosted_zone_id:
            items.append(
                LineItem("Route53 hosted zone", None if p is None else p.route53_zone_month)
            )
        return items

    @property
    def idle_month(self) -> float | None:
        return _sum(item.amount for item in self.idle_items())

    # -- sessions and months -------------------------------------------------------
    def session_cost(self, seconds: float) -> float | None:
        """What one session of ``seconds`` costs, with partial-hour NLB/IPv4 billing."""
        task, nlb, p = self.task_hour, self.nlb_hour, self.prices
        if task is None or nlb is None or p is None:
            return None
        seconds = max(seconds, 0.0)
        billed_task = max(seconds, FARGATE_MINIMUM_SECONDS) / 3600.0
        started_hours = max(1, math.ceil(seconds / 3600.0))
        return billed_task * task + started_hours * (nlb + p.public_ipv4_hour)

    def on_demand_month(self, hours: float) -> float | None:
        """Monthly cost for ``hours`` of meetings in sessions of the configured average length."""
        idle = self.idle_month
        if hours <= 0 or idle is None:
            return idle
        length = self.settings.average_session_hours
        session = self.session_cost(length * 3600.0)
        return None if session is None else idle + hours / length * session

    @property
    def always_on_month(self) -> float | None:
        """The same platform never stopped: every hour of the month, plus the idle items."""
        running, idle = self.running_hour, self.idle_month
        if running is None or idle is None:
            return None
        return HOURS_PER_MONTH * running + idle

    def break_even_hours(self) -> float | None:
        """Meeting hours per month at which on-demand costs as much as always-on."""
        length = self.settings.average_session_hours
        session, always, idle = (
            self.session_cost(length * 3600.0),
            self.always_on_month,
            self.idle_month,
        )
        if session is None or always is None or idle is None:
            return None
        return (always - idle) / (session / length)

    def scenarios(
        self, extra_hours: float | None = None
    ) -> list[tuple[str, float, float | None, float | None]]:
        """Rows (label, hours, on-demand $/month, always-on $/month)."""
        rows = [
            ("Idle", 0.0),
            ("Light", 10.0),
            ("Medium", 50.0),
            ("Heavy", 200.0),
            ("Every hour", HOURS_PER_MONTH),
        ]
        if extra_hours is not None:
            rows.append(("Yours", extra_hours))
            rows.sort(key=lambda r: r[1])
        return [(label, h, self.on_demand_month(h), self.always_on_month) for label, h in rows]

    # -- audit -------------------------------------------------------------------
    def resource_hour(self, resource: BillableResource) -> float | None:
        """Hourly cost of one resource the orphan audit found."""
        p, task = self.prices, self.task_hour
        if p is None or task is None:
            return None
        ipv4 = resource.public_ipv4 * p.public_ipv4_hour
        if resource.kind is ResourceKind.LOAD_BALANCER:
            return p.nlb_hour + ipv4
        if resource.kind is ResourceKind.TASK:
            return task + ipv4
        return ipv4  # EIPs and ENIs bill for their address; groups and listeners are free

    def total_hour(self, resources: Iterable[BillableResource]) -> float | None:
        """Hourly cost of what the audit found, or None when prices are unknown."""
        return _sum(self.resource_hour(r) for r in resources)


def money(amount: float | None) -> str:
    """Dollars, with enough digits for sub-cent hourly prices; "unknown" for None."""
    if amount is None:
        return "unknown"
    if amount == 0:
        return "$0.00"
    if abs(amount) < 1:
        return f"${amount:.4f}".rstrip("0").rstrip(".") if abs(amount) < 0.01 else f"${amount:.3f}"
    return f"${amount:,.2f}"


@dataclass(frozen=True, slots=True)
class MonthToDate:
    """This UTC month's meetings: the ended sessions in the ledger plus the running one
    so far, and the month's end projected at this month's pace (plus the idle cost)."""

    hours: float
    cost: float | None  # None: prices unknown
    running_hours: float  # the running session's part of ``hours`` (0 when none runs)
    projected: float | None  # the month's end at this pace, idle items included

    @property
    def cost_or_zero(self) -> float:
        return self.cost or 0.0


def month_start(now: float) -> float:
    """The start of ``now``'s calendar month in UTC (the ledger's months are UTC)."""
    moment = datetime.fromtimestamp(now, UTC)
    return moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0).timestamp()


def month_fraction(now: float) -> float:
    """How much of ``now``'s UTC month has passed, in (0, 1]."""
    moment = datetime.fromtimestamp(now, UTC)
    days = calendar.monthrange(moment.year, moment.month)[1]
    return max(now - month_start(now), 1.0) / (days * 86400.0)


def month_to_date(
    costs: CostModel,
    ledger: tuple[float, float],
    running_since: float | None,
    now: float,
) -> MonthToDate:
    """The month so far from the ledger's (hours, dollars) of ended sessions and the
    session running since ``running_since`` (None: none runs).

    A session begun last month counts from this month's first second: its earlier
    hours belong to last month. Its cost so far uses the same billing rules as a
    session that ended now (per-second Fargate, started hours of NLB and IPv4), so
    the budget sees what a stop right now would record. The projection scales the
    meetings' cost by the part of the month passed and adds a full month of idle items.
    """
    hours, spent = ledger
    running = 0.0
    session: float | None = 0.0
    if running_since is not None:
        seconds = max(now - max(running_since, month_start(now)), 0.0)
        running = seconds / 3600.0
        session = costs.session_cost(seconds)
    if not costs.known or session is None:
        return MonthToDate(hours + running, None, running, None)
    cost = spent + session
    idle = costs.idle_month or 0.0
    return MonthToDate(hours + running, cost, running, cost / month_fraction(now) + idle)
