"""When ``start at 18:45`` happens: the next such wall-clock time in the configured zone."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo


def next_at(now: float, hour: int, minute: int, zone: str) -> float:
    """Epoch seconds of the next ``hour:minute`` in ``zone`` strictly after ``now``."""
    tz = ZoneInfo(zone)
    local = datetime.fromtimestamp(now, tz)
    candidate = local.replace(hour=hour, minute=minute, second=0, microsecond=0)
    if candidate.timestamp() <= now:
        # Wall-clock arithmetic, then re-resolve the offset (a DST change in between).
        candidate = (candidate.replace(tzinfo=None) + timedelta(days=1)).replace(tzinfo=tz)
    return candidate.timestamp()


def when(at: float, now: float, zone: str) -> str:
    """``today 18:45 UTC`` / ``tomorrow 07:00 Europe/Berlin`` / a date further out."""
    tz = ZoneInfo(zone)
    moment, today = datetime.fromtimestamp(at, tz), datetime.fromtimestamp(now, tz).date()
    days = (moment.date() - today).days
    day = {0: "today", 1: "tomorrow"}.get(days, moment.strftime("%Y-%m-%d"))
    return f"{day} {moment:%H:%M} {zone}"
