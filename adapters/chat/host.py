"""What every chat adapter gets from ``serve``: commands in, one live message per job
out, unprompted notices, all resumable after a restart.

Adapters only translate. They call ``handle`` with a core ``Actor``, and give
``follow_job`` a coroutine that draws a ``ProgressView`` into their one message;
the host coalesces updates (chat APIs rate-limit edits). What a renderer remembers
(which message belongs to which job, the notices it posted) is kept by ``follower``,
so a restarted bot keeps editing the same message.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Protocol

from adapters.chat.report import Draw, ReportFiles, draw
from bot.config import Settings
from bot.events import Event, EventKind
from bot.model import Actor, JobId
from bot.render import ProgressView
from bot.reply import Reply
from bot.report import MonthReport
from infra.follow import BEGINNING, WORKER_STOPPED, Follower, WorkerWatch
from infra.glance import PlatformGlance
from infra.outage import converted

Update = Callable[[ProgressView, bool], Awaitable[None]]
"""Draw ``view`` into the job's message; the flag is True for the final drawing."""

AuditRecord = Callable[[Actor, str, str], None]
"""Write (actor, command text, outcome) to the audit log (``AuditLog.record``)."""


class Commands(Protocol):
    """The core's command handling, as chat uses it (``bot.service.CommandService``)."""

    def handle(self, text: str, actor: Actor) -> Reply: ...

    def status_text(self) -> str: ...


class ChatHost:
    """Hands the adapters exactly what they use: the core's commands, the ``follower``
    (streams and renderer state), the audit log, ``glance`` (the running session) and
    ``draw_report`` (`cost report`'s chart)."""

    def __init__(
        self,
        settings: Settings,
        commands: Commands,
        follower: Follower,
        record: AuditRecord,
        glance: PlatformGlance,
        draw_report: Draw = draw,
    ) -> None:
        self.settings = settings
        self.follower = follower
        self.glance = glance
        self._commands = commands
        self._record = record
        self._draw = draw_report

    async def close(self) -> None:
        await self.follower.aclose()

    # -- commands --------------------------------------------------------------
    async def handle(self, text: str, actor: Actor) -> Reply:
        """Parse, authorise, enqueue (in a worker thread: the service is synchronous)."""
        return await asyncio.to_thread(self._handle, text, actor)

    def _handle(self, text: str, actor: Actor) -> Reply:
        with converted():  # Redis away: ``StateUnavailable``, which adapters answer
            return self._commands.handle(text, actor)

    async def status_text(self) -> str:
        return await asyncio.to_thread(self._commands.status_text)

    async def report_files(self, report: MonthReport) -> ReportFiles:
        """`cost report`'s chart, drawn in a worker thread (about 0.2 s of CPU): the
        event loop keeps serving other commands meanwhile."""
        return await asyncio.to_thread(self._draw, report)

    async def audit(self, actor: Actor, command: str, outcome: str) -> None:
        """Audit what the adapter decided itself (its own denials)."""
        await asyncio.to_thread(self._record, actor, command[:200], outcome)

    # -- following a job ------------------------------------------------------
    async def follow_job(
        self,
        renderer: str,
        job_id: str,
        update: Update,
        *,
        min_interval: float = 1.0,
        idle_timeout: float | None = None,
    ) -> ProgressView:
        """Fold the job's events from its start and call ``update`` with the view:
        at most once per ``min_interval`` seconds, and always for the last event.
        Returns the final view; the message target is dropped when the job ends.
        Raises ``TimeoutError`` after ``idle_timeout`` seconds without an event, and
        ``StateUnavailable`` when Redis fails (the target stays: a restart resumes).
        A job whose worker stopped gets ``WORKER_STOPPED`` as a notice in its message,
        once, and is still followed: it resumes when a worker runs."""
        idle_limit = idle_timeout or (
            self.settings.start_timeout_seconds + self.settings.stop_timeout_seconds
        )
        view = ProgressView()
        after = BEGINNING
        drawn_at = 0.0
        dirty = False
        silent_since = time.monotonic()
        watch = WorkerWatch(self.follower, job_id, self.settings.worker_lost_seconds)
        told = False
        while True:
            wait_ms = (
                1000
                if not dirty
                else max(1, int((drawn_at + min_interval - time.monotonic()) * 1000))
            )
            batch = await self.follower.job_events(job_id, after, block_ms=wait_ms)
            after = batch.last
            for _, event in batch.items:
                view.apply(event)
                dirty = True
                silent_since = time.monotonic()
                told = told and not event.data.get("resumed")
            if not batch.items and not told and not view.finished and await watch.stopped():
                # Drawn locally, never written to the job's stream: it is not the job's.
                view.apply(Event(EventKind.NOTICE, JobId(job_id), time.time(), WORKER_STOPPED))
                dirty, told = True, True
            now = time.monotonic()
            if view.finished:
                await update(view, True)
                await self.follower.drop_target(renderer, job_id)
                return view
            if dirty and now - drawn_at >= min_interval:
                await update(view, False)
                drawn_at, dirty = now, False
            if now - silent_since > idle_limit:
                raise TimeoutError(job_id)
