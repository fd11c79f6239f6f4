"""Where today's prices come from, for ``jitsi-bot doctor``: the Price List API's,
cached in Redis by the worker, with the day they were fetched; else the bundled
snapshot with its date (a warning once it is old); else unknown for the region.

Never blocking: a start goes ahead with any prices, or none (costs then read unknown).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from bot.errors import BotError
from bot.model import Finding
from infra.pricing import PRICES_DIR, RegionPrices, snapshot_prices, unknown_reason

CHECK = "prices"
# AWS changes list prices a few times a year; past this a bundled snapshot may be wrong.
SNAPSHOT_MAX_AGE_DAYS = 90
# The worker refreshes the cache daily; older means it has not reached the API since.
CACHE_MAX_AGE_DAYS = 2
REFRESH_FIX = (
    "Let the worker reach the Price List API (pricing:GetProducts; price_list_url not "
    "'off'): it refreshes the cache daily. Or regenerate the snapshot: "
    "python -m infra.price_snapshot {region} (docs/costs.md)."
)


def price_source_finding(
    region: str,
    cached: RegionPrices | None,
    today: dt.date,
    *,
    api_off: bool = False,
    folder: Path = PRICES_DIR,
) -> Finding:
    """What prices ``region``'s costs use today (``cached``: the API's from Redis, or
    None); a warning, never blocking, when they are old, broken or unknown."""
    fix = REFRESH_FIX.format(region=region)
    if cached is not None:
        age = _age(cached.fetched, today)
        detail = f"{region}: AWS Price List API prices cached in Redis, fetched {cached.fetched}"
        if age is None or age > CACHE_MAX_AGE_DAYS:
            return Finding(
                CHECK,
                False,
                f"{detail}; not refreshed for {_days(age)}: the worker has not reached the "
                "Price List API since.",
                fix,
                blocking=False,
            )
        return Finding(CHECK, True, f"{detail}.")
    path = folder / f"{region}.json"
    try:
        snapshot = snapshot_prices(region, folder)
    except BotError as exc:
        return Finding(
            CHECK,
            False,
            f"{region}: no Price List API prices in Redis, and the bundled snapshot {path.name} "
            f"is broken ({exc}): costs will show as unknown.",
            exc.hint or fix,
            blocking=False,
        )
    api = (
        "price_list_url is off, so the snapshot is all there is"
        if api_off
        else "no Price List API prices cached in Redis yet: the worker fetches them daily"
    )
    if snapshot is None:
        return Finding(
            CHECK,
            False,
            f"costs will show as unknown: {unknown_reason(region)}; {api}.",
            f"Let the worker fetch {region}'s prices from the Price List API, add "
            f"infra/prices/{region}.json (python -m infra.price_snapshot {region}) or set "
            "price_region to a region with similar prices.",
            blocking=False,  # an unknown price never blocks a start
        )
    age = _age(snapshot.fetched, today)
    detail = f"{region}: the bundled snapshot {path.name} of {snapshot.fetched or 'no date'}"
    if age is None or age > SNAPSHOT_MAX_AGE_DAYS:
        return Finding(
            CHECK,
            False,
            f"{detail}, {_days(age)} old (over {SNAPSHOT_MAX_AGE_DAYS}): prices may have "
            f"changed since; {api}.",
            fix,
            blocking=False,
        )
    return Finding(CHECK, True, f"{detail} ({_days(age)} old); {api}.")


def _age(fetched: str, today: dt.date) -> int | None:
    """Days since ``fetched`` (YYYY-MM-DD); None when it is no date."""
    try:
        return (today - dt.date.fromisoformat(fetched)).days
    except ValueError:
        return None


def _days(age: int | None) -> str:
    if age is None:
        return "an unknown time (no date)"
    return "1 day" if age == 1 else f"{age} days"
