"""What a session's traffic cost: measured bytes and flows turned into dollars.

The readings come from CloudWatch (``infra/aws/traffic.py``): the NLB's own metrics
in NLB mode, the task's network bytes (the stats sidecar's metric) in both modes.
Billing rules modelled (docs/costs.md, "Traffic"):

- NLCU: each hour bills the largest of its dimensions, here for UDP (the media):
  processed GB, new flows per second / 400, active flows / 50,000.
- Data out to the internet: what the task sent, per GB; the account's first
  100 GB a month (all services together) are free, which a session cannot know.
- Cross-zone: with cross-zone balancing on, the part of the NLB's bytes that the
  other zones' nodes carry to the task's zone bills in both directions.
- CloudWatch Logs: the ingested bytes of the project's log group.

GB here is 2**30 bytes, as AWS bills data transfer.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from bot.cost import PriceTable

GB = float(2**30)
FREE_EGRESS_GB_MONTH = 100.0
UDP_NEW_FLOWS_PER_SECOND_PER_NLCU = 400.0
UDP_ACTIVE_FLOWS_PER_NLCU = 50_000.0
# Used only while the region's price table lacks the key (infra/prices, per region):
# us-east-1 list prices, the same in most regions.


@dataclass(frozen=True, slots=True)
class TrafficHour:
    """One clock hour of the NLB's metrics (sums over the hour, the peak of flows)."""

    processed_bytes: float
    new_flows: float
    peak_active_flows: float

    @property
    def nlcu(self) -> float:
        return max(
            self.processed_bytes / GB,
            self.new_flows / 3600.0 / UDP_NEW_FLOWS_PER_SECOND_PER_NLCU,
            self.peak_active_flows / UDP_ACTIVE_FLOWS_PER_NLCU,
        )


@dataclass(frozen=True, slots=True)
class TrafficReading:
    """A session's measured traffic. ``hours`` is empty in direct mode (no NLB)."""

    hours: tuple[TrafficHour, ...]
    sent_bytes: float  # the task's bytes out: what leaves AWS for the participants
    received_bytes: float  # the task's bytes in (free: data into AWS costs nothing)
    log_bytes: float  # CloudWatch Logs ingested for the project
    zones: int  # the NLB's zones (0: direct mode)
    # Participant-hours from the sidecar's per-minute count (0: not measured).
    participant_hours: float = 0.0

    @property
    def processed_bytes(self) -> float:
        return sum(h.processed_bytes for h in self.hours)

    @property
    def total_bytes(self) -> float:
        """What the session moved: the NLB's bytes, or the task's in direct mode."""
        if self.hours:
            return max(self.processed_bytes, self.sent_bytes + self.received_bytes)
        return self.sent_bytes + self.received_bytes

    @property
    def egress_bytes(self) -> float:
        """Out to the internet: the task's bytes out; with no sidecar reading in NLB mode,
        the NLB's processed bytes (both directions: an upper bound)."""
        if self.sent_bytes > 0 or not self.hours:
            return self.sent_bytes
        return self.processed_bytes


@dataclass(frozen=True, slots=True)
class TrafficCost:
    gigabytes: float  # total_bytes in GB
    nlcu_hours: float
    nlcu: float
    egress_gb: float
    egress: float
    cross_zone_gb: float
    cross_zone: float
    log_gb: float
    logs: float

    @property
    def total(self) -> float:
        return self.nlcu + self.egress + self.cross_zone + self.logs

    def text(self) -> str:
        """``Traffic: 3.2 GB, $0.31 (...)`` for the stop message."""
        parts = [f"egress {self.egress_gb:.2f} GB ${self.egress:.2f}"]
        if self.nlcu_hours:
            parts.insert(0, f"NLCU {self.nlcu_hours:.2f} h ${self.nlcu:.2f}")
        if self.cross_zone_gb:
            parts.append(f"cross-zone {self.cross_zone_gb:.2f} GB ${self.cross_zone:.2f}")
        parts.append(f"logs {self.log_gb:.3f} GB ${self.logs:.2f}")
        return (
            f"Traffic: {self.gigabytes:.2f} GB, ${self.total:.2f} ({', '.join(parts)}; "
            f"the account's first {FREE_EGRESS_GB_MONTH:g} GB out a month are free)."
        )


def traffic_cost(reading: TrafficReading, prices: PriceTable) -> TrafficCost:
    """The traffic's cost at ``prices``; egress at the full rate (the free tier is
    account-wide, so the message notes it rather than subtracting it)."""
    cross_price = prices.cross_zone_gb
    logs_price = prices.logs_ingestion_gb
    nlcu_hours = sum(h.nlcu for h in reading.hours)
    egress_gb = reading.egress_bytes / GB
    # Clients reach every zone's node alike; the task sits in one zone, so the other
    # zones' share crosses, and is billed out of one zone and into the other.
    crossing = (
        reading.processed_bytes / GB * (reading.zones - 1) / reading.zones
        if reading.zones > 1
        else 0.0
    )
    log_gb = reading.log_bytes / GB
    return TrafficCost(
        gigabytes=reading.total_bytes / GB,
        nlcu_hours=nlcu_hours,
        nlcu=nlcu_hours * prices.nlb_nlcu_hour,
        egress_gb=egress_gb,
        egress=egress_gb * prices.egress_gb,
        cross_zone_gb=crossing,
        cross_zone=crossing * cross_price * 2,
        log_gb=log_gb,
        logs=log_gb * logs_price,
    )


@dataclass(frozen=True, slots=True)
class PerParticipantHour:
    """Past sessions' traffic per participant-hour: the estimate ``cost`` shows."""

    sessions: int
    gigabytes: float
    dollars: float


def per_participant_hour(
    rows: Iterable[tuple[float, float, float]],
) -> PerParticipantHour | None:
    """From (GB, dollars, participant-hours) of past sessions; None without any
    session whose participants were measured."""
    measured = [r for r in rows if r[2] > 0]
    if not measured:
        return None
    hours = sum(r[2] for r in measured)
    return PerParticipantHour(
        len(measured), sum(r[0] for r in measured) / hours, sum(r[1] for r in measured) / hours
    )
