"""Turning one chat command into an answer or a queued job: parse, authorise, enqueue.

The same service serves every adapter; it answers within milliseconds and leaves
the long work to the worker. Replies are plain data; adapters render them.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from enum import StrEnum

from bot import idle, links, schedule
from bot.actual import actual_text, parse_month
from bot.audit import COMMAND_TEXT_MAX, history_text
from bot.budget import check_start
from bot.commands import (
    Cancel,
    Command,
    Cost,
    Help,
    History,
    Keep,
    Link,
    Schedule,
    Start,
    StartAt,
    Status,
    Stop,
    StopAt,
    help_text,
    parse,
)
from bot.config import Settings
from bot.cost import CostModel, MonthToDate, money, month_fraction, month_to_date
from bot.errors import BotError, CommandError, PermissionDenied
from bot.events import Event, EventKind
from bot.model import Actor, ChatPlatform, JobId, JobKind, JobSpec
from bot.policy import authorize
from bot.ports import (
    AuditLog,
    Clock,
    EventSink,
    JobQueue,
    Ledger,
    LinkSigner,
    PlatformStore,
    ReadyTimes,
    Scheduler,
    SessionStore,
    SpendSource,
    TrafficLog,
)
from bot.report import MonthReport, for_month, month_bounds, summary_text
from bot.state import PlatformState, PlatformStatus
from bot.traffic import per_participant_hour
from bot.watch import ScheduledItem, SessionWatch


class ReplyKind(StrEnum):
    INFO = "info"  # answered at once, nothing queued
    JOB = "job"  # a job is queued or joined: follow its events
    USAGE = "usage"  # the command was malformed
    DENIED = "denied"  # the actor may not run it


@dataclass(frozen=True, slots=True)
class Reply:
    kind: ReplyKind
    text: str
    job_id: JobId | None = None
    joined: bool = False
    private: bool = False  # only the requester needs to see it (Slack ephemeral)
    job_kind: JobKind | None = None  # what the job does (set with ``job_id``)
    # The asker's own meeting link and what to say with it: for their eyes only (Slack
    # ephemeral, Matrix direct message, the terminal). Never audited, logged or emitted.
    link: str | None = None
    # `cost report`: the month's numbers. Each adapter draws the chart and delivers it
    # with ``text``, the summary, which is posted alone when the chart cannot be.
    report: MonthReport | None = None

    def __repr__(self) -> str:  # a logged Reply must not carry the link
        shown = "<link>" if self.link else None
        return f"Reply(kind={self.kind}, text={self.text!r}, job_id={self.job_id}, link={shown})"

    @property
    def exit_code(self) -> int:
        return 2 if self.kind in (ReplyKind.USAGE, ReplyKind.DENIED) else 0


class CommandService:
    def __init__(
        self,
        settings: Settings,
        store: PlatformStore,
        queue: JobQueue,
        sink: EventSink,
        ledger: Ledger,
        audit: AuditLog,
        costs: CostModel,
        clock: Clock,
        sessions: SessionStore | None = None,
        scheduler: Scheduler | None = None,
        ready_times: ReadyTimes | None = None,
        links: LinkSigner | None = None,
        traffic_log: TrafficLog | None = None,
        spend: SpendSource | None = None,
    ) -> None:
        self.spend = spend
        self.links = links
        self.traffic_log = traffic_log
        self.sessions = sessions
        self.scheduler = scheduler
        self.ready_times = ready_times
        self.settings = settings
        self.store = store
        self.queue = queue
        self.sink = sink
        self.ledger = ledger
        self.audit = audit
        self.costs = costs
        self.clock = clock

    def handle(self, text: str, actor: Actor) -> Reply:
        """Answer ``text`` from ``actor``; every call is written to the audit log, with
        how long its handling took."""
        began = self.clock.monotonic()
        logged = text.strip()[:COMMAND_TEXT_MAX]

        def took() -> float:
            return self.clock.monotonic() - began

        try:
            command = parse(text, self.settings.command_name)
            authorize(command.name, actor, self.settings.allowed_users)
        except CommandError as exc:
            self.audit.record(actor, logged, "usage-error", took())
            return Reply(ReplyKind.USAGE, exc.user_message(), private=True)
        except PermissionDenied as exc:
            self.audit.record(actor, logged, "denied", took())
            return Reply(ReplyKind.DENIED, exc.user_message(), private=True)
        reply = self._dispatch(command, actor)
        outcome = f"{reply.kind.value}" + (f" job={reply.job_id}" if reply.job_id else "")
        if reply.joined:
            outcome += " joined"
        self.audit.record(actor, logged, outcome, took())
        return reply

    def _dispatch(self, command: Command, actor: Actor) -> Reply:
        prefix = f"/{self.settings.command_name} " if actor.platform is ChatPlatform.SLACK else ""
        match command:
            case Help(topic):
                return Reply(ReplyKind.INFO, help_text(prefix, topic), private=True)
            case Start(room, force):
                return self._with_link(self._start(room, actor, force=force), room, actor)
            case Link(room):
                return self._link(room, actor)
            case Stop():
                return self._enqueue(JobKind.STOP, None, actor)
            case StartAt(hour, minute, minutes, room):
                return self._schedule("start", hour, minute, actor, room, minutes)
            case StopAt(hour, minute):
                return self._schedule("stop", hour, minute, actor)
            case Keep(minutes):
                return self._keep(minutes)
            case Schedule():
                return self._list_schedule()
            case Cancel(item_id):
                return self._cancel(item_id)
            case Status():
                return Reply(ReplyKind.INFO, self.status_text())
            case Cost("actual", month):
                return Reply(ReplyKind.INFO, self.actual_text(month))
            case Cost("report", month):
                return self.report_reply(month)
            case Cost():
                return Reply(ReplyKind.INFO, self.cost_text())
            case History(count):
                return self._history(count)
        raise AssertionError(f"unhandled command {command!r}")  # pragma: no cover

    def _start(self, room: str | None, actor: Actor, *, force: bool = False) -> Reply:
        note = ""
        if self.store.status().state is not PlatformState.RUNNING:
            # The same month-to-date figure `cost` shows: a session still winding up counts.
            month = self.month_so_far().cost_or_zero
            verdict = check_start(self.settings, self.costs, month, actor.user, force)
            if not verdict.allowed:
                return Reply(ReplyKind.DENIED, verdict.text)
            note = verdict.text
        reply = self._enqueue(JobKind.START, room, actor)
        if note and reply.kind is ReplyKind.JOB:
            return replace(reply, text=f"{reply.text} {note}")
        return reply

    # -- meeting links -----------------------------------------------------------
    def _with_link(self, reply: Reply, room: str | None, actor: Actor) -> Reply:
        """A start's reply with the asker's link (JWT on), or the one note that the
        platform is open to anyone (JWT off)."""
        if reply.kind not in (ReplyKind.JOB, ReplyKind.INFO):
            return reply
        if not self.settings.jwt.enabled:
            if reply.joined or reply.kind is ReplyKind.INFO:
                return reply  # said once, with the start that made the session
            return replace(reply, text=f"{reply.text} {links.OPEN_NOTE}")
        # The asker of a new session hosts it; people joining one get a guest link.
        new_session = reply.kind is ReplyKind.JOB and not reply.joined
        moderator = new_session or self.store.status().started_by == actor.user
        return replace(reply, link=self._personal_link(room, actor, moderator=moderator))

    def _link(self, room: str | None, actor: Actor) -> Reply:
        status = self.store.status()
        if not self.settings.jwt.enabled:
            url = status.url or self.settings.meeting_base_url
            return Reply(
                ReplyKind.INFO,
                f"No personal link needed: anyone with the URL can join ({url}). "
                "Turn on `jwt` to require links (docs/security.md).",
                private=True,
            )
        if status.state not in (PlatformState.RUNNING, PlatformState.STARTING):
            return Reply(
                ReplyKind.INFO,
                "Nothing is running. `start [room]` starts the platform and sends you a link.",
                private=True,
            )
        moderator = status.started_by == actor.user
        text = "Your link is in a private message."
        return Reply(
            ReplyKind.INFO,
            text,
            private=True,
            link=self._personal_link(room, actor, moderator=moderator, status=status),
        )

    def _personal_link(
        self,
        room: str | None,
        actor: Actor,
        *,
        moderator: bool,
        status: PlatformStatus | None = None,
    ) -> str:
        status = status or self.store.status()
        room = room or status.session_room or self.settings.jwt.default_room
        now = self.clock.now()
        watch = self.sessions.load() if self.sessions is not None else None
        end = links.expected_end(self.settings, status, watch, now)
        g = links.grant(self.settings, actor, room, moderator=moderator, now=now, session_end=end)
        room_url = f"{self.settings.meeting_base_url}/{room}"
        if self.links is None:
            return f"I cannot make meeting links in this process; ask again in chat ({room_url})."
        try:
            token = self.links.sign(links.claims(self.settings, g))
        except BotError as exc:
            return f"I could not make your link to {room_url}: {exc.user_message()}"
        return links.link_text(links.link_url(self.settings, room, token), g, room_url)

    def request(self, kind: JobKind, actor: Actor, room: str | None = None) -> Reply:
        """A start or stop asked for by the system (guards, schedules), as ``actor``.

        Starts still answer to the budget (never forced)."""
        if kind is JobKind.START:
            return self._start(room, actor)
        return self._enqueue(kind, room, actor)

    # -- keep, schedules ---------------------------------------------------------
    def _keep(self, minutes: int | None) -> Reply:
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

    def _schedule(
        self,
        kind: str,
        hour: int,
        minute: int,
        actor: Actor,
        room: str | None = None,
        minutes: int | None = None,
    ) -> Reply:
        if self.scheduler is None:
            return Reply(ReplyKind.INFO, "Scheduling is not available in this process.")
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

    def _list_schedule(self) -> Reply:
        if self.scheduler is None:
            return Reply(ReplyKind.INFO, "Scheduling is not available in this process.")
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

    def _cancel(self, item_id: str) -> Reply:
        if self.scheduler is None:
            return Reply(ReplyKind.INFO, "Scheduling is not available in this process.")
        item = self.scheduler.cancel(item_id)
        if item is None:
            return Reply(
                ReplyKind.USAGE, f"No scheduled start or stop has id {item_id}; see `schedule`."
            )
        when = schedule.when(item.at, self.clock.now(), self.settings.schedule.timezone)
        return Reply(ReplyKind.INFO, f"Cancelled the {item.kind} {when} ({item_id}).")

    def _enqueue(self, kind: JobKind, room: str | None, actor: Actor) -> Reply:
        # One atomic call writes the desired state first (a start under way sees
        # a stop at its next step boundary; a crashed job is re-run toward what
        # was asked) and claims the job slot, so simultaneous starts make one job.
        claim = self.store.request(kind, JobId(uuid.uuid4().hex[:16]), actor, room)
        if claim.running_url is not None:
            url = claim.running_url
            if room:
                url = f"{self.settings.meeting_base_url}/{room}"
            return Reply(
                ReplyKind.INFO,
                f"Already running: {url} ({money(self.costs.running_hour)} per hour)."
                if self.costs.known
                else f"Already running: {url}.",
            )
        assert claim.job_id is not None
        job_id, joined = claim.job_id, claim.joined
        if joined:
            return Reply(
                ReplyKind.JOB,
                f"Already {_verb(kind)}: following the same job.",
                job_id=job_id,
                joined=True,
                job_kind=kind,
            )
        spec = JobSpec(job_id, kind, actor, room, self.clock.now())
        accepted = Event(
            EventKind.ACCEPTED,
            job_id,
            spec.requested_at,
            f"{_verb(kind).capitalize()} requested by {actor.display_name or actor.user}.",
            data={"kind": kind.value, "room": room, "user": actor.user},
        )
        self.queue.enqueue(spec, accepted)
        return Reply(
            ReplyKind.JOB, f"{_verb(kind).capitalize()} the platform…", job_id=job_id, job_kind=kind
        )

    def _history(self, count: int) -> Reply:
        # Read before this command is recorded, so it lists what came before it. Private:
        # it names people and channels of every adapter, not only this one's.
        entries = self.audit.recent(count)
        text = history_text(entries, self.clock.now(), self.settings.schedule.timezone)
        return Reply(ReplyKind.INFO, text, private=True)

    def status_text(self) -> str:
        s = self.store.status()
        lines = [f"Platform: {s.state.value} (asked: {s.desired.value})."]
        if s.url:
            lines.append(f"Meeting URL: {s.url}")
        if s.state is PlatformState.RUNNING:
            lines.append(
                f"Costs {money(self.costs.running_hour)} per hour while running."
                if self.costs.known
                else f"Running cost unknown: {self.costs.unknown_reason}."
            )
        if s.job_id:
            lines.append(
                f"A {s.job_kind.value if s.job_kind else ''} job is under way ({s.job_id})."
            )
        if s.last_error:
            lines.append(f"Last error: {s.last_error}")
        return "\n".join(lines)

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


def _hours(minutes: int) -> str:
    h, m = divmod(minutes, 60)
    return f"{h} h {m} min" if h and m else (f"{h} h" if h else f"{m} min")


def _verb(kind: JobKind) -> str:
    return "starting" if kind is JobKind.START else "stopping"


def _early(item: ScheduledItem, now: float, zone: str) -> str:
    """``; starts 09:57 so the meeting is ready at 10:00`` for a start that begins early."""
    if item.begins_at is None or item.begins_at >= item.at:
        return ""
    return f"; {schedule.early_text(item.begins_at, item.at, now, zone)}"
