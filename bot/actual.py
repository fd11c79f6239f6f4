"""AWS's own figures for a month (Cost Explorer) beside the bot's estimate, with the
difference explained. Pure: the figures come through ``bot.ports.SpendSource``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from bot.cost import money
from bot.errors import BotError

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
# Below this, the two agree as far as anyone should care (rounding, sub-cent items).
CLOSE_ENOUGH = 0.05


@dataclass(frozen=True, slots=True)
class ActualSpend:
    """Cost Explorer's answer for ``month`` (``YYYY-MM``), filtered by the project's tag."""

    month: str
    by_service: tuple[tuple[str, float], ...]  # (AWS service, dollars), largest first
    estimated: bool  # Cost Explorer marks the month's figures as not final
    fetched_at: float  # when AWS was asked (cached a day: each request is billed)
    tag: str  # "jitsi:project=<name>"

    @property
    def total(self) -> float:
        return sum(amount for _, amount in self.by_service)


def parse_month(text: str | None, now: float) -> str:
    """``YYYY-MM`` from the user's text, or the current UTC month; a clear error else."""
    if text is None:
        return datetime.fromtimestamp(now, UTC).strftime("%Y-%m")
    match = _MONTH.match(text.strip())
    if match is None or not 1 <= int(match.group(2)) <= 12:
        raise BotError(f"`{text[:16]}` is not a month.", "Write it as YYYY-MM, e.g. 2026-11.")
    return text.strip()


def actual_text(actual: ActualSpend, estimate: float | None, fetched: str) -> str:
    """AWS's figures, the estimate beside them, and why they differ."""
    lines = [
        f"AWS's figures for {actual.month} (Cost Explorer, tag {actual.tag}, "
        f"asked {fetched}{'; not final yet' if actual.estimated else ''}):"
    ]
    lines += [f"  {service}: {money(amount)}" for service, amount in actual.by_service]
    if not actual.by_service:
        lines.append("  nothing billed under the tag")
    lines.append(f"  total: {money(actual.total)}")
    if estimate is None:
        lines.append("The bot's estimate is unknown (no prices for the region).")
        return "\n".join(lines)
    diff = actual.total - estimate
    lines.append(f"The bot's estimate: {money(estimate)} (difference {_signed(diff)}).")
    lines.append(_why(diff, actual))
    return "\n".join(lines)


def _signed(amount: float) -> str:
    return f"+{money(amount)}" if amount >= 0 else f"-{money(-amount)}"


def _why(diff: float, actual: ActualSpend) -> str:
    if abs(diff) < CLOSE_ENOUGH:
        return "They agree to within 5 cents."
    common = (
        "Cost Explorer lags up to a day, and counts a tag only from the day it was "
        "activated as a cost-allocation tag (never before)."
    )
    if diff < 0:
        return (
            f"AWS shows less: {common} Untagged parts (the task's public IPv4 address, "
            "data transfer) are billed without the tag, so they are not in the filter."
        )
    return (
        f"AWS shows more: the estimate leaves out what it cannot see (S3 and API "
        f"requests, CloudWatch metrics and queries, Route 53 queries, taxes), and prices "
        f"a session's last minutes of traffic before CloudWatch has them. {common}"
    )
