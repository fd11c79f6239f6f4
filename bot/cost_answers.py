"""The `cost` family's answers: the estimate (`cost`), AWS's own figures beside it
(`cost actual`) and the month's report (`cost report`), all from one month-to-date
figure, which the start's budget check uses too."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.actual import actual_text, parse_month
from bot.config import Settings
from bot.cost import CostModel, MonthToDate, money, month_fraction, month_to_date
from bot.errors import BotError
from bot.ports import Clock, Ledger, PlatformStore, SpendSource, TrafficLog
from bot.reply import Reply, ReplyKind
from bot.report import for_month, month_bounds, summary_text
from bot.traffic import per_participant_hour


class CostAnswers:
    """What the platform costs, said from the ledger, the prices and (when this
    process has AWS clients) Cost Explorer."""

    def __init__(
        self,
        settings: Settings,
        store: PlatformStore,
        ledger: Ledger,
        costs: CostModel,
        clock: Clock,
        spend: SpendSource | None = None,
        traffic_log: TrafficLog | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.ledger = ledger
        self.costs = costs
        self.clock = clock
        self.spend = spend
        self.traffic_log = traffic_log

    def month_so_far(self) -> MonthToDate:
        """This month's ended sessions plus the running one so far (see bot.cost)."""
        now = self.clock.now()
        started = self.store.status().session_started_at
        return month_to_date(self.costs, self.ledger.month_to_date(now), started, now)

    def cost_text(self) -> str:
        c = self.costs
        mtd = self.month_so_far()
        running_now = (
            f" (the running session {mtd.running_hours:.1f} h included)"
            if (mtd.running_hours > 0)
            else ""
        )
        if not c.known:
            return (
                f"Costs unknown: {c.unknown_reason}.\n"
                f"This month so far: {mtd.hours:.1f} h of meetings{running_now}."
            )
        running = "\n".join(f"  {i.label}: {money(i.amount)}/h" for i in c.running_items())
        idle_items = "\n".join(f"  {i.label}: {money(i.amount)}/month" for i in c.idle_items())
        budget = self.settings.budget.monthly
        of_budget = f" of a {money(budget)} budget" if budget else ""
        return (
            f"Running: {money(c.running_hour)} per hour\n{running}\n"
            f"Idle: {money(c.idle_month)} per month\n{idle_items}\n"
            f"This month so far: {mtd.hours:.1f} h, {money(mtd.cost)}{of_budget}{running_now}; "
            f"at this pace the month ends near {money(mtd.projected)} (idle items included).\n"
            f"Break-even against always-on: {c.break_even_hours():.0f} meeting hours per month "
            f"(sessions of {self.settings.average_session_hours:g} h).{self._traffic_estimate()}"
        )

    def actual_text(self, month: str | None) -> str:
        """Cost Explorer's figures for ``month`` beside the estimate (``cost actual``)."""
        if self.spend is None:
            return "AWS's own figures are not available in this process (no AWS clients)."
        now = self.clock.now()
        try:
            wanted = parse_month(month, now)
            actual = self.spend.actual(wanted)
        except BotError as exc:
            return exc.user_message()
        fetched = datetime.fromtimestamp(actual.fetched_at, UTC).strftime("%Y-%m-%d %H:%M UTC")
        return actual_text(actual, self.month_estimate(wanted), fetched)

    def report_reply(self, month: str | None) -> Reply:
        """`cost report [YYYY-MM]`: the month's numbers as data and a summary of them;
        a month with no meetings still gets both (the idle items cost all the same)."""
        now = self.clock.now()
        try:
            wanted = parse_month(month, now)
            start, end = month_bounds(wanted)
            running = self.store.status().session_started_at
            report = for_month(
                wanted,
                now,
                self.ledger.sessions_between(start, end),
                running,
                self.costs,
                self.settings.budget.monthly,
            )
        except BotError as exc:
            return Reply(ReplyKind.USAGE, exc.user_message(), private=True)
        this = self.month_so_far() if wanted == _month(now) else None
        unknown = "" if self.costs.known else (self.costs.unknown_reason or "no prices")
        return Reply(ReplyKind.INFO, summary_text(report, this, unknown), report=report)

    def month_estimate(self, month: str) -> float | None:
        """The estimate for ``month``: its meetings (the running one too, this month)
        and the idle items for the part of the month passed (all of a past month)."""
        now = self.clock.now()
        this = datetime.fromtimestamp(now, UTC).strftime("%Y-%m")
        if month == this:
            mtd = self.month_so_far()
            idle = self.costs.idle_month
            if mtd.cost is None or idle is None:
                return None
            return mtd.cost + idle * month_fraction(now)
        year, mon = (int(x) for x in month.split("-"))
        inside = datetime(year, mon, 15, tzinfo=UTC).timestamp()
        _, cost = self.ledger.month_to_date(inside)
        idle = self.costs.idle_month
        if idle is None or not self.costs.known:
            return None
        return cost + (idle if month < this else 0.0)

    def _traffic_estimate(self) -> str:
        """Past sessions' measured traffic per participant-hour, when any was measured."""
        if self.traffic_log is None:
            return ""
        per = per_participant_hour(self.traffic_log.recent(50))
        if per is None:
            return ""
        return (
            f"\nTraffic per participant-hour (last {per.sessions} measured session(s)): "
            f"{per.gigabytes:.2f} GB, {money(per.dollars)}, on top of the hourly cost."
        )


def _month(now: float) -> str:
    return datetime.fromtimestamp(now, UTC).strftime("%Y-%m")
