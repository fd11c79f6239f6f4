"""`keep`, `start at`, `stop at`, `schedule` and `cancel`: holding the idle stop off,
and the starts and stops planned for a time of day (``bot.schedule`` does the clock
arithmetic; the ``Scheduler`` port keeps the plans)."""

from __future__ import annotations

import uuid

from bot import idle, schedule
from bot.config import Settings
from bot.model import Actor
from bot.ports import Clock, PlatformStore, ReadyTimes, Scheduler, SessionStore
from bot.reply import Reply, ReplyKind
from bot.state import PlatformState
from bot.watch import ScheduledItem, SessionWatch

UNAVAILABLE = "Scheduling is not available in this process."


class ScheduleCommands:
    """Answers the commands that act at a later time; without a ``scheduler`` (or
    ``sessions``, for `keep`) this process says it cannot."""

    def __init__(
        self,
        settings: Settings,
        store: PlatformStore,
        clock: Clock,
        sessions: SessionStore | None = None,
        scheduler: Scheduler | None = None,
        ready_times: ReadyTimes | None = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.clock = clock
        self.sessions = sessions
        self.scheduler = scheduler
        self.ready_times = ready_times

    def keep(self, minutes: int | None) -> Reply:
        status = self.store.status()
        if self.sessions is None or status.state is not PlatformState.RUNNING:
            return Reply(ReplyKind.INFO, "Nothing to keep: the platform is not running.")
        limits = self.settings.idle
        wanted = float(minutes) if minutes is not None else limits.keep_minutes
        granted = min(wanted, limits.keep_max_minutes)
        now = self.clock.now()
        started = status.session_started_at or now

        def change(watch: SessionWatch | None) -> SessionWatch:
            return idle.keep(watch or SessionWatch(started), now, granted)

        self.sessions.update(change)
        until = schedule.when(now + granted * 60, now, self.settings.schedule.timezone)
        capped = f" (capped at the maximum of {granted:g})" if granted < wanted else ""
        return Reply(
            ReplyKind.INFO,
            f"Keeping the platform up: no idle stop for {granted:g} minutes{capped}, "
            f"until {until}.",
        )

    def add(
        self,
        kind: str,
        hour: int,
        minute: int,
        actor: Actor,
        room: str | None = None,
        minutes: int | None = None,
    ) -> Reply:
        """`start at` / `stop at`: the next ``hour``:``minute`` in the schedule's zone."""
        if self.scheduler is None:
            return Reply(ReplyKind.INFO, UNAVAILABLE)
        now, zone = self.clock.now(), self.settings.schedule.timezone
        at = schedule.next_at(now, hour, minute, zone)
        begins = None
        if kind == "start" and self.ready_times is not None:
            begins = schedule.begin_at(at, self.ready_times.ready_seconds(), now)
        item = ScheduledItem(
            uuid.uuid4().hex[:6],
            kind,
            at,
            actor.as_dict(),
            room,
            minutes,
            created_at=now,
            begins_at=begins,
        )
        self.scheduler.add(item)
        length = f" for {_hours(minutes)}" if minutes else ""
        where = f" (room {room})" if room else ""
        early = _early(item, now, zone)
        return Reply(
            ReplyKind.INFO,
            f"Scheduled {kind} {schedule.when(at, now, zone)}{length}{where}{early}: "
            f"id {item.item_id}. `cancel {item.item_id}` cancels it.",
        )

    def listing(self) -> Reply:
        if self.scheduler is None:
            return Reply(ReplyKind.INFO, UNAVAILABLE)
        items = sorted(self.scheduler.items(), key=lambda i: i.at)
        if not items:
            return Reply(ReplyKind.INFO, "Nothing is scheduled.")
        now, zone = self.clock.now(), self.settings.schedule.timezone
        lines = ["Scheduled:"]
        for i in items:
            length = f" for {_hours(i.minutes)}" if i.minutes else ""
            room = f" room {i.room}" if i.room else ""
            who = i.actor.get("display_name") or i.actor.get("user", "")
            lines.append(
                f"  {i.item_id}: {i.kind} {schedule.when(i.at, now, zone)}{length}{room} ({who})"
                f"{_early(i, now, zone)}"
            )
        return Reply(ReplyKind.INFO, "\n".join(lines))

    def cancel(self, item_id: str) -> Reply:
        if self.scheduler is None:
            return Reply(ReplyKind.INFO, UNAVAILABLE)
        item = self.scheduler.cancel(item_id)
        if item is None:
            return Reply(
                ReplyKind.USAGE, f"No scheduled start or stop has id {item_id}; see `schedule`."
            )
        when = schedule.when(item.at, self.clock.now(), self.settings.schedule.timezone)
        return Reply(ReplyKind.INFO, f"Cancelled the {item.kind} {when} ({item_id}).")


def _hours(minutes: int) -> str:
    h, m = divmod(minutes, 60)
    return f"{h} h {m} min" if h and m else (f"{h} h" if h else f"{m} min")


def _early(item: ScheduledItem, now: float, zone: str) -> str:
    """``; starts 09:57 so the meeting is ready at 10:00`` for a start that begins early."""
    if item.begins_at is None or item.begins_at >= item.at:
        return ""
    return f"; {schedule.early_text(item.begins_at, item.at, now, zone)}"
