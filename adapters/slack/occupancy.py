"""Who is in the running meeting, as the Slack adapter shows it: the idle monitor's
last reading of the running session, and the watchers that redraw a running
meeting's message when that reading changes."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

from adapters.chat.host import ChatHost
from adapters.slack import translate
from adapters.slack.client import RENDERER
from bot.render import ProgressView
from infra.follow import StateUnavailable
from infra.glance import SessionGlance

Edit = Callable[[str, str, ProgressView, str, int | None], Awaitable[None]]
"""Redraw a progress message: (channel, ts, view, kind, participants)."""
Spawn = Callable[[Awaitable[Any]], asyncio.Task[Any]]
"""Run a coroutine as one of the adapter's tasks (cancelled when it closes)."""


class Occupancy:
    """The running session's participant count, and one watcher per running meeting's
    message, owned by the adapter."""

    def __init__(self, host: ChatHost, interval: float, edit: Edit, spawn: Spawn) -> None:
        self.host = host
        # How often a running meeting's message rereads the monitor's last reading
        # (it cannot change faster than the monitor reads).
        self.interval = interval
        # A reading the monitor has not renewed for a few of its checks may be wrong
        # (the monitor stopped, or its chain broke): nobody vouches for it any more.
        self.max_age = translate.STALE_AFTER_CHECKS * host.settings.idle.check_seconds
        self._edit = edit
        self._spawn = spawn
        # message ts -> (job id, the watcher redrawing a running meeting's Stop)
        self.watching: dict[str, tuple[str, asyncio.Task[Any]]] = {}
        self.checks = 0  # rereads finished by the watchers, each with its redraw if any

    def participants(self, glance: SessionGlance) -> int | None:
        """The idle monitor's last reading of the running session (``SessionWatch``)."""
        if glance.running_since is None:
            return None
        return translate.session_participants(
            glance.watch, glance.running_since, glance.now, self.max_age
        )

    async def read(self) -> tuple[float | None, int | None]:
        """(the running session's start, its last participant reading); (None, None)
        when no session runs (stopped, or a stop asked for)."""
        glance = await self.host.glance.session()
        return glance.running_since, self.participants(glance)

    def watch(
        self,
        job_id: str,
        channel: str,
        ts: str,
        view: ProgressView,
        session: float,
        seen: int | None,
    ) -> None:
        """Redraw a running meeting's message when the monitor's reading changes, so its
        Stop confirmation is red exactly while people may be in the meeting. At most one
        ``chat.update`` per change, and readings change at most once per monitor tick.
        Ends with the session, or when Stop is clicked in that message; the message
        stays a saved target meanwhile, so a restarted adapter resumes watching it."""

        async def watch() -> None:
            last = seen
            try:
                while True:
                    await asyncio.sleep(self.interval)
                    try:
                        started, count = await self.read()
                        if started is None or abs(started - session) > 1e-3:
                            await self.host.follower.drop_target(RENDERER, job_id)
                            return
                    except StateUnavailable:
                        self.checks += 1
                        continue  # no news is no change
                    if count != last:
                        await self._edit(channel, ts, view, "start", count)
                        last = count
                    self.checks += 1
            finally:
                if self.watching.get(ts, ("", None))[1] is asyncio.current_task():
                    del self.watching[ts]

        self.watching[ts] = (job_id, self._spawn(watch()))

    async def unwatch(self, ts: str) -> None:
        job_id, task = self.watching.pop(ts, ("", None))
        if task is not None:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
            await self.host.follower.drop_target(RENDERER, job_id)
