"""Write the bundled price snapshots ``infra/prices/<region>.json`` from the Price List API.

    python -m infra.price_snapshot --date 2026-11-30 us-east-1 eu-central-1 ap-southeast-2

The same calls as the run-time refresh (``infra.price_list``); the output depends only on
the API's answers and ``--date`` (sorted keys, fixed rounding), so the tests run it
against recorded answers and compare bytes. ``--endpoint-url`` points it at another
Price List endpoint (the tests' recorded one).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

from infra.price_list import PRICING_ENDPOINT_REGIONS, fetch_region, filters_note
from infra.pricing import PRICES_DIR

# A price never has more than 10 significant decimals in the Price List.
DIGITS = 10


def pricing_client(endpoint_url: str | None = None, region: str = "us-east-1") -> Any:
    """A ``pricing`` client with short timeouts: a slow API never holds anything up."""
    config = Config(connect_timeout=3, read_timeout=10, retries={"max_attempts": 2})
    return boto3.client("pricing", region_name=region, endpoint_url=endpoint_url, config=config)


def snapshot(client: Any, region: str, fetched: str) -> dict[str, object]:
    """The snapshot document of ``region`` (what ``render`` writes)."""
    prices = fetch_region(client, region)
    doc: dict[str, object] = {k: round(v, DIGITS) for k, v in prices.items()}
    doc["region"] = region
    doc["fetched"] = fetched
    doc["source"] = f"AWS Price List API, {filters_note()}, fetched {fetched}"
    return doc


def render(doc: dict[str, object]) -> str:
    return json.dumps(doc, indent=2, sort_keys=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else "")
    parser.add_argument("regions", nargs="+")
    parser.add_argument("--date", default=dt.datetime.now(dt.UTC).date().isoformat())
    parser.add_argument("--endpoint-url")
    parser.add_argument("--pricing-region", default="us-east-1", choices=PRICING_ENDPOINT_REGIONS)
    parser.add_argument("--out", type=Path, default=PRICES_DIR)
    args = parser.parse_args(argv)
    client = pricing_client(args.endpoint_url, args.pricing_region)
    for region in args.regions:
        path = args.out / f"{region}.json"
        path.write_text(render(snapshot(client, region, args.date)), encoding="utf-8")
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
