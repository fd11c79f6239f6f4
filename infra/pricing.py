"""The price table of a region: from the Price List API (cached in Redis), else the
bundled snapshot ``infra/prices/<region>.json``, else unknown.

The API is never asked on a command's path: the worker refreshes the cache in the
background (``refresh_prices``, at most once a day), and a command only reads Redis
with a short timeout. An unknown price never blocks a start or a command.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis

from bot.cost import PriceTable
from bot.errors import BotError
from infra.keys import Keys
from infra.price_provenance import Check, PriceProvenance, parse_provenance

log = logging.getLogger(__name__)

# Shipped as package data next to this module (see pyproject's package-data).
PRICES_DIR = Path(__file__).resolve().parent / "prices"

ORIGIN_API = "price-list-api"
ORIGIN_SNAPSHOT = "snapshot"
# A price document's keys that are not prices.
NOT_PRICES = frozenset({"region", "source", "fetched", "sources", "provenance"})


@dataclass(frozen=True, slots=True)
class RegionPrices:
    """A region's price table with where it came from and when."""

    table: PriceTable
    source: str  # the filters and date of an API fetch, or the snapshot's own note
    fetched: str  # YYYY-MM-DD the figures were read (API) or transcribed (snapshot)
    origin: str  # ORIGIN_API or ORIGIN_SNAPSHOT
    extra: Mapping[str, float] = field(default_factory=dict)  # e.g. logs_ingestion_gb
    # Per price: the public sources that confirm it (hand-written snapshots); empty for
    # the API's prices, whose source is the API itself.
    provenance: Mapping[str, PriceProvenance] = field(default_factory=dict)
    # Optional prices the file lacks: the table holds the us-east-1 list price for them.
    defaulted: frozenset[str] = frozenset()

    def check(self, name: str) -> str:
        """``price-list-api``, or the snapshot's verdict on the price (``unverified``
        when the snapshot says nothing)."""
        if name in self.provenance:
            return self.provenance[name].status.value
        return "price-list-api" if self.origin == ORIGIN_API else Check.UNVERIFIED.value

    def listing(self) -> list[dict[str, object]]:
        """Each price with its source and date, for ``cost --prices``."""
        rows: list[dict[str, object]] = []
        values = {
            f: getattr(self.table, f) for f in PriceTable.__dataclass_fields__ if f != "region"
        }
        for name, value in {**values, **self.extra}.items():
            found = self.provenance.get(name)
            if name in self.defaulted:
                rows.append(
                    {
                        "price": name,
                        "usd": value,
                        "origin": "default",
                        "fetched": "",
                        "source": "not in this price table: the us-east-1 list price",
                        "check": "default",
                        "sources": [],
                        "note": "",
                    }
                )
                continue
            rows.append(
                {
                    "price": name,
                    "usd": value,
                    "origin": self.origin,
                    "fetched": self.fetched,
                    "source": self.source,
                    "check": self.check(name),
                    "sources": [s.cite() for s in found.sources] if found else [],
                    "note": found.note if found else "",
                }
            )
        return rows


def available_regions() -> list[str]:
    folder = PRICES_DIR
    return sorted(
        p.name.removesuffix(".json") for p in folder.iterdir() if p.name.endswith(".json")
    )


def unknown_reason(region: str) -> str:
    """Why the prices of ``region`` are unknown, for messages next to an unknown cost."""
    return (
        f"no price table for region {region} (infra/prices has "
        f"{', '.join(available_regions()) or 'none'})"
    )


def find_prices(region: str) -> PriceTable | None:
    """The bundled price table for ``region``, or None when none is shipped: an unknown
    price never blocks a start or a command. A table that exists but is broken raises."""
    found = snapshot_prices(region)
    return found.table if found else None


def load_prices(region: str) -> PriceTable:
    """The bundled price table for ``region``; a clear error lists the regions that have one."""
    path = PRICES_DIR / f"{region}.json"
    if not path.is_file():
        raise BotError(
            f"No price table for region {region!r}.",
            f"Set price_region to one of: {', '.join(available_regions())}, "
            f"or add infra/prices/{region}.json.",
        )
    return parse_snapshot(region, path).table


def snapshot_prices(region: str, folder: Path = PRICES_DIR) -> RegionPrices | None:
    path = folder / f"{region}.json"
    return parse_snapshot(region, path) if path.is_file() else None


def parse_snapshot(region: str, path: Path) -> RegionPrices:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError("not a JSON object")
        return _region_prices(data, ORIGIN_SNAPSHOT)
    except (ValueError, json.JSONDecodeError) as exc:
        raise BotError(
            f"Price table {region}.json is broken: {exc}",
            f"Fix or regenerate infra/prices/{region}.json (python -m infra.price_snapshot).",
        ) from exc


def _region_prices(data: Mapping[str, Any], origin: str) -> RegionPrices:
    table = PriceTable.from_mapping(data)
    source = data.get("source")
    if not isinstance(source, str) or not source:
        raise ValueError("price table: 'source' must say where the prices come from")
    fetched = str(data.get("fetched", ""))
    extra = {
        k: float(v)
        for k, v in data.items()
        if k not in PriceTable.__dataclass_fields__
        and k not in NOT_PRICES
        and isinstance(v, int | float)
        and not isinstance(v, bool)
    }
    named = [f for f in PriceTable.__dataclass_fields__ if f != "region"]
    keys = [f for f in named if f in data] + list(extra)
    provenance = parse_provenance(data, keys)
    defaulted = frozenset(f for f in named if f not in data)
    return RegionPrices(table, source, fetched, origin, extra, provenance, defaulted)


# -- the Redis cache of API prices ------------------------------------------------------


def cached_prices(client: redis.Redis, keys: Keys, region: str) -> RegionPrices | None:
    """The API prices cached for ``region``, or None (none cached, Redis away, or a
    broken entry, which is logged: the snapshot then stands in)."""
    try:
        raw = client.get(keys.prices(region))
    except (redis.RedisError, OSError) as exc:
        log.info("prices: Redis unreachable (%s); using the bundled snapshot", exc)
        return None
    if raw is None:
        return None
    try:
        return _region_prices(json.loads(raw), ORIGIN_API)
    except (ValueError, json.JSONDecodeError) as exc:
        log.warning("prices: cached %s prices are broken (%s); ignoring them", region, exc)
        return None


def current_prices(client: redis.Redis | None, keys: Keys, region: str) -> RegionPrices | None:
    """API prices cached in Redis, else the bundled snapshot, else None (unknown)."""
    cached = cached_prices(client, keys, region) if client is not None else None
    return cached or snapshot_prices(region)


def refresh_prices(
    client: redis.Redis,
    keys: Keys,
    region: str,
    pricing_client: Callable[[], Any],
    today: dt.date,
) -> str:
    """Fetch ``region``'s prices from the Price List API into Redis unless today's are
    there already. Returns what happened ("fresh", "fetched", or "failed: why"); never
    raises, since the snapshot stands in for any failure."""
    from infra.price_list import fetch_region, filters_note  # boto3 only when used

    day = today.isoformat()
    cached = cached_prices(client, keys, region)
    if cached is not None and cached.fetched == day:
        return "fresh"
    try:
        prices = fetch_region(pricing_client(), region)
        doc: dict[str, object] = {**prices, "region": region, "fetched": day}
        doc["source"] = f"AWS Price List API, {filters_note()}, fetched {day}"
        _region_prices(doc, ORIGIN_API)  # the same checks as a snapshot's
        client.set(keys.prices(region), json.dumps(doc, sort_keys=True))
    except Exception as exc:  # any failure leaves the snapshot in charge
        log.warning("prices: Price List API refresh for %s failed: %s", region, exc)
        return f"failed: {exc}"
    log.info("prices: %s prices fetched from the Price List API", region)
    return "fetched"


# How long a starting worker waits for today's prices before pricing anything with the
# snapshot (the API's own timeouts are 3 s to connect, 10 s to read).
PREFETCH_WAIT_SECONDS = 5.0
# How often the worker's refresher wakes; it fetches only when the cache is not today's.
REFRESH_CHECK_SECONDS = 6 * 3600


def start_refresher(
    refresh: Callable[[], str], stop: threading.Event, every: float = REFRESH_CHECK_SECONDS
) -> threading.Event:
    """Run ``refresh`` now and then every ``every`` seconds in a daemon thread, so the
    Price List API is never on a start's path. Returns an event set once the first
    refresh has ended (whatever its outcome), for a bounded wait at start-up."""
    first = threading.Event()

    def loop() -> None:
        while True:
            try:
                refresh()
            finally:
                first.set()
            if stop.wait(every):
                return

    threading.Thread(target=loop, name="price-refresh", daemon=True).start()
    return first
