"""`cost actual`: Cost Explorer's answer (seeded into moto through its
``/moto-api/static/ce/cost-and-usage-results`` queue, as a recorded answer) beside the
estimate, cached a day in Redis; the doctor's non-blocking cost-allocation finding."""

from __future__ import annotations

import json
import urllib.request
from datetime import UTC, date, datetime

import pytest
import redis

from bot.actual import actual_text
from bot.commands import Cost, parse
from bot.config import Settings
from bot.errors import CommandError
from infra.aws.cost_explorer import CostExplorerSpend, cost_tag_finding, period
from infra.aws.session import AwsClients
from infra.keys import Keys
from tests.support.aws import Endpoint
from tests.support.clocks import FakeClock

NOV_20 = datetime(2026, 11, 20, 12, tzinfo=UTC).timestamp()
RECORDED = {
    "ResultsByTime": [
        {
            "TimePeriod": {"Start": "2026-11-01", "End": "2026-11-21"},
            "Total": {},
            "Groups": [
                {
                    "Keys": ["Amazon Elastic Container Service"],
                    "Metrics": {"UnblendedCost": {"Amount": "3.1200000000", "Unit": "USD"}},
                },
                {
                    "Keys": ["Amazon Elastic Load Balancing"],
                    "Metrics": {"UnblendedCost": {"Amount": "0.4500000000", "Unit": "USD"}},
                },
                {
                    "Keys": ["Amazon Route 53"],
                    "Metrics": {"UnblendedCost": {"Amount": "0.5000000000", "Unit": "USD"}},
                },
            ],
            "Estimated": True,
        }
    ],
    "DimensionValueAttributes": [],
}


def _seed(endpoint: Endpoint, result: dict[str, object]) -> None:
    req = urllib.request.Request(
        f"{endpoint.url}/moto-api/static/ce/cost-and-usage-results",
        data=json.dumps({"results": [result]}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        assert resp.status == 201


def test_actual_spend_beside_the_estimate_cached_a_day(
    aws_endpoint: Endpoint, settings: Settings, clients: AwsClients, redis_client: redis.Redis
) -> None:
    _seed(aws_endpoint, RECORDED)
    spend = CostExplorerSpend(
        settings, clients, redis_client, Keys(settings.project_name), FakeClock(start=NOV_20)
    )
    actual = spend.actual("2026-11")
    assert actual.by_service[0] == ("Amazon Elastic Container Service", 3.12)
    assert actual.total == pytest.approx(4.07) and actual.estimated
    assert actual.tag == f"jitsi:project={settings.project_name}"
    asked = clients.counter.snapshot().get("ce.GetCostAndUsage", 0)
    assert asked == 1
    assert spend.actual("2026-11") == actual  # from Redis: no second billed request
    assert clients.counter.snapshot().get("ce.GetCostAndUsage", 0) == 1
    ttl = redis_client.ttl(Keys(settings.project_name).cost_actual("2026-11"))
    assert 86_000 < ttl <= 86_400

    text = actual_text(actual, 3.50, "2026-11-20 12:00 UTC")
    assert "Amazon Elastic Container Service: $3.12" in text and "total: $4.07" in text
    assert "The bot's estimate: $3.50 (difference +$0.570)." in text
    assert "AWS shows more" in text and "not final yet" in text


def test_period_ends_tomorrow_in_the_current_month() -> None:
    assert period("2026-11", date(2026, 11, 20)) == ("2026-11-01", "2026-11-21")
    assert period("2026-10", date(2026, 11, 20)) == ("2026-10-01", "2026-11-01")
    assert period("2026-12", date(2027, 1, 5)) == ("2026-12-01", "2027-01-01")


def test_the_chat_command_parses() -> None:
    assert parse("cost actual") == Cost("actual", None)
    assert parse("cost actual 2026-11") == Cost("actual", "2026-11")
    assert parse("cost") == Cost()
    for bad in ("cost actual 2026-13", "cost foo", "cost actual 2026-11 x"):
        with pytest.raises(CommandError):
            parse(bad)


def test_doctor_says_how_to_activate_the_tag(settings: Settings, clients: AwsClients) -> None:
    finding = cost_tag_finding(settings, clients)
    assert not finding.blocking
    assert "update-cost-allocation-tags-status" in finding.fix
