"""The worker side of the guards: the session monitor chain, and the announcement of
how jobs ended that nobody in chat follows (idle, max session, budget, schedule).

The monitor is a ``JobChain``: a job that reschedules itself every
``idle_check_seconds`` while the platform runs, one chain per platform.
"""

from __future__ import annotations

import logging

from bot.config import Settings
from bot.cost import CostModel, money, rounded
from bot.events import Notice, NoticeKind
from bot.fmt import duration, sentence
from bot.idle import SessionGuard, notice
from bot.model import Actor, ChatPlatform, JobId, JobKind, JobResult, JobSpec
from bot.ports import Clock, Ledger, NoticeSink, ParticipantSource, PlatformStore, SessionStore
from bot.service import CommandService
from bot.watch import SessionWatch, StopReason
from infra.chain import JobChain
from infra.redis_store import UnwatchedJobs

log = logging.getLogger("jitsi.guard")

_KIND_BY_REASON = {
    StopReason.IDLE: NoticeKind.IDLE_STOP,
    StopReason.MAX_SESSION: NoticeKind.IDLE_STOP,
    StopReason.BUDGET: NoticeKind.BUDGET,
    StopReason.SCHEDULE: NoticeKind.SCHEDULE,
}
_WHY = {
    StopReason.IDLE: "nobody was in a meeting",
    StopReason.MAX_SESSION: "the session reached its maximum length",
    StopReason.BUDGET: "the monthly budget was reached",
    StopReason.SCHEDULE: "it was scheduled",
}


class Guards:
    """Session monitoring and unprompted announcements, handed what they use."""

    def __init__(
        self,
        settings: Settings,
        store: PlatformStore,
        sessions: SessionStore,
        notices: NoticeSink,
        source: ParticipantSource,
        service: CommandService,
        ledger: Ledger,
        costs: CostModel,
        clock: Clock,
        monitor: JobChain,
        unwatched: UnwatchedJobs,
    ) -> None:
        self.settings = settings
        self.store = store
        self.sessions = sessions
        self.notices = notices
        self.source = source
        self.service = service
        self.ledger = ledger
        self.costs = costs
        self.clock = clock
        self.monitor = monitor
        self.unwatched = unwatched

    # -- the monitor chain -----------------------------------------------------

    def ensure_monitor(self, *, delay: float | None = None) -> bool:
        """Start a monitor chain unless one exists; True when this call started it."""
        interval = self.settings.idle.check_seconds
        return self.monitor.start(interval, interval if delay is None else delay)

    def run_monitor(self, run_id: str) -> str:
        """One tick, then hand the chain over to the next run (or end it)."""
        keep_going = True
        try:
            keep_going = self._guard().tick()
        finally:
            interval = self.settings.idle.check_seconds
            if keep_going:
                # False: another chain owns the platform.
                keep_going = self.monitor.hand_over(run_id, interval, interval)
            else:  # the session is over (or a stop was asked for)
                self.monitor.end(run_id)
        return "watching" if keep_going else "ended"

    def _guard(self) -> SessionGuard:
        def stop(actor: Actor) -> JobId | None:
            return self.service.request(JobKind.STOP, actor).job_id

        return SessionGuard(
            self.settings,
            self.store,
            self.sessions,
            self.source,
            self.notices,
            self.ledger,
            self.costs,
            self.clock,
            stop,
        )

    # -- after a lifecycle job -------------------------------------------------

    def after_job(self, spec: JobSpec, result: JobResult) -> None:
        """Session bookkeeping once the lock is free: the monitor, announcements of jobs
        nobody in chat follows. Never fails the job it follows."""
        system = spec.actor.platform is ChatPlatform.SYSTEM
        unwatched = self.unwatched.take(spec.job_id) or system
        try:
            if spec.kind is JobKind.START:
                self._after_start(spec, result.ok, unwatched and not system)
            else:
                self._after_stop(spec, result, unwatched)
        except Exception:
            log.exception("after job %s", spec.job_id)

    def begin_session(self, spec: JobSpec) -> None:
        """After a start succeeded: remember where it was asked from, start the monitor."""
        status = self.store.status()
        if status.session_started_at is None:
            return
        old = self.sessions.load()
        if old is None or abs(old.session_started_at - status.session_started_at) > 1e-3:
            origin = spec.actor
            system = origin.platform is ChatPlatform.SYSTEM
            self.sessions.save(
                SessionWatch(
                    status.session_started_at,
                    ready_at=self.clock.now(),
                    origin_platform=None if system else origin.platform,
                    origin_channel=None if system else origin.channel,
                    started_by=origin.user,
                )
            )
        self.ensure_monitor()

    def _after_start(self, spec: JobSpec, ok: bool, unwatched: bool) -> None:
        """Start the session monitor; tell the channel how a start nobody followed ended."""
        if ok:
            self.begin_session(spec)
        if not unwatched:
            return
        status = self.store.status()
        actor = spec.actor
        who = actor.display_name or actor.user
        text = (
            f"Meeting ready: {status.url} (started for {who})."
            if ok
            else f"The start for {who} failed: "
            + sentence(status.last_error or "see the worker log")
        )
        system = actor.platform is ChatPlatform.SYSTEM
        self.announce(
            NoticeKind.SCHEDULE if ok else NoticeKind.JOB_FAILED,
            text,
            platform=None if system else actor.platform.value,
            channel=None if system else actor.channel,
            job_id=spec.job_id,
            url=status.url,
        )

    def _after_stop(self, spec: JobSpec, result: JobResult, unwatched: bool) -> None:
        """Announce a stop nobody in chat asked for (with the session's cost); forget
        the session's watch."""
        watch = self.sessions.load()
        self.sessions.clear()
        if not unwatched:
            return  # the requester follows the job and sees its cost
        if not result.ok:
            who = spec.actor.display_name or spec.actor.user
            self.notices.notify(
                notice(
                    watch,
                    NoticeKind.JOB_FAILED,
                    self.clock.now(),
                    f"A stop asked for by {who} failed; the platform may still bill. Run `stop`.",
                    job_id=spec.job_id,
                )
            )
            return
        reason = watch.stop_reason if watch else None
        if reason is None:
            return
        text = f"Stopped because {_WHY[reason]}."
        session = result.session
        if session is not None:
            text += (
                f" The session lasted {duration(session.seconds, precise=False)} "
                f"and cost about {money(session.cost)}."
            )
        self.notices.notify(
            notice(
                watch,
                _KIND_BY_REASON[reason],
                self.clock.now(),
                text,
                reason=reason.value,
                job_id=spec.job_id,
                session_cost=rounded(session.cost, 4) if session else None,
                session_seconds=round(session.seconds, 1) if session else None,
            )
        )

    def announce(
        self,
        kind: NoticeKind,
        text: str,
        *,
        platform: str | None = None,
        channel: str | None = None,
        **data: object,
    ) -> None:
        """A notice for the notice channels (and ``platform``/``channel`` when given)."""
        self.notices.notify(Notice(kind, self.clock.now(), text, platform, channel, dict(data)))
