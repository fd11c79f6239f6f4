"""The month's numbers behind `cost report`: meeting hours and cost per UTC day, the
cumulative cost with the idle items spread over the days, and the budget line.
Pure; ``infra/cost_chart.py`` draws them and writes them as CSV."""

from __future__ import annotations

import calendar
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime


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
    sessions: Iterable[tuple[float, float, float]],
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
    for started, ended, cost in sessions:
        day = datetime.fromtimestamp(ended, UTC)
        if (day.year, day.month) != (year, mon):
            continue
        hours[day.day - 1] += max(ended - started, 0.0) / 3600.0
        costs[day.day - 1] += cost
    last = days if until is None or (until.year, until.month) != (year, mon) else until.day
    rows: list[DayRow] = []
    total = 0.0
    for index in range(last):
        total += costs[index]
        rows.append(DayRow(date(year, mon, index + 1), hours[index], costs[index], total))
    return MonthReport(month, tuple(rows), budget)
