"""Every region: a start and a stop where the project ships no price table succeed,
and every cost says "unknown" with the reason instead of failing (issue 10, item 8);
where it ships one (us-east-1, eu-central-1, ap-southeast-2) the costs are that
region's (issue 14)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.config import Settings
from bot.cost import CostModel, money
from infra.aws.bootstrap import bootstrap
from infra.aws.session import AwsClients
from infra.pricing import load_prices
from tests.e2e.conftest import Platform, platform_env
from tests.support.certificates import prerequisites
from tests.support.price_list.server import RECORDED, price_list_server
from tests.support.services import wait_for

pytestmark = pytest.mark.e2e


def _regional(
    region: str, project: str, redis_url: str, emulator_url: str, tmp_path: Path
) -> Iterator[Platform]:
    settings = Settings(
        project_name=project,
        redis_url=redis_url,
        aws_endpoint_url=emulator_url,
        aws_region=region,
        domain="meet.e2e.example",
    )
    clients = AwsClients(settings)
    bootstrap(settings, clients)
    # Everything a start's preflight asks for, so only the prices can be missing.
    env = {
        **platform_env(project, redis_url, emulator_url),
        "JITSI_AWS_REGION": region,
        **prerequisites(clients, settings.domain),
    }
    p = Platform(env, settings, emulator_url, tmp_path)
    yield p
    for proc in p.workers:
        if proc.poll() is None:
            p.kill_worker(proc)


@pytest.fixture(params=["us-west-2", "sa-east-1"])
def regional(
    request: pytest.FixtureRequest, project: str, redis_url: str, emulator_url: str, tmp_path: Path
) -> Iterator[Platform]:
    yield from _regional(str(request.param), project, redis_url, emulator_url, tmp_path)


@pytest.fixture(params=["us-east-1", "eu-central-1", "ap-southeast-2"])
def priced(
    request: pytest.FixtureRequest, project: str, redis_url: str, emulator_url: str, tmp_path: Path
) -> Iterator[Platform]:
    yield from _regional(str(request.param), project, redis_url, emulator_url, tmp_path)


def test_start_and_stop_succeed_with_unknown_prices(regional: Platform) -> None:
    region = regional.settings.aws_region
    regional.start_worker()
    start = regional.say("start standup")
    assert start.code == 0, start.stdout + start.stderr
    assert start.events("url_ready")[0]["data"]["url"] == "https://meet.e2e.example/standup"
    cost = start.events("cost")[0]
    assert cost["data"]["running_hour"] is None
    assert f"no price table for region {region}" in cost["data"]["unknown_reason"]
    assert "unknown" in cost["message"].lower()
    # The resources are really in the region asked for.
    lbs = regional.clients.elbv2.describe_load_balancers()["LoadBalancers"]
    assert any(f":{region}:" in lb["LoadBalancerArn"] for lb in lbs)

    status = regional.cli("status", "--json")
    assert status.code == 0, status.stderr
    data = json.loads(status.stdout)
    assert data["state"] == "running" and data["running_cost_per_hour"] is None
    assert region in data["prices_unknown"]
    doctor = json.loads(regional.cli("doctor", "--json").stdout)
    assert doctor["ok"] is True, doctor  # missing prices never block
    shown = regional.cli("status")
    assert "Running cost: unknown per hour" in shown.stdout

    costs = regional.cli("cost", "--json")
    assert costs.code == 0, costs.stderr
    table = json.loads(costs.stdout)
    assert table["running_per_hour"] is None and table["region"] == region
    assert "unknown" in regional.say("cost").stdout.lower()

    stop = regional.say("stop")
    assert stop.code == 0, stop.stdout + stop.stderr
    assert stop.events("audit")[0]["data"]["clean"] is True
    session = [e for e in stop.events("cost") if "session_cost" in e["data"]]
    assert session and session[0]["data"]["session_cost"] is None
    assert "unknown" in session[0]["message"]

    # The worker said once, at start-up, that prices are missing for the region.
    wait_for(
        lambda: "Costs will show as unknown" in regional.worker_log(),
        timeout=10,
        what="the worker's note on prices",
    )
    assert regional.worker_log().count("Costs will show as unknown") == 1


def test_start_and_stop_cost_that_regions_prices(priced: Platform) -> None:
    region = priced.settings.aws_region
    # The emulator has no Price List API: the worker uses the bundled snapshot.
    expected = CostModel(Settings(aws_region=region), load_prices(region))
    assert expected.running_hour is not None
    priced.start_worker()
    start = priced.say("start standup")
    assert start.code == 0, start.stdout + start.stderr
    cost = start.events("cost")[0]
    assert cost["data"]["running_hour"] == pytest.approx(expected.running_hour, abs=1e-5)
    assert not cost["data"].get("unknown_reason")
    assert money(expected.running_hour) in cost["message"]
    lbs = priced.clients.elbv2.describe_load_balancers()["LoadBalancers"]
    assert any(f":{region}:" in lb["LoadBalancerArn"] for lb in lbs)

    status = json.loads(priced.cli("status", "--json").stdout)
    assert status["running_cost_per_hour"] == pytest.approx(expected.running_hour, abs=1e-5)
    listed = json.loads(priced.cli("cost", "--prices", "--json").stdout)
    assert listed["region"] == region and listed["origin"] == "snapshot"
    assert listed["fetched"] == "2026-11-30" and "NOT fetched from the API" in listed["source"]
    vcpu = next(p for p in listed["prices"] if p["price"] == "fargate_vcpu_hour")
    assert vcpu["usd"] == load_prices(region).fargate_vcpu_hour
    # Every region's x86 Fargate price is confirmed by a dated public source.
    assert vcpu["check"] == "verified" and vcpu["sources"]

    stop = priced.say("stop")
    assert stop.code == 0, stop.stdout + stop.stderr
    session = [e for e in stop.events("cost") if "session_cost" in e["data"]]
    assert session and session[0]["data"]["session_cost"] is not None
    # At least one started hour of the NLB and its addresses, at this region's prices.
    assert session[0]["data"]["session_cost"] >= expected.nlb_hour


def test_the_worker_prices_with_the_price_list_api(
    project: str, redis_url: str, emulator_url: str, tmp_path: Path
) -> None:
    """A worker that reaches a Price List endpoint caches its prices before pricing a
    start, and commands then show them with the API as their source."""
    region = "eu-central-1"
    documents = json.loads(RECORDED.read_text(encoding="utf-8"))
    for doc in documents:  # a price the snapshot does not have, to tell them apart
        if doc["product"]["attributes"]["usagetype"] == "EUC1-Fargate-vCPU-Hours:perCPU":
            for term in doc["terms"]["OnDemand"].values():
                for dim in term["priceDimensions"].values():
                    dim["pricePerUnit"]["USD"] = "0.0500000000"
    with price_list_server(documents) as server:
        platform = next(_regional(region, project, redis_url, emulator_url, tmp_path))
        platform.env["JITSI_PRICE_LIST_URL"] = server.url
        try:
            platform.start_worker()
            start = platform.say("start standup")
            assert start.code == 0, start.stdout + start.stderr
            assert server.requests, "the worker never asked the Price List API"
            api = dataclasses.replace(load_prices(region), fargate_vcpu_hour=0.05)
            expected = CostModel(Settings(aws_region=region), api).running_hour
            assert start.events("cost")[0]["data"]["running_hour"] == pytest.approx(expected)
            listed = json.loads(platform.cli("cost", "--prices", "--json").stdout)
            assert listed["origin"] == "price-list-api"
            assert listed["fetched"] == dt.datetime.now(dt.UTC).date().isoformat()
            assert listed["source"].startswith("AWS Price List API, fargate_vcpu_hour: AmazonECS")
            # The API's answer has no log storage or cross-zone price: those are defaults.
            assert {p["check"] for p in listed["prices"]} == {"price-list-api", "default"}
            stop = platform.say("stop")
            assert stop.code == 0, stop.stdout + stop.stderr
        finally:
            for proc in platform.workers:
                if proc.poll() is None:
                    platform.kill_worker(proc)
