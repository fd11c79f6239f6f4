"""The idle, max-session and budget guards of a running session: pure decisions.

``decide`` turns (what is remembered, what was read, the time) into what to
remember next and what to do; ``SessionGuard.tick`` applies it through ports.
An unknown reading is never idle: it resets the idle count and is reported once.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from bot.config import Settings
from bot.cost import CostModel, money
from bot.events import Notice, NoticeKind
from bot.model import Actor, ChatPlatform, JobId, UserId
from bot.ports import Clock, Ledger, NoticeSink, ParticipantSource, PlatformStore, SessionStore
from bot.state import DesiredState, PlatformState, PlatformStatus
from bot.watch import Reading, SessionWatch
from bot.watch import StopReason as StopReason  # re-exported: it lived here before

# The actor of stops the guards ask for; the worker announces how those ended.
GUARD = Actor(UserId("system:guard"), "notices", ChatPlatform.SYSTEM, "idle guard")


@dataclass(frozen=True, slots=True)
class Verdict:
    watch: SessionWatch
    notices: list[Notice] = field(default_factory=list)
    stop: StopReason | None = None


def notice(
    watch: SessionWatch | None,
    kind: NoticeKind,
    at: float,
    text: str,
    **data: object,
) -> Notice:
    """A notice for the notice channels and the channel where the session began."""
    return Notice(
        kind,
        at,
        text,
        platform=watch.origin_platform if watch else None,
        channel=watch.origin_channel if watch else None,
        data=dict(data),
    )


def _minutes(seconds: float) -> str:
    m = max(round(seconds / 60), 0)
    return f"{m} minute" + ("" if m == 1 else "s")


def decide(
    watch: SessionWatch,
    reading: Reading | None,
    now: float,
    settings: Settings,
    month_cost: float,
    costs: CostModel,
) -> Verdict:
    """The next ``SessionWatch`` and what to announce or stop. ``reading`` None: not read."""
    idle, budget = settings.idle, settings.budget
    out: list[Notice] = []
    elapsed = now - watch.session_started_at
    if watch.stop_reason is not None:  # a stop is already asked for
        return Verdict(watch)

    # Max session length: warned once, stopped at the limit; `keep` does not extend it.
    if idle.max_session_hours > 0:
        limit = idle.max_session_hours * 3600
        if elapsed >= limit:
            text = f"The session reached its limit of {idle.max_session_hours:g} h. Stopping now."
            out.append(notice(watch, NoticeKind.IDLE_STOP, now, text, reason="max-session"))
            return Verdict(
                watch.with_(stop_reason=StopReason.MAX_SESSION), out, StopReason.MAX_SESSION
            )
        if not watch.max_warned and elapsed >= limit - idle.warn_minutes * 60:
            text = (
                f"The session has run {elapsed / 3600:.1f} h; it stops at its limit of "
                f"{idle.max_session_hours:g} h in {_minutes(limit - elapsed)}."
            )
            out.append(notice(watch, NoticeKind.IDLE_WARNING, now, text, reason="max-session"))
            watch = watch.with_(max_warned=True)

    # Budget: what ended this month plus this session so far.
    session_cost = costs.session_cost(max(elapsed, 0.0))
    # Unknown prices (no table for the region): the budget cannot judge, so it never stops.
    if budget.monthly is not None and session_cost is not None:
        spent = month_cost + session_cost
        if spent >= budget.monthly:
            text = (
                f"This month's cost reached {money(spent)}, the monthly budget of "
                f"{money(budget.monthly)}. Stopping now."
            )
            out.append(
                notice(
                    watch,
                    NoticeKind.BUDGET,
                    now,
                    text,
                    spent=round(spent, 4),
                    budget=budget.monthly,
                )
            )
            return Verdict(watch.with_(stop_reason=StopReason.BUDGET), out, StopReason.BUDGET)
        if not watch.budget_warned and spent >= budget.monthly * budget.warn_percent / 100:
            text = (
                f"This month's cost is {money(spent)}, {spent / budget.monthly:.0%} of the "
                f"monthly budget of {money(budget.monthly)}. At 100% the platform stops."
            )
            out.append(
                notice(
                    watch,
                    NoticeKind.BUDGET,
                    now,
                    text,
                    spent=round(spent, 4),
                    budget=budget.monthly,
                )
            )
            watch = watch.with_(budget_warned=True)

    if reading is None:
        return Verdict(watch, out)
    watch = watch.with_(
        last_source=reading.source, last_read_at=now, last_participants=reading.participants
    )
    if reading.unknown:
        # Not idle: nobody is stopped on a guess. Said once per outage.
        if not watch.unknown_reported:
            text = (
                f"Cannot tell whether anyone is in a meeting ({reading.source}: {reading.detail}). "
                "The idle stop waits until the source answers again."
            )
            out.append(notice(watch, NoticeKind.SOURCE_UNKNOWN, now, text, source=reading.source))
        watch = watch.with_(
            unknown_reported=True, idle_readings=0, idle_since=None, warned_at=None, stop_at=None
        )
        return Verdict(watch, out)
    watch = watch.with_(unknown_reported=False)
    if reading.participants:
        if watch.warned_at is not None:
            out.append(
                notice(
                    watch,
                    NoticeKind.IDLE_WARNING,
                    now,
                    "Someone joined: the platform keeps running.",
                    cleared=True,
                )
            )
        return Verdict(
            watch.with_(idle_readings=0, idle_since=None, warned_at=None, stop_at=None), out
        )

    watch = watch.with_(idle_readings=watch.idle_readings + 1, idle_since=watch.idle_since or now)
    if watch.idle_readings < idle.readings:
        return Verdict(watch, out)
    assert watch.idle_since is not None
    idle_for = now - watch.idle_since
    if watch.warned_at is None and idle_for >= (idle.minutes - idle.warn_minutes) * 60:
        stop_at = now + idle.warn_minutes * 60
        keep = f"keep {round(idle.keep_minutes)}"
        text = (
            f"No one has been in a meeting for {_minutes(idle_for)}. "
            f"Stopping in {_minutes(idle.warn_minutes * 60)}."
        )
        out.append(
            notice(
                watch,
                NoticeKind.IDLE_WARNING,
                now,
                text,
                keep_command=keep,
                keep_minutes=round(idle.keep_minutes),
                stop_at=stop_at,
                idle_minutes=round(idle_for / 60),
            )
        )
        watch = watch.with_(warned_at=now, stop_at=stop_at)
    if watch.stop_at is not None and now >= watch.stop_at:
        return Verdict(watch.with_(stop_reason=StopReason.IDLE), out, StopReason.IDLE)
    return Verdict(watch, out)


def keep(watch: SessionWatch, now: float, minutes: float) -> SessionWatch:
    """Postpone the idle stop: no reading counts until ``now + minutes``; then the
    idle clock starts again from zero."""
    return watch.with_(
        kept_until=now + minutes * 60,
        idle_readings=0,
        idle_since=None,
        warned_at=None,
        stop_at=None,
    )


class SessionGuard:
    """One monitor tick: read participants, decide, announce, ask for a stop."""

    def __init__(
        self,
        settings: Settings,
        store: PlatformStore,
        sessions: SessionStore,
        source: ParticipantSource,
        notices: NoticeSink,
        ledger: Ledger,
        costs: CostModel,
        clock: Clock,
        request_stop: Callable[[Actor], JobId | None],
    ) -> None:
        self.settings = settings
        self.store = store
        self.sessions = sessions
        self.source = source
        self.notices = notices
        self.ledger = ledger
        self.costs = costs
        self.clock = clock
        self.request_stop = request_stop

    def tick(self) -> bool:
        """Run one check; False when the session is over and the monitor should end."""
        status = self.store.status()
        if not _running(status):
            return False
        assert status.session_started_at is not None
        now = self.clock.now()
        watch = self.sessions.load()
        if watch is None or abs(watch.session_started_at - status.session_started_at) > 1e-3:
            watch = SessionWatch(
                status.session_started_at, ready_at=now, started_by=status.started_by
            )
            self.sessions.save(watch)
        reading = self._read(watch, now)
        _, month = self.ledger.month_to_date(now)

        def change(current: SessionWatch | None) -> SessionWatch | None:
            base = current or watch
            verdict[0] = decide(base, reading, now, self.settings, month, self.costs)
            return verdict[0].watch

        verdict: list[Verdict] = [Verdict(watch)]
        self.sessions.update(change)
        for n in verdict[0].notices:
            self.notices.notify(n)
        if verdict[0].stop is not None:
            self.request_stop(GUARD)
            return False
        return True

    def _read(self, watch: SessionWatch, now: float) -> Reading | None:
        idle = self.settings.idle
        if idle.source.value == "off":
            return None
        if now - (watch.ready_at or watch.session_started_at) < idle.grace_minutes * 60:
            return None  # nobody has had time to join yet
        if watch.kept_until is not None and now < watch.kept_until:
            return None
        return self.source.read()


def _running(status: PlatformStatus) -> bool:
    return (
        status.state is PlatformState.RUNNING
        and status.desired is DesiredState.RUNNING
        and status.job_id is None
        and status.session_started_at is not None
    )
