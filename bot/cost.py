"""The cost model: what the platform costs running, idle, per session and per month.

Prices come from a data file per region (``infra/prices``); nothing here is a price.
Billing rules modelled: Fargate per second with a one-minute minimum; the NLB and
public IPv4 addresses per started hour (a partial hour bills as a full one).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, fields

from bot.config import CpuArchitecture, Settings
from bot.model import BillableResource, ResourceKind

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

    @classmethod
    def from_mapping(cls, data: Mapping[str, object]) -> PriceTable:
        """Build from the JSON data file; raise ``ValueError`` naming a missing or bad key."""
        values: dict[str, object] = {}
        for f in fields(cls):
            if f.name not in data:
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
class LineItem:
    label: str
    amount: float  # dollars per hour, per month or in total, as the caller says


class CostModel:
    """Prices the platform as configured (task size, NLB zones, storage, DNS)."""

    def __init__(self, settings: Settings, prices: PriceTable) -> None:
        self.settings = settings
        self.prices = prices

    # -- running ---------------------------------------------------------------
    @property
    def task_hour(self) -> float:
        p, s = self.prices, self.settings
        if s.cpu_architecture is CpuArchitecture.ARM64:
            return s.task_vcpu * p.fargate_arm_vcpu_hour + s.task_memory_gb * p.fargate_arm_gb_hour
        return s.task_vcpu * p.fargate_vcpu_hour + s.task_memory_gb * p.fargate_gb_hour

    @property
    def nlb_hour(self) -> float:
        """The NLB and its public addresses (one per zone), excluding traffic (NLCU)."""
        return (
            self.prices.nlb_hour
            + self.settings.nlb_availability_zones * self.prices.public_ipv4_hour
        )

    def running_items(self) -> list[LineItem]:
        s, p = self.settings, self.prices
        arch = "ARM" if s.cpu_architecture is CpuArchitecture.ARM64 else "x86"
        return [
            LineItem(
                f"Fargate task {s.task_vcpu:g} vCPU / {s.task_memory_gb:g} GB ({arch})",
                self.task_hour,
            ),
            LineItem("Task public IPv4 address", p.public_ipv4_hour),
            LineItem("Network Load Balancer", p.nlb_hour),
            LineItem(
                f"NLB public IPv4 addresses ({s.nlb_availability_zones} zones)",
                s.nlb_availability_zones * p.public_ipv4_hour,
            ),
        ]

    @property
    def running_hour(self) -> float:
        return sum(item.amount for item in self.running_items())

    # -- idle --------------------------------------------------------------------
    def idle_items(self) -> list[LineItem]:
        s, p = self.settings, self.prices
        items = [
            LineItem(f"S3 recordings ({s.storage_gb:g} GB)", s.storage_gb * p.s3_gb_month),
            LineItem("SSM parameters (standard)", 0.0),
        ]
        if s.hosted_zone_id:
            items.append(LineItem("Route53 hosted zone", p.route53_zone_month))
        return items

    @property
    def idle_month(self) -> float:
        return sum(item.amount for item in self.idle_items())

    # -- sessions and months -------------------------------------------------------
    def session_cost(self, seconds: float) -> float:
        """What one session of ``seconds`` costs, with partial-hour NLB/IPv4 billing."""
        seconds = max(seconds, 0.0)
        billed_task = max(seconds, FARGATE_MINIMUM_SECONDS) / 3600.0
        started_hours = max(1, math.ceil(seconds / 3600.0))
        return billed_task * self.task_hour + started_hours * (
            self.nlb_hour + self.prices.public_ipv4_hour
        )

    def on_demand_month(self, hours: float) -> float:
        """Monthly cost for ``hours`` of meetings in sessions of the configured average length."""
        if hours <= 0:
            return self.idle_month
        length = self.settings.average_session_hours
        sessions = hours / length
        return self.idle_month + sessions * self.session_cost(length * 3600.0)

    @property
    def always_on_month(self) -> float:
        """The same platform never stopped: every hour of the month, plus the idle items."""
        return HOURS_PER_MONTH * self.running_hour + self.idle_month

    def break_even_hours(self) -> float:
        """Meeting hours per month at which on-demand costs as much as always-on."""
        length = self.settings.average_session_hours
        per_hour = self.session_cost(length * 3600.0) / length
        return (self.always_on_month - self.idle_month) / per_hour

    def scenarios(self, extra_hours: float | None = None) -> list[tuple[str, float, float, float]]:
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
    def resource_hour(self, resource: BillableResource) -> float:
        """Hourly cost of one resource the orphan audit found."""
        ipv4 = resource.public_ipv4 * self.prices.public_ipv4_hour
        if resource.kind is ResourceKind.LOAD_BALANCER:
            return self.prices.nlb_hour + ipv4
        if resource.kind is ResourceKind.TASK:
            return self.task_hour + ipv4
        return ipv4  # EIPs and ENIs bill for their address; groups and listeners are free


def money(amount: float) -> str:
    """Dollars, with enough digits for sub-cent hourly prices."""
    if amount == 0:
        return "$0.00"
    if abs(amount) < 1:
        return f"${amount:.4f}".rstrip("0").rstrip(".") if abs(amount) < 0.01 else f"${amount:.3f}"
    return f"${amount:,.2f}"
