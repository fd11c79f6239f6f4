"""Prices from the AWS Price List API: the parser on recorded answers, the snapshot
generator's determinism, the Redis cache and its fallbacks, and broken price files.

The recorded answers (tests/support/price_list/products.json) are price documents in the
API's aws_v1 format, served by a local endpoint that speaks the API's JSON protocol to
the real boto3 ``pricing`` client (moto has no Price List service)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from bot.errors import BotError
from infra import price_snapshot
from infra.keys import Keys
from infra.price_list import (
    QUERIES,
    PriceListError,
    fetch_region,
    on_demand_price,
    pick_price,
    usagetype_matches,
)
from infra.pricing import (
    ORIGIN_API,
    ORIGIN_SNAPSHOT,
    PRICES_DIR,
    cached_prices,
    current_prices,
    load_prices,
    parse_snapshot,
    refresh_prices,
    snapshot_prices,
)
from tests.support.price_list.server import RECORDED, PriceListServer, price_list_server

RECORDED_DOCS: list[dict[str, Any]] = json.loads(RECORDED.read_text(encoding="utf-8"))
# Real AWS price documents (AmazonECS, us-east-1, Price List version of 2025-08-28), in
# GetProducts' document format; where they come from is in the file's "source".
AWS_ECS = (
    Path(__file__).resolve().parents[1] / "support" / "price_list" / "ecs_us_east_1_2025_08.json"
)


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[PriceListServer]:
    # botocore signs every request; the local endpoint ignores the signature.
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with price_list_server() as s:
        yield s


def test_usage_types_match_with_or_without_the_regional_prefix() -> None:
    assert usagetype_matches("Fargate-GB-Hours", "Fargate-GB-Hours")
    assert usagetype_matches("APS2-Fargate-GB-Hours", "Fargate-GB-Hours")
    assert not usagetype_matches("Fargate-ARM-GB-Hours", "Fargate-GB-Hours")
    assert not usagetype_matches("EUC1-Fargate-ARM-GB-Hours", "Fargate-GB-Hours")
    assert not usagetype_matches("USE1-PublicIPv4:IdleAddress", "PublicIPv4:InUseAddress")


def test_the_first_paid_tier_is_the_price() -> None:
    egress = next(
        d for d in RECORDED_DOCS if d["serviceCode"] == "AWSDataTransfer"
    )  # tiers 0-1 GB free, then 0.09, 0.085, 0.07
    assert on_demand_price(egress) == 0.09
    zone = next(d for d in RECORDED_DOCS if d["product"]["productFamily"] == "DNS Zone")
    assert on_demand_price(zone) == 0.5  # not the 0.10 of zones past 25
    with pytest.raises(PriceListError, match="no on-demand USD price"):
        on_demand_price({"product": {"sku": "X"}, "terms": {}})


def test_pick_price_refuses_nothing_or_several() -> None:
    vcpu = next(q for q in QUERIES if q.key == "fargate_vcpu_hour")
    ecs = [d for d in RECORDED_DOCS if d["serviceCode"] == "AmazonECS"]
    with pytest.raises(PriceListError, match="Several prices for fargate_vcpu_hour"):
        pick_price(vcpu, ecs)  # two regions' documents: the filters were too wide
    with pytest.raises(PriceListError, match="matched nothing"):
        pick_price(vcpu, [])


def test_every_price_of_a_region_through_the_real_client(server: PriceListServer) -> None:
    prices = fetch_region(price_snapshot.pricing_client(server.url), "eu-central-1")
    assert prices == {
        "fargate_vcpu_hour": 0.04656,
        "fargate_gb_hour": 0.00511,
        "fargate_arm_vcpu_hour": 0.03725,
        "fargate_arm_gb_hour": 0.00409,
        "nlb_hour": 0.027,
        "nlb_nlcu_hour": 0.0075,
        "public_ipv4_hour": 0.005,
        "route53_zone_month": 0.5,
        "s3_gb_month": 0.0245,
        "egress_gb": 0.09,
        "nat_gateway_hour": 0.052,
        "logs_ingestion_gb": 0.63,
    }
    # One GetProducts per distinct (service, filters), paged (the endpoint pages by 2).
    asked = {(r["ServiceCode"], json.dumps(r["Filters"])) for r in server.requests}
    assert len(asked) == 8
    assert len(server.requests) > len(asked)  # NextToken followed
    assert {
        "Type": "TERM_MATCH",
        "Field": "regionCode",
        "Value": "eu-central-1",
    } in server.requests[0]["Filters"]


def test_the_snapshot_generator_is_deterministic(server: PriceListServer, tmp_path: Path) -> None:
    one, two = tmp_path / "one", tmp_path / "two"
    for out in (one, two):
        out.mkdir()
        args = ["--endpoint-url", server.url, "--date", "2026-11-30", "--out", str(out)]
        assert price_snapshot.main([*args, "us-east-1", "eu-central-1"]) == 0
    for name in ("us-east-1.json", "eu-central-1.json"):
        assert (one / name).read_bytes() == (two / name).read_bytes()
    made = parse_snapshot("us-east-1", one / "us-east-1.json")
    assert made.fetched == "2026-11-30"
    assert made.source.startswith("AWS Price List API, fargate_vcpu_hour: AmazonECS[")
    assert made.source.endswith("fetched 2026-11-30")
    assert made.extra == {} and made.table.logs_ingestion_gb == 0.5
    # The recorded us-east-1 answers give the bundled snapshot's figures.
    assert made.table == load_prices("us-east-1")


def test_real_aws_price_documents_give_the_fargate_prices(monkeypatch: pytest.MonkeyPatch) -> None:
    """AWS's own AmazonECS documents, where the x86 products carry no cpuArchitecture and
    Windows, ephemeral storage and ECS Anywhere share the Fargate words: the usage-type
    suffix still picks exactly the four Linux prices, and they are the snapshot's."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    recorded = json.loads(AWS_ECS.read_text(encoding="utf-8"))
    assert "opencost/opencost@" in recorded["source"]
    ecs = [q for q in QUERIES if q.service_code == "AmazonECS"]
    with price_list_server(recorded["documents"]) as s:
        prices = fetch_region(price_snapshot.pricing_client(s.url), "us-east-1", ecs)
    assert prices == {
        "fargate_vcpu_hour": 0.04048,
        "fargate_gb_hour": 0.004445,
        "fargate_arm_vcpu_hour": 0.03238,
        "fargate_arm_gb_hour": 0.00356,
    }
    bundled = load_prices("us-east-1")
    assert prices == {k: getattr(bundled, k) for k in prices}


# Prices no public source was found for (docs/costs.md lists the same).
UNVERIFIED = {
    "us-east-1": set(),
    "eu-central-1": {
        "fargate_arm_vcpu_hour",
        "fargate_arm_gb_hour",
        "nlb_hour",
        "nlb_nlcu_hour",
        "s3_gb_month",
        "nat_gateway_hour",
        "logs_ingestion_gb",
    },
    "ap-southeast-2": {
        "nlb_hour",
        "nlb_nlcu_hour",
        "s3_gb_month",
        "nat_gateway_hour",
        "logs_ingestion_gb",
    },
}


def test_the_bundled_snapshots_say_where_they_come_from() -> None:
    for region in ("us-east-1", "eu-central-1", "ap-southeast-2"):
        found = snapshot_prices(region)
        assert found is not None and found.origin == ORIGIN_SNAPSHOT
        assert found.table.region == region and found.fetched == "2026-11-30"
        assert "NOT fetched from the API" in found.source
        rows = {str(r["price"]): r for r in found.listing()}
        # Every price the file holds says where it comes from; the rest are defaults.
        assert set(found.provenance) == set(rows) - found.defaulted
        assert {r["check"] for n, r in rows.items() if n in found.defaulted} <= {"default"}
        unverified = {k for k, r in rows.items() if r["check"] == "unverified"}
        assert unverified == UNVERIFIED[region], region
        for name, row in rows.items():
            if name in found.defaulted:
                continue
            if name in unverified:
                assert row["note"] and not row["sources"]
            else:
                assert row["check"] == "verified" and row["sources"], name
                assert all(str(c).endswith(")") and "(20" in str(c) for c in row["sources"])
        doc = json.loads((PRICES_DIR / f"{region}.json").read_text(encoding="utf-8"))
        cited = {i for e in doc["provenance"].values() for i in e.get("sources", [])}
        assert cited == set(doc["sources"])  # no source listed that no price uses
    assert snapshot_prices("sa-east-1") is None


def test_a_snapshot_without_provenance_is_unverified(tmp_path: Path) -> None:
    doc = json.loads((PRICES_DIR / "us-east-1.json").read_text(encoding="utf-8"))
    path = tmp_path / "xx-test-1.json"
    path.write_text(
        json.dumps({k: v for k, v in doc.items() if k not in ("sources", "provenance")})
    )
    bare = parse_snapshot("xx-test-1", path)
    assert bare.provenance == {} and bare.table == load_prices("us-east-1")
    assert {r["check"] for r in bare.listing()} == {"unverified"}


def test_broken_price_files_give_a_clear_error(tmp_path: Path) -> None:
    good = json.loads((PRICES_DIR / "us-east-1.json").read_text(encoding="utf-8"))
    prov, sources = good["provenance"], good["sources"]
    some = next(iter(sources))

    def with_prov(key: str, entry: object) -> str:
        return json.dumps(good | {"provenance": prov | {key: entry}})

    cases = {
        "not json {": "is broken",
        json.dumps([1, 2]): "not a JSON object",
        json.dumps({k: v for k, v in good.items() if k != "nlb_hour"}): "missing key 'nlb_hour'",
        json.dumps(good | {"egress_gb": "0.09"}): "'egress_gb' must be a non-negative number",
        json.dumps({k: v for k, v in good.items() if k != "source"}): "'source' must say",
        # Provenance, when present, must be whole and name real sources with dates.
        json.dumps(good | {"provenance": [1]}): "'provenance' must be an object",
        json.dumps({k: v for k, v in good.items() if k != "provenance"}): "'provenance' must be",
        json.dumps(good | {"sources": "infracost"}): "'sources' must be an object",
        json.dumps(good | {"sources": sources | {some: {"ref": "x", "date": "2026"}}}): (
            f"sources[{some!r}].date must be YYYY-MM-DD"
        ),
        json.dumps(good | {"sources": sources | {some: {"date": "2026-01-01"}}}): (
            f"sources[{some!r}].ref must be a non-empty string"
        ),
        json.dumps(good | {"sources": sources | {some: "x"}}): "must be an object with 'ref'",
        json.dumps(good | {"provenance": {k: v for k, v in prov.items() if k != "nlb_hour"}}): (
            "says nothing about ['nlb_hour']"
        ),
        with_prov("alb_hour", {"status": "verified", "sources": [some]}): "names prices the table",
        with_prov("nlb_hour", {"status": "checked"}): "status must be one of verified",
        with_prov("nlb_hour", "verified"): "must be an object with 'status'",
        with_prov("nlb_hour", {"status": "verified", "sources": ["nowhere"]}): "unknown sources",
        with_prov("nlb_hour", {"status": "verified", "sources": some}): "must be a list",
        with_prov("nlb_hour", {"status": "verified"}): "must cite a source",
        with_prov("nlb_hour", {"status": "unverified"}): "must say why in 'note'",
        with_prov("nlb_hour", {"status": "unverified", "note": 3}): "note must be a non-empty",
    }
    for text, message in cases.items():
        path = tmp_path / "xx-test-1.json"
        path.write_text(text, encoding="utf-8")
        with pytest.raises(BotError, match=r"Price table xx-test-1\.json is broken") as err:
            parse_snapshot("xx-test-1", path)
        assert message in str(err.value), (text, str(err.value))


def test_api_prices_are_cached_daily_and_fall_back_to_the_snapshot(
    server: PriceListServer, redis_client: redis.Redis, project: str
) -> None:
    keys = Keys(project)
    client = price_snapshot.pricing_client(server.url)
    today = dt.date(2026, 11, 30)
    # Nothing cached: the snapshot.
    assert current_prices(redis_client, keys, "eu-central-1") == snapshot_prices("eu-central-1")
    assert refresh_prices(redis_client, keys, "eu-central-1", lambda: client, today) == "fetched"
    cached = cached_prices(redis_client, keys, "eu-central-1")
    assert cached is not None and cached.origin == ORIGIN_API and cached.fetched == "2026-11-30"
    assert {r["check"] for r in cached.listing()} == {"price-list-api", "default"}
    assert current_prices(redis_client, keys, "eu-central-1") == cached
    # At most daily: the same day asks nothing.
    asked = len(server.requests)
    assert refresh_prices(redis_client, keys, "eu-central-1", lambda: client, today) == "fresh"
    assert len(server.requests) == asked

    # A failing API the next day keeps yesterday's prices and says why.
    def broken() -> Any:
        raise OSError("no route to pricing.us-east-1.amazonaws.com")

    outcome = refresh_prices(redis_client, keys, "eu-central-1", broken, today + dt.timedelta(1))
    assert outcome.startswith("failed: no route")
    assert cached_prices(redis_client, keys, "eu-central-1") == cached
    # A region the API has no answer for: the failure is reported, nothing cached.
    assert refresh_prices(redis_client, keys, "sa-east-1", lambda: client, today).startswith(
        "failed: No price for fargate_vcpu_hour"
    )
    assert current_prices(redis_client, keys, "sa-east-1") is None
    # A broken cache entry is ignored in favour of the snapshot.
    redis_client.set(keys.prices("eu-central-1"), "{broken")
    assert current_prices(redis_client, keys, "eu-central-1") == snapshot_prices("eu-central-1")
    # Redis away: the snapshot, at once.
    away = redis.Redis(port=1, socket_connect_timeout=0.5)
    assert current_prices(away, keys, "ap-southeast-2") == snapshot_prices("ap-southeast-2")


def test_cost_prices_lists_each_price_or_says_why_unknown(
    redis_url: str, project: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from adapters.prices_cmd import prices
    from adapters.wiring import App
    from bot.config import Settings

    sydney = App(Settings(project_name=project, redis_url=redis_url, aws_region="ap-southeast-2"))
    assert prices(sydney, as_json=False) == 0
    shown = capsys.readouterr().out
    assert "Prices: ap-southeast-2" in shown and "0.04856" in shown and "2026-11-30" in shown
    assert "NOT fetched from the API" in shown
    # Each price's check and public source, and the unverified ones named.
    assert "verified" in shown
    assert "Unverified (no public source found; see docs/costs.md): nlb_hour" in shown
    assert prices(sydney, as_json=True) == 0
    rows = {r["price"]: r for r in json.loads(capsys.readouterr().out)["prices"]}
    assert rows["fargate_arm_vcpu_hour"]["check"] == "verified"
    assert any(
        "umccr/holmes" in c and c.endswith("(2023-02-20)")
        for c in rows["fargate_arm_vcpu_hour"]["sources"]
    )
    assert rows["nlb_hour"]["check"] == "unverified" and rows["nlb_hour"]["note"]
    nowhere = App(Settings(project_name=project, redis_url=redis_url, aws_region="sa-east-1"))
    assert prices(nowhere, as_json=True) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["prices"] == [] and "no price table for region sa-east-1" in data["prices_unknown"]
