"""Job events on Redis Streams: writing them, and following them with a saved cursor.

A follower stores the last id it rendered per job, so a restarted bot resumes
exactly where it stopped: nothing is lost and nothing is rendered twice.
"""

from __future__ import annotations

from collections.abc import Iterator

import redis

from bot.events import Event, Notice
from infra.keys import (
    CURSOR_TTL_SECONDS,
    JOB_STREAM_MAXLEN,
    JOB_STREAM_TTL_SECONDS,
    NOTICES_MAXLEN,
    Keys,
)


class RedisEventSink:
    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self.r = client
        self.keys = keys

    def emit(self, event: Event, pipeline: redis.client.Pipeline | None = None) -> None:
        """Append ``event``; with ``pipeline`` the write joins it (the caller executes)."""
        key = self.keys.job_events(event.job_id)
        pipe = pipeline if pipeline is not None else self.r.pipeline(transaction=False)
        pipe.xadd(key, event.to_fields(), maxlen=JOB_STREAM_MAXLEN, approximate=True)
        if event.terminal:
            pipe.expire(key, JOB_STREAM_TTL_SECONDS)
        if pipeline is None:
            pipe.execute()


class RedisNoticeSink:
    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self.r = client
        self.keys = keys

    def notify(self, notice: Notice) -> None:
        self.r.xadd(self.keys.notices, notice.to_fields(), maxlen=NOTICES_MAXLEN, approximate=True)


class EventFollower:
    """Reads one job's stream from a cursor; ``renderer`` names whose cursor it is."""

    def __init__(self, client: redis.Redis, keys: Keys, renderer: str | None = None) -> None:
        self.r = client
        self.keys = keys
        self.renderer = renderer

    def cursor(self, job_id: str) -> str:
        if self.renderer is None:
            return "0-0"
        raw = self.r.hget(self.keys.cursor(self.renderer), job_id)
        return raw.decode() if raw else "0-0"

    def ack(self, job_id: str, entry_id: str) -> None:
        """Remember that everything up to ``entry_id`` has been rendered."""
        if self.renderer is None:
            return
        key = self.keys.cursor(self.renderer)
        pipe = self.r.pipeline(transaction=False)
        pipe.hset(key, job_id, entry_id)
        pipe.expire(key, CURSOR_TTL_SECONDS)
        pipe.execute()

    def forget(self, job_id: str) -> None:
        if self.renderer is not None:
            self.r.hdel(self.keys.cursor(self.renderer), job_id)

    def pending_jobs(self) -> list[str]:
        """Jobs this renderer had started rendering (for resuming after a restart)."""
        if self.renderer is None:
            return []
        return [k.decode() for k in self.r.hkeys(self.keys.cursor(self.renderer))]

    def read(self, job_id: str, after: str, block_ms: int) -> list[tuple[str, Event]]:
        """Entries after ``after``, waiting up to ``block_ms`` for the first one."""
        key = self.keys.job_events(job_id)
        reply = self.r.xread({key: after}, block=block_ms, count=200)
        out: list[tuple[str, Event]] = []
        for _, entries in reply or []:
            for entry_id, raw in entries:
                fields = {k.decode(): v.decode() for k, v in raw.items()}
                try:
                    out.append((entry_id.decode(), Event.from_fields(fields)))
                except ValueError:
                    continue  # a malformed entry must not stop rendering the rest
        return out

    def follow(
        self, job_id: str, *, idle_timeout: float, poll_ms: int = 500
    ) -> Iterator[tuple[str, Event]]:
        """Yield events until the terminal one; stop after ``idle_timeout`` s of silence.

        Raises ``TimeoutError`` on silence, leaving the cursor for a later resume.
        """
        import time

        after = self.cursor(job_id)
        silent_since = time.monotonic()
        while True:
            batch = self.read(job_id, after, poll_ms)
            if not batch:
                if time.monotonic() - silent_since > idle_timeout:
                    raise TimeoutError(job_id)
                continue
            silent_since = time.monotonic()
            for entry_id, event in batch:
                after = entry_id
                yield entry_id, event
                if event.terminal:
                    return
