"""``doctor``'s prices check: where today's prices come from (the Price List API's,
cached in Redis, with their date; the bundled snapshot with its date, a warning once it
is over 90 days old; or unknown for the region), never blocking a start."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import redis

from infra.keys import Keys
from infra.price_source import price_source_finding
from infra.pricing import PRICES_DIR, cached_prices

TODAY = dt.date(2026, 11, 30)


def snapshot(folder: Path, region: str, **changes: object) -> Path:
    """A copy of the bundled us-east-1 snapshot under ``region``, with ``changes``."""
    doc = json.loads((PRICES_DIR / "us-east-1.json").read_text(encoding="utf-8"))
    doc.update(region=region, **changes)
    doc = {k: v for k, v in doc.items() if v is not None}
    path = folder / f"{region}.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


def test_api_prices_cached_in_redis_are_named_with_their_date(
    redis_client: redis.Redis, project: str, tmp_path: Path
) -> None:
    keys = Keys(project)
    doc = json.loads((PRICES_DIR / "eu-central-1.json").read_text(encoding="utf-8"))
    doc.update(fetched="2026-11-29", source="AWS Price List API, filters, fetched 2026-11-29")
    redis_client.set(keys.prices("eu-central-1"), json.dumps(doc))
    cached = cached_prices(redis_client, keys, "eu-central-1")
    # The API's prices win over a broken snapshot of the same region.
    (tmp_path / "eu-central-1.json").write_text("{broken", encoding="utf-8")
    found = price_source_finding("eu-central-1", cached, TODAY, folder=tmp_path)
    assert found.ok, found
    assert found.detail == (
        "eu-central-1: AWS Price List API prices cached in Redis, fetched 2026-11-29."
    )
    # The worker stopped refreshing them: still used, but said.
    stale = price_source_finding("eu-central-1", cached, dt.date(2026, 12, 9), folder=tmp_path)
    assert not stale.ok and not stale.blocking
    assert "not refreshed for 10 days" in stale.detail and "pricing:GetProducts" in stale.fix


def test_the_bundled_snapshot_with_its_date() -> None:
    found = price_source_finding("us-east-1", None, TODAY)
    assert found.ok, found
    assert "the bundled snapshot us-east-1.json of 2026-11-30 (0 days old)" in found.detail
    assert "the worker fetches them daily" in found.detail
    off = price_source_finding("us-east-1", None, TODAY, api_off=True)
    assert "price_list_url is off" in off.detail


def test_an_old_snapshot_warns_without_blocking(tmp_path: Path) -> None:
    snapshot(tmp_path, "us-east-1", fetched="2026-08-01")
    found = price_source_finding("us-east-1", None, TODAY, folder=tmp_path)
    assert not found.ok and not found.blocking
    assert "of 2026-08-01, 121 days old (over 90): prices may have changed" in found.detail
    assert "python -m infra.price_snapshot us-east-1" in found.fix
    # 90 days is still fine.
    snapshot(tmp_path, "us-east-1", fetched="2026-09-01")
    assert price_source_finding("us-east-1", None, TODAY, folder=tmp_path).ok


def test_a_snapshot_without_a_date_warns(tmp_path: Path) -> None:
    for fetched in (None, "checked 2026-11", ""):
        snapshot(tmp_path, "us-east-1", fetched=fetched)
        found = price_source_finding("us-east-1", None, TODAY, folder=tmp_path)
        assert not found.ok and not found.blocking, fetched
        assert "an unknown time (no date)" in found.detail


def test_a_malformed_snapshot_warns_without_blocking(tmp_path: Path) -> None:
    for text in ("{broken", "[]", json.dumps({"fargate_vcpu_hour": 0.04})):
        (tmp_path / "us-east-1.json").write_text(text, encoding="utf-8")
        found = price_source_finding("us-east-1", None, TODAY, folder=tmp_path)
        assert not found.ok and not found.blocking, text
        assert "the bundled snapshot us-east-1.json is broken" in found.detail
        assert "costs will show as unknown" in found.detail
        assert "python -m infra.price_snapshot" in found.fix
    snapshot(tmp_path, "us-east-1", source=None)  # no source: not trusted either
    assert "broken" in price_source_finding("us-east-1", None, TODAY, folder=tmp_path).detail


def test_an_unknown_region_warns_without_blocking() -> None:
    found = price_source_finding("sa-east-1", None, TODAY)
    assert not found.ok and not found.blocking
    assert found.detail.startswith("costs will show as unknown: no price table for region")
    assert "region sa-east-1 (infra/prices has" in found.detail
    assert "us-east-1" in found.detail  # the regions that have one
    assert "python -m infra.price_snapshot sa-east-1" in found.fix
