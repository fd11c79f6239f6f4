"""Month to date counts the running session so far and projects the month's end."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

from adapters.wiring import App
from bot.budget import check_start
from bot.config import Settings
from bot.cost import CostModel, PriceTable, money, month_fraction, month_to_date
from bot.state import PlatformState, PlatformStatus
from tests.support.clocks import FakeClock

PRICES = PriceTable(
    region="test-1",
    fargate_vcpu_hour=0.04048,
    fargate_gb_hour=0.004445,
    fargate_arm_vcpu_hour=0.03238,
    fargate_arm_gb_hour=0.00356,
    nlb_hour=0.0225,
    nlb_nlcu_hour=0.006,
    public_ipv4_hour=0.005,
    route53_zone_month=0.5,
    s3_gb_month=0.023,
    egress_gb=0.09,
    nat_gateway_hour=0.045,
)
NOV_11 = datetime(2026, 11, 11, tzinfo=UTC).timestamp()  # a third of November passed


def test_running_session_counts_so_far() -> None:
    costs = CostModel(Settings(), PRICES)
    mtd = month_to_date(costs, (2.0, 0.5), NOV_11 - 5400, NOV_11)
    assert mtd.running_hours == pytest.approx(1.5)
    assert mtd.hours == pytest.approx(3.5)
    # 90 minutes: 1.5 h of the task per second, two started hours of NLB + 3 addresses.
    by_hand = 1.5 * (4 * 0.04048 + 8 * 0.004445) + 2 * (0.0225 + 3 * 0.005)
    assert mtd.cost == pytest.approx(0.5 + by_hand, abs=1e-9)
    assert round(by_hand, 3) == 0.371  # docs/costs.md's worked example


def test_projection_scales_by_the_month_passed() -> None:
    costs = CostModel(Settings(), PRICES)
    assert month_fraction(NOV_11) == pytest.approx(1 / 3)
    mtd = month_to_date(costs, (10.0, 3.0), None, NOV_11)
    assert mtd.running_hours == 0
    assert mtd.projected == pytest.approx(3.0 * 3 + 10 * 0.023, abs=1e-9)


def test_session_from_last_month_counts_from_the_first() -> None:
    costs = CostModel(Settings(), PRICES)
    first = datetime(2026, 12, 1, tzinfo=UTC).timestamp()
    mtd = month_to_date(costs, (0.0, 0.0), first - 7200, first + 1800)
    assert mtd.running_hours == pytest.approx(0.5)


def test_unknown_prices_keep_hours() -> None:
    costs = CostModel(Settings(), None)
    mtd = month_to_date(costs, (1.0, 0.0), NOV_11 - 3600, NOV_11)
    assert mtd.hours == pytest.approx(2.0) and mtd.cost is None and mtd.projected is None


def test_budget_uses_the_same_figure() -> None:
    settings = Settings(budget={"monthly": 1.0})
    costs = CostModel(settings, PRICES)
    mtd = month_to_date(costs, (0.0, 0.5), NOV_11 - 5400, NOV_11)  # 0.5 + 0.371 so far
    assert not check_start(settings, costs, mtd.cost_or_zero, "u", False).allowed
    assert check_start(settings, costs, 0.5, "u", False).allowed


def test_app_home_figure_is_costs_with_the_running_session(redis_url: str, project: str) -> None:
    """The chat glance (Slack's App Home) and ``cost`` read one month-to-date figure: the
    ledger's ended sessions plus the running session so far, on real Redis stores."""
    clock = FakeClock(start=NOV_11)
    app = App(Settings(project_name=project, redis_url=redis_url), clock=clock)
    app.ledger.record_session(NOV_11 - 20_000, NOV_11 - 12_800, 0.5)  # 2 h, ended
    glance = app.chat_host().glance
    assert asyncio.run(glance.month_to_date(clock.now())) == (pytest.approx(2.0), 0.5)
    app.store.save(
        PlatformStatus(state=PlatformState.RUNNING, url="https://m", session_started_at=NOV_11)
    )
    clock.t = NOV_11 + 5400  # 90 minutes into the running session
    hours, cost = asyncio.run(glance.month_to_date(clock.now()))
    mtd = app.service.cost_answers.month_so_far()
    assert (hours, cost) == (mtd.hours, mtd.cost)
    assert hours == pytest.approx(3.5) and mtd.running_hours == pytest.approx(1.5)
    # us-east-1's bundled prices, 4 vCPU / 8 GB, an NLB in 2 zones and the task's address.
    assert cost is not None and cost > 0.5 + 0.3
    assert f"This month so far: 3.5 h, {money(cost)}" in app.service.cost_answers.cost_text()
    app.redis.close()


def test_app_home_figure_with_unknown_prices(redis_url: str, project: str) -> None:
    clock = FakeClock(start=NOV_11)
    settings = Settings(project_name=project, redis_url=redis_url, aws_region="sa-east-1")
    app = App(settings, clock=clock)
    app.store.save(
        PlatformStatus(state=PlatformState.RUNNING, url="https://m", session_started_at=NOV_11)
    )
    clock.t = NOV_11 + 1800
    hours, cost = asyncio.run(app.chat_host().glance.month_to_date(clock.now()))
    assert hours == pytest.approx(0.5) and cost is None  # shown as "unknown"
    app.redis.close()
