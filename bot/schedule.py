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


# -- starting early ---------------------------------------------------------------
# A scheduled start begins early enough for the URL to be ready at the time asked for:
# how early is this deployment's measured time to URL (a start job's first event to its
# URL_READY, recorded per ingress by infra.ready_times), or these defaults before any
# start was measured: NLB provisioning plus target health checks take about 3 minutes
# (ARCHITECTURE.md section 5, 150 s under the emulator's field profile); a task's own
# address, about a minute.
DEFAULT_READY_SECONDS: dict[str, float] = {"nlb": 180.0, "direct": 60.0}
FALLBACK_READY_SECONDS = 180.0  # an ingress this table does not know: the slower one
READY_PERCENTILE = 90  # most starts are ready in time; the slowest tenth may be late
READY_SAMPLES = 20  # the last N starts: recent enough to follow a change of ingress setup


def percentile(samples: list[float], p: float) -> float:
    """The ``p``-th percentile of ``samples`` (nearest rank, so always one of them)."""
    if not samples:
        raise ValueError("no samples")
    ordered = sorted(samples)
    rank = max(1, -(-len(ordered) * p // 100))  # ceil(n * p / 100), at least the first
    return ordered[int(rank) - 1]


def ready_seconds(samples: list[float], ingress: str) -> float:
    """How long a start takes to its URL here: the 90th percentile of the measured starts,
    or the ingress's default while none was measured."""
    if samples:
        return percentile(samples, READY_PERCENTILE)
    return DEFAULT_READY_SECONDS.get(ingress, FALLBACK_READY_SECONDS)


def begin_at(at: float, lead: float, now: float) -> float:
    """When a start must begin to be ready at ``at``: ``lead`` earlier, on a whole minute
    (people read minutes), never before ``now``."""
    begin = (at - lead) // 60 * 60
    return max(begin, now)


def early_text(begin: float, at: float, now: float, zone: str) -> str:
    """``starts 09:57 so the meeting is ready at 10:00``, or ``starts now``."""
    tz = ZoneInfo(zone)
    ready = f"{datetime.fromtimestamp(at, tz):%H:%M}"
    if begin <= now:
        return f"starts now so the meeting is ready at {ready}"
    return f"starts {datetime.fromtimestamp(begin, tz):%H:%M} so the meeting is ready at {ready}"
