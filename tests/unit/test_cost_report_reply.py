"""`cost report [YYYY-MM]` in the core: one reply for every chat, carrying the month's
numbers as data (the adapters draw and deliver the chart) and a summary of them."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from bot.config import Settings
from bot.cost import CostModel, money
from bot.model import Actor, ChatPlatform, UserId
from bot.reply import ReplyKind
from bot.service import CommandService
from bot.state import DesiredState, PlatformState
from tests.support.clocks import FakeClock
from tests.support.memory import (
    MemoryLedger,
    MemoryStore,
    RecordingAudit,
    RecordingQueue,
    RecordingSink,
)
from tests.unit.test_month_to_date import PRICES

NOW = datetime(2026, 11, 15, 12, tzinfo=UTC).timestamp()  # mid-November
ALICE = Actor(UserId("slack:U1"), "C1", ChatPlatform.SLACK, "Alice")


def at(month: int, day: int, hour: int) -> float:
    return datetime(2026, month, day, hour, tzinfo=UTC).timestamp()


class Built:
    def __init__(self, budget: float | None = 20.0, prices: bool = True) -> None:
        self.settings = Settings(budget={"monthly": budget} if budget else {})
        self.ledger = MemoryLedger()
        self.store = MemoryStore()
        self.audit = RecordingAudit()
        self.costs = CostModel(self.settings, PRICES if prices else None, "no prices for test-1")
        self.service = CommandService(
            self.settings,
            self.store,
            RecordingQueue(),
            RecordingSink(),
            self.ledger,
            self.audit,
            self.costs,
            FakeClock(NOW),
        )

    def running_since(self, started: float) -> None:
        self.store.current = replace(
            self.store.current,
            state=PlatformState.RUNNING,
            desired=DesiredState.RUNNING,
            session_started_at=started,
        )


def test_a_past_month_has_every_day_its_sessions_and_the_idle_items() -> None:
    b = Built()
    b.ledger.record_session(at(10, 3, 9), at(10, 3, 10) + 1800, 0.371)  # 1.5 h
    b.ledger.record_session(at(10, 20, 18), at(10, 20, 19), 0.235)
    b.ledger.record_session(at(11, 2, 9), at(11, 2, 10), 0.235)  # November's
    reply = b.service.handle("cost report 2026-10", ALICE)
    assert reply.kind is ReplyKind.INFO and not reply.private
    report = reply.report
    assert report is not None and report.month == "2026-10"
    assert len(report.rows) == 31 and report.sessions == 2
    idle = b.costs.idle_month
    assert idle is not None and report.idle_month == pytest.approx(idle)
    assert report.hours == pytest.approx(2.5)
    assert report.total == pytest.approx(0.371 + 0.235 + idle)
    assert report.rows[2].cost == pytest.approx(0.371 + idle / 31)
    assert reply.text.splitlines() == [
        "Cost report for 2026-10:",
        "  2.5 h of meetings in 2 sessions.",
        f"  Cost: {money(report.total)}, of which idle items {money(idle)}.",
        f"  Budget: $20.00 a month, {report.total / 20 * 100:.0f} % used.",
    ]  # a month that has ended: no projection
    assert b.audit.rows[-1][1:] == ("cost report 2026-10", "info")


def test_this_month_counts_the_running_session_and_projects_like_cost() -> None:
    b = Built()
    b.ledger.record_session(at(11, 3, 9), at(11, 3, 10), 0.235)
    b.running_since(NOW - 1800)
    reply = b.service.handle("cost report", ALICE)
    report = reply.report
    assert report is not None and report.month == "2026-11"
    assert len(report.rows) == 15  # to today, not the month's end
    assert report.sessions == 2 and report.rows[-1].hours == pytest.approx(0.5)
    mtd = b.service.cost_answers.month_so_far()  # what `cost` and the budget check use
    idle = b.costs.idle_month
    assert mtd.cost is not None and idle is not None and mtd.projected is not None
    assert report.total == pytest.approx(mtd.cost + idle / 30 * 15)
    assert "to the 15th (UTC)" in reply.text
    assert "1.5 h of meetings in 2 sessions (the running one so far included)." in reply.text
    assert f"At this pace the month ends near {money(mtd.projected)}." in reply.text


def test_a_month_without_meetings_still_gets_its_chart_and_says_so() -> None:
    b = Built(budget=None)
    reply = b.service.handle("cost report 2026-09", ALICE)
    report = reply.report
    assert reply.kind is ReplyKind.INFO and report is not None
    assert len(report.rows) == 30 and report.sessions == 0 and report.hours == 0
    assert report.total == pytest.approx(b.costs.idle_month or 0)
    assert "  No meetings." in reply.text and "all of it idle items" in reply.text
    assert "Budget" not in reply.text  # none configured
    assert report.csv().count("\n") == 31


def test_over_budget_is_said() -> None:
    b = Built(budget=1.0)
    b.ledger.record_session(at(10, 3, 9), at(10, 3, 17), 1.5)
    reply = b.service.handle("cost report 2026-10", ALICE)
    assert "% used: over it." in reply.text


def test_unknown_prices_still_chart_the_hours() -> None:
    b = Built(prices=False)
    b.ledger.record_session(at(10, 3, 9), at(10, 3, 11), 0.0)
    reply = b.service.handle("cost report 2026-10", ALICE)
    assert reply.report is not None and reply.report.hours == pytest.approx(2.0)
    assert "Costs unknown (no prices for test-1): the chart shows hours only." in reply.text
    assert "Cost:" not in reply.text


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("cost report 2026-12", "2026-12 has not begun yet"),
        ("cost report 2027-01", "has not begun yet"),
        ("cost report 2026-13", "`2026-13` is not a month"),
        ("cost report 2026-11 extra", "at most one month"),
        ("cost reprot", "Did you mean `cost report`?"),
    ],
)
def test_malformed_or_future_months_are_usage_errors(text: str, needle: str) -> None:
    b = Built()
    reply = b.service.handle(text, ALICE)
    assert reply.kind is ReplyKind.USAGE and reply.private and reply.report is None
    assert needle in reply.text
