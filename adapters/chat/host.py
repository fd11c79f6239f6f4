"""What every chat adapter gets from ``serve``: commands in, one live message per job
out, unprompted notices, all resumable after a restart.

Adapters only translate. They call ``handle`` with a core ``Actor``, and give
``follow_job`` a coroutine that draws a ``ProgressView`` into their one message;
the host coalesces updates (chat APIs rate-limit edits) and remembers which
message belongs to which job, so a restarted bot keeps editing the same one.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import redis.asyncio as aioredis

from adapters.wiring import App
from bot.events import Event, Notice
from bot.model import Actor
from bot.render import ProgressView
from bot.service import Reply
from infra.keys import CURSOR_TTL_SECONDS

log = logging.getLogger("jitsi.chat")

Update = Callable[[ProgressView, bool], Awaitable[None]]
"""Draw ``view`` into the job's message; the flag is True for the final drawing."""


class ChatHost:
    def __init__(self, app: App) -> None:
        self.app = app
        self.settings = app.settings
        self.keys = app.keys
        self._aredis: aioredis.Redis | None = None

    @property
    def aredis(self) -> aioredis.Redis:
        if self._aredis is None:
            # Reads block up to 5 s (XREAD): the socket timeout must outlast them.
            self._aredis = aioredis.Redis.from_url(
                self.settings.redis_dsn, socket_connect_timeout=3, socket_timeout=30
            )
        return self._aredis

    async def close(self) -> None:
        if self._aredis is not None:
            await self._aredis.aclose()

    # -- commands --------------------------------------------------------------
    async def handle(self, text: str, actor: Actor) -> Reply:
        """Parse, authorise, enqueue (in a worker thread: the service is synchronous)."""
        return await asyncio.to_thread(self.app.service.handle, text, actor)

    def status_text(self) -> str:
        return self.app.service.status_text()

    # -- message targets ------------------------------------------------------
    async def save_target(self, renderer: str, job_id: str, target: dict[str, Any]) -> None:
        key = self.keys.render_targets(renderer)
        await self.aredis.hset(key, job_id, json.dumps(target))
        await self.aredis.expire(key, CURSOR_TTL_SECONDS)

    async def target(self, renderer: str, job_id: str) -> dict[str, Any] | None:
        raw = await self.aredis.hget(self.keys.render_targets(renderer), job_id)
        return json.loads(raw) if raw else None

    async def pending_targets(self, renderer: str) -> dict[str, dict[str, Any]]:
        """Jobs whose message this renderer had not finished (resume them after a restart)."""
        raw = await self.aredis.hgetall(self.keys.render_targets(renderer))
        return {k.decode(): json.loads(v) for k, v in raw.items()}

    async def drop_target(self, renderer: str, job_id: str) -> None:
        await self.aredis.hdel(self.keys.render_targets(renderer), job_id)

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
        Returns the final view; the message target is dropped when the job ends."""
        idle_limit = idle_timeout or (
            self.settings.start_timeout_seconds + self.settings.stop_timeout_seconds
        )
        view = ProgressView()
        key = self.keys.job_events(job_id)
        after = "0-0"
        drawn_at = 0.0
        dirty = False
        silent_since = time.monotonic()
        while True:
            wait_ms = (
                1000
                if not dirty
                else max(1, int((drawn_at + min_interval - time.monotonic()) * 1000))
            )
            reply = await self.aredis.xread({key: after}, block=wait_ms, count=200)
            for _, entries in reply or []:
                for entry_id, raw in entries:
                    after = entry_id.decode()
                    try:
                        event = Event.from_fields({k.decode(): v.decode() for k, v in raw.items()})
                    except ValueError:
                        continue
                    view.apply(event)
                    dirty = True
                    silent_since = time.monotonic()
            now = time.monotonic()
            if view.finished:
                await update(view, True)
                await self.drop_target(renderer, job_id)
                return view
            if dirty and now - drawn_at >= min_interval:
                await update(view, False)
                drawn_at, dirty = now, False
            if now - silent_since > idle_limit:
                raise TimeoutError(job_id)

    # -- notices -------------------------------------------------------------
    async def notices(self, renderer: str) -> AsyncIterator[tuple[str, Notice]]:
        """(entry id, notice) after the last one this renderer acknowledged with
        ``ack_notice``; a renderer that never acknowledged starts at now."""
        raw = await self.aredis.hget(self.keys.cursor(renderer), "__notices__")
        if raw:
            after = raw.decode()
        else:  # pin "now" once, so notices arriving during a post are not skipped
            last = await self.aredis.xrevrange(self.keys.notices, count=1)
            after = last[0][0].decode() if last else "0-0"
        while True:
            reply = await self.aredis.xread({self.keys.notices: after}, block=5000, count=50)
            for _, entries in reply or []:
                for entry_id, fields in entries:
                    after = entry_id.decode()
                    try:
                        notice = Notice.from_fields(
                            {k.decode(): v.decode() for k, v in fields.items()}
                        )
                    except ValueError:
                        await self.ack_notice(renderer, after)  # never retry garbage
                        continue
                    yield after, notice

    async def ack_notice(self, renderer: str, entry_id: str) -> None:
        """Record that ``entry_id`` was posted: a restart continues after it."""
        key = self.keys.cursor(renderer)
        await self.aredis.hset(key, "__notices__", entry_id)
        await self.aredis.expire(key, CURSOR_TTL_SECONDS)
