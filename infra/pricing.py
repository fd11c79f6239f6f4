"""Loading the price table of a region from ``infra/prices/<region>.json``."""

from __future__ import annotations

import json
from pathlib import Path

from bot.cost import PriceTable
from bot.errors import BotError

# Shipped as package data next to this module (see pyproject's package-data).
PRICES_DIR = Path(__file__).resolve().parent / "prices"


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
    """The price table for ``region``, or None when none is shipped: an unknown price
    never blocks a start or a command. A table that exists but is broken still raises."""
    if not (PRICES_DIR / f"{region}.json").is_file():
        return None
    return load_prices(region)


def load_prices(region: str) -> PriceTable:
    """The price table for ``region``; a clear error lists the regions that have one."""
    path = PRICES_DIR / f"{region}.json"
    if not path.is_file():
        raise BotError(
            f"No price table for region {region!r}.",
            f"Set price_region to one of: {', '.join(available_regions())}, "
            f"or add infra/prices/{region}.json.",
        )
    try:
        return PriceTable.from_mapping(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, json.JSONDecodeError) as exc:
        raise BotError(f"Price table {region}.json is broken: {exc}") from exc
