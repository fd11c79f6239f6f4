"""``jitsi-bot cost --prices``: each price of the configured region with its source and date."""

from __future__ import annotations

import json
import sys

from rich.table import Table

from adapters.console.term import terminal
from adapters.wiring import App
from infra.pricing import unknown_reason

EXIT_OK = 0


def prices(app: App, as_json: bool) -> int:
    region = app.settings.price_region
    found = app.region_prices
    if as_json:
        data: dict[str, object] = {
            "region": region,
            "prices_unknown": None if found else unknown_reason(region),
            "origin": found.origin if found else None,
            "fetched": found.fetched if found else None,
            "source": found.source if found else None,
            "prices": found.listing() if found else [],
        }
        print(json.dumps(data, indent=2, sort_keys=True))
        return EXIT_OK
    console = terminal(soft_wrap=not sys.stdout.isatty())
    if found is None:
        console.print(f"Prices unknown: {unknown_reason(region)}.")
        return EXIT_OK
    table = Table(
        "price",
        "USD",
        "from",
        "date",
        "check",
        "public source (its date)",
        title=f"Prices: {region}",
    )
    rows = found.listing()
    for row in rows:
        cited = row["sources"]
        shown = "; ".join(str(c) for c in cited) if isinstance(cited, list) and cited else "-"
        table.add_row(
            str(row["price"]),
            f"{row['usd']:g}",
            str(row["origin"]),
            str(row["fetched"]),
            str(row["check"]),
            shown,
        )
    console.print(table)
    console.print(f"Source: {found.source}")
    unverified = [str(r["price"]) for r in rows if r["check"] == "unverified"]
    if unverified:
        console.print(
            f"Unverified (no public source found; see docs/costs.md): {', '.join(unverified)}"
        )
    return EXIT_OK
