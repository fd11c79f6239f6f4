"""The month's numbers behind `cost report`: meeting hours and cost per UTC day, the
cumulative cost with the idle items spread over the days, and the budget line, plus
the summary chat shows with them. Pure: ``infra/cost_chart.py`` draws the chart, and
the adapters upload it (Slack, Matrix) or write it to files (terminal)."""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime

from bot.cost import CostModel, MonthToDate, money
from bot.errors import BotError

Session = tuple[float, float, float]
"""(started_at, ended_at, cost) of one session, as the ledger records it."""


@dataclass(frozen=True, slots=True)
class DayRow:
    day: date
    hours: float  # meeting hours of the sessions that ended that day
    cost: float  # their cost plus the day's share of the idle items
    cumulative: float  # the month's cost up to and including the day


@dataclass(frozen=True, slots=True)
class MonthReport:
    month: str  # YYYY-MM
    rows: tuple[DayRow, ...]
    budget: float | None
    sessions: int = 0  # how many sessions ended in the month (a running one counts)
    idle_month: float = 0.0  # the idle items' cost for the whole month

    def filename(self, suffix: str) -> str:
        """``cost-report-YYYY-MM.png`` / ``.csv``: the same names in every chat and on disk."""
        return f"cost-report-{self.month}.{suffix}"

    @property
    def hours(self) -> float:
        return sum(r.hours for r in self.rows)

    @property
    def total(self) -> float:
        """Meetings and the idle items' share, up to the last day shown."""
        return self.rows[-1].cumulative if self.rows else 0.0

    @property
    def idle_so_far(self) -> float:
        days = calendar.monthrange(*(int(x) for x in self.month.split("-")))[1]
        return self.idle_month / days * len(self.rows)

    def csv(self) -> str:
        lines = ["day,meeting_hours,cost_usd,cumulative_usd,budget_usd"]
        budget = "" if self.budget is None else f"{self.budget:.2f}"
        lines += [
            f"{r.day.isoformat()},{r.hours:.3f},{r.cost:.4f},{r.cumulative:.4f},{budget}"
            for r in self.rows
        ]
        return "\n".join(lines) + "\n"


def month_report(
    month: str,
    sessions: Iterable[Session],
    idle_month: float,
    budget: float | None,
    until: date | None = None,
) -> MonthReport:
    """Rows for every day of ``month`` up to ``until`` (its last day by default) from
    (started_at, ended_at, cost) of the sessions that ended in it."""
    year, mon = (int(x) for x in month.split("-"))
    days = calendar.monthrange(year, mon)[1]
    hours = [0.0] * days
    costs = [idle_month / days] * days
    counted = 0
    for started, ended, cost in sessions:
        day = datetime.fromtimestamp(ended, UTC)
        if (day.year, day.month) != (year, mon):
            continue
        counted += 1
        hours[day.day - 1] += max(ended - started, 0.0) / 3600.0
        costs[day.day - 1] += cost
    last = days if until is None or (until.year, until.month) != (year, mon) else until.day
    rows: list[DayRow] = []
    total = 0.0
    for index in range(last):
        total += costs[index]
        rows.append(DayRow(date(year, mon, index + 1), hours[index], costs[index], total))
    return MonthReport(month, tuple(rows), budget, counted, idle_month)


def for_month(
    month: str,
    now: float,
    ended: Iterable[Session],
    running_since: float | None,
    costs: CostModel,
    budget: float | None,
) -> MonthReport:
    """``month``'s report from the ledger's ``ended`` sessions of it; the month under
    way runs to today and counts the session running since ``running_since`` so far,
    as `cost` and the budget check do. A month not begun yet is a ``BotError``."""
    today = datetime.fromtimestamp(now, UTC).date()
    this = today.strftime("%Y-%m")
    if month > this:
        raise BotError(f"{month} has not begun yet.", "`cost report` shows this month so far.")
    sessions = list(ended)
    if month == this and running_since is not None:
        began = max(running_since, month_bounds(month)[0])
        seconds = max(now - began, 0.0)
        sessions.append((now - seconds, now, costs.session_cost(seconds) or 0.0))
    idle = costs.idle_month or 0.0
    return month_report(month, sessions, idle, budget, today if month == this else None)


def month_bounds(month: str) -> tuple[float, float]:
    """[first second, first second of the next month) of ``month`` in UTC."""
    year, mon = (int(x) for x in month.split("-"))
    start = datetime(year, mon, 1, tzinfo=UTC)
    end = datetime(year + mon // 12, mon % 12 + 1, 1, tzinfo=UTC)
    return start.timestamp(), end.timestamp()


def summary_text(
    report: MonthReport,
    this_month: MonthToDate | None,
    unknown_prices: str = "",
) -> str:
    """What chat says beside the chart: hours, cost, budget and, for the month under
    way (``this_month``: the figure `cost` and the budget check use), the projection."""
    lines = [f"Cost report for {report.month}{_up_to(report, this_month)}:"]
    if report.sessions == 0:
        lines.append("  No meetings.")
    else:
        running = (
            " (the running one so far included)" if this_month and this_month.running_hours else ""
        )
        sessions = f"{report.sessions} session{'s' if report.sessions != 1 else ''}"
        lines.append(f"  {report.hours:.1f} h of meetings in {sessions}{running}.")
    if unknown_prices:
        lines.append(f"  Costs unknown ({unknown_prices}): the chart shows hours only.")
        return "\n".join(lines)
    idle = money(report.idle_so_far)
    lines.append(
        f"  Cost: {money(report.total)}, all of it idle items."
        if report.sessions == 0
        else f"  Cost: {money(report.total)}, of which idle items {idle}."
    )
    if report.budget is not None:
        share = report.total / report.budget * 100.0
        over = ": over it" if report.total > report.budget else ""
        lines.append(f"  Budget: {money(report.budget)} a month, {share:.0f} % used{over}.")
    if this_month is not None and this_month.projected is not None:
        lines.append(f"  At this pace the month ends near {money(this_month.projected)}.")
    return "\n".join(lines)


def _up_to(report: MonthReport, this_month: MonthToDate | None) -> str:
    if this_month is None or not report.rows:
        return ""
    return f", to the {_ordinal(report.rows[-1].day.day)} (UTC)"


def _ordinal(day: int) -> str:
    suffix = "th" if 10 <= day % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"
