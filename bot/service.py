"""Turning one chat command into an answer or a queued job: parse, authorise, enqueue.

The same service serves every adapter; it answers within milliseconds and leaves
the long work to the worker. Replies are plain data; adapters render them.
"""

from __future__ import annotations

import uuid
from dataclasses import replace

from bot import links
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
from bot.cost import CostModel, money
from bot.cost_answers import CostAnswers
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
from bot.reply import Reply, ReplyKind
from bot.schedule_commands import ScheduleCommands
from bot.state import PlatformState, PlatformStatus


class CommandService:
    """Every chat's and the CLI's commands: parse, authorise, then answer or enqueue.
    The `cost` answers and the commands that act later are its parts ``cost_answers``
    and ``schedules``; starts, stops and meeting links are its own."""

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
        self.links = links
        self.sessions = sessions
        self.settings = settings
        self.store = store
        self.queue = queue
        self.sink = sink
        self.audit = audit
        self.costs = costs
        self.clock = clock
        self.cost_answers = CostAnswers(settings, store, ledger, costs, clock, spend, traffic_log)
        self.schedules = ScheduleCommands(settings, store, clock, sessions, scheduler, ready_times)

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
                return self.schedules.add("start", hour, minute, actor, room, minutes)
            case StopAt(hour, minute):
                return self.schedules.add("stop", hour, minute, actor)
            case Keep(minutes):
                return self.schedules.keep(minutes)
            case Schedule():
                return self.schedules.listing()
            case Cancel(item_id):
                return self.schedules.cancel(item_id)
            case Status():
                return Reply(ReplyKind.INFO, self.status_text())
            case Cost("actual", month):
                return Reply(ReplyKind.INFO, self.cost_answers.actual_text(month))
            case Cost("report", month):
                return self.cost_answers.report_reply(month)
            case Cost():
                return Reply(ReplyKind.INFO, self.cost_answers.cost_text())
            case History(count):
                return self._history(count)
        raise AssertionError(f"unhandled command {command!r}")  # pragma: no cover

    def _start(self, room: str | None, actor: Actor, *, force: bool = False) -> Reply:
        note = ""
        if self.store.status().state is not PlatformState.RUNNING:
            # The same month-to-date figure `cost` shows: a session still winding up counts.
            month = self.cost_answers.month_so_far().cost_or_zero
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


def _verb(kind: JobKind) -> str:
    return "starting" if kind is JobKind.START else "stopping"
