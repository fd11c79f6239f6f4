"""Everything a chat renderer reads from or remembers in Redis, as typed async calls.

One ``Follower`` serves every renderer (Slack, Matrix, the terminal): it reads a job's
event stream and the notices stream (decoded, malformed entries skipped), and keeps
each renderer's state in its cursor hash and targets hash (``infra.keys``): the message
it keeps up to date per job, the notices it acknowledged, and Matrix's sync token,
command claims and once-per-room markers. Nothing saved is lost by a restart, so a
restarted renderer resumes where it stopped.

Redis errors never leave this module raw: they become ``StateUnavailable`` (or a
cancellation, when the task was being cancelled), which the adapters' retry loops catch.

``WorkerWatch`` tells a follower when the job it shows has lost its worker: nothing
renews the platform's lease (``infra.lock``) and the job does not wait in the queue.
Replayed events cannot tell that (a job that died mid-step looks just like one that
is polling AWS), so a follower that joined such a job would otherwise wait in silence.
"""

from __future__ import annotations

import asyncio
import json
import time
import weakref
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Generic, NewType, TypeVar

import redis.asyncio as aioredis
from redis.exceptions import RedisError
from rq.job import Job, JobStatus

from bot.events import Event, Notice
from bot.model import JobId
from infra.keys import (
    CURSOR_NOTICES,
    CURSOR_SYNC_TOKEN,
    CURSOR_TTL_SECONDS,
    Keys,
    cursor_event_claim,
    cursor_room_notice,
    is_cursor_job,
)
from infra.outage import QUEUE_UNREACHABLE, StateUnavailable

__all__ = ["BEGINNING", "WORKER_STOPPED", "Follower", "StateUnavailable", "WorkerWatch"]

EntryId = NewType("EntryId", str)
"""A Redis stream entry id, ``<milliseconds>-<sequence>``; ids only grow."""

BEGINNING = EntryId("0-0")
"""Before a stream's first entry: reading after it reads everything."""

Target = dict[str, Any]
"""A renderer's own JSON record of the message it keeps up to date for one job."""

T = TypeVar("T")


WORKER_STOPPED = "The worker running this job stopped; it resumes when a worker is running."
"""What a follower is told when its job lost its worker (``WorkerWatch``)."""

# RQ statuses of a job that waits for a worker: it has none yet, and needs none.
_WAITING = {JobStatus.QUEUED.value, JobStatus.DEFERRED.value, JobStatus.SCHEDULED.value}


@dataclass(frozen=True, slots=True)
class Batch(Generic[T]):
    """What one read of a stream returned: decoded ``items``, and ``last``, the id the
    next read continues after (past malformed entries too, which are not in ``items``)."""

    items: list[tuple[EntryId, T]]
    last: EntryId


class Follower:
    """Typed access to the streams and renderer state in Redis at ``url``.

    Usable from several event loops (the terminal runs one per followed job and one in
    its notice thread): each loop gets its own connection pool, created on first use
    and released by ``aclose`` from that loop.
    """

    def __init__(self, url: str, keys: Keys) -> None:
        self.url = url
        self.keys = keys
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, aioredis.Redis] = (
            weakref.WeakKeyDictionary()
        )

    @property
    def _r(self) -> aioredis.Redis:
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            # Reads block up to 5 s (XREAD): the socket timeout must outlast them.
            client = aioredis.Redis.from_url(
                self.url, socket_connect_timeout=3, socket_timeout=30, decode_responses=True
            )
            self._clients[loop] = client
        return client

    async def aclose(self) -> None:
        """Release the calling event loop's connections (a later call reconnects)."""
        client = self._clients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.aclose()

    # -- job event streams -------------------------------------------------------
    async def job_events(
        self, job_id: str, after: EntryId = BEGINNING, *, block_ms: int = 0
    ) -> Batch[Event]:
        """The job's events after ``after``, waiting up to ``block_ms`` (0: not at all)
        for the first one."""
        key = self.keys.job_events(job_id)
        with _boundary():
            reply = await self._r.xread({key: after}, block=block_ms or None, count=200)
        return _decode(_entries(reply), after, Event.from_fields)

    async def job_cursor(self, renderer: str, job_id: str) -> EntryId:
        """The last entry of the job's stream ``renderer`` acknowledged, or the beginning."""
        with _boundary():
            raw = await self._r.hget(self.keys.cursor(renderer), job_id)
        return EntryId(_text(raw)) if raw else BEGINNING

    async def ack_job(self, renderer: str, job_id: str, entry_id: EntryId) -> None:
        """Remember that ``renderer`` has shown the job's events up to ``entry_id``."""
        await self._cursor_set(renderer, job_id, entry_id)

    async def forget_job(self, renderer: str, job_id: str) -> None:
        """The job is fully shown: nothing to resume."""
        with _boundary():
            await self._r.hdel(self.keys.cursor(renderer), job_id)

    async def pending_jobs(self, renderer: str) -> list[JobId]:
        """Jobs ``renderer`` started showing and did not finish (resume them)."""
        with _boundary():
            fields = await self._r.hkeys(self.keys.cursor(renderer))
        return [JobId(f) for f in map(_text, fields) if is_cursor_job(f)]

    async def worker_alive(self, job_id: str) -> bool:
        """True while something holds the platform's lifecycle lease (a worker running a
        job, or the reconciler resuming one) or the job still waits in RQ's queue."""
        with _boundary():
            async with self._r.pipeline(transaction=False) as pipe:
                pipe.exists(self.keys.lock)
                pipe.hget(Job.key_for(job_id), "status")
                held, status = await pipe.execute()
        return bool(held) or (status is not None and _text(status) in _WAITING)

    # -- message targets ---------------------------------------------------------
    async def save_target(self, renderer: str, job_id: str, target: Mapping[str, Any]) -> None:
        """Remember the message ``renderer`` keeps up to date for ``job_id``."""
        key = self.keys.render_targets(renderer)
        with _boundary():
            async with self._r.pipeline(transaction=True) as pipe:
                pipe.hset(key, job_id, json.dumps(dict(target)))
                pipe.expire(key, CURSOR_TTL_SECONDS)
                await pipe.execute()

    async def target(self, renderer: str, job_id: str) -> Target | None:
        """The saved message of ``job_id``, or None."""
        with _boundary():
            raw = await self._r.hget(self.keys.render_targets(renderer), job_id)
        return _target(raw) if raw else None

    async def pending_targets(self, renderer: str) -> dict[JobId, Target]:
        """Every saved message by job id: the jobs to resume following after a restart."""
        with _boundary():
            raw = await self._r.hgetall(self.keys.render_targets(renderer))
        return {JobId(_text(k)): _target(v) for k, v in raw.items()}

    async def drop_target(self, renderer: str, job_id: str) -> None:
        with _boundary():
            await self._r.hdel(self.keys.render_targets(renderer), job_id)

    # -- notices -----------------------------------------------------------------
    async def notices_start(self, renderer: str | None) -> EntryId:
        """Where ``renderer``'s notices continue: after its acknowledged cursor; when it
        never acknowledged one, after the stream's end now, saved at once (so a reader
        restarted before its first notice still gets what arrived meanwhile).
        ``renderer`` None: after the end now, remembered nowhere."""
        with _boundary():
            if renderer is not None:
                saved = await self._r.hget(self.keys.cursor(renderer), CURSOR_NOTICES)
                if saved:
                    return EntryId(_text(saved))
            last = await self._r.xrevrange(self.keys.notices, count=1)
            end = EntryId(_text(last[0][0])) if last else BEGINNING
            if renderer is None:
                return end
            key = self.keys.cursor(renderer)
            async with self._r.pipeline(transaction=True) as pipe:
                # HSETNX: a pin or an acknowledgement made meanwhile wins.
                pipe.hsetnx(key, CURSOR_NOTICES, end)
                pipe.expire(key, CURSOR_TTL_SECONDS)
                pipe.hget(key, CURSOR_NOTICES)
                _, _, pinned = await pipe.execute()
        return EntryId(_text(pinned))

    async def read_notices(self, after: EntryId, *, block_ms: int = 0) -> Batch[Notice]:
        """Notices after ``after``, waiting up to ``block_ms`` (0: not at all) for one."""
        with _boundary():
            reply = await self._r.xread(
                {self.keys.notices: after}, block=block_ms or None, count=50
            )
        return _decode(_entries(reply), after, Notice.from_fields)

    async def notices(
        self, renderer: str, *, block_ms: int = 5000
    ) -> AsyncIterator[tuple[EntryId, Notice]]:
        """(entry id, notice), forever, from ``notices_start(renderer)``. Acknowledge each
        with ``ack_notice`` once it is posted: a restart continues after the last one."""
        after = await self.notices_start(renderer)
        while True:
            batch = await self.read_notices(after, block_ms=block_ms)
            for entry_id, notice in batch.items:
                yield entry_id, notice
            after = batch.last

    async def ack_notice(self, renderer: str, entry_id: EntryId) -> None:
        """Record that ``renderer`` posted the notice ``entry_id``."""
        await self._cursor_set(renderer, CURSOR_NOTICES, entry_id)

    # -- Matrix: sync token, command claims, once-per-room markers ----------------
    async def sync_token(self, renderer: str) -> str | None:
        """The token of the last sync whose commands were all handled, or None."""
        with _boundary():
            raw = await self._r.hget(self.keys.cursor(renderer), CURSOR_SYNC_TOKEN)
        return _text(raw) if raw else None

    async def claim_event(self, renderer: str, event_id: str) -> bool:
        """Claim the command in ``event_id``; False when it was claimed before (handled
        before a crash or a reconnect: do not run it again)."""
        with _boundary():
            return bool(
                await self._r.hsetnx(self.keys.cursor(renderer), cursor_event_claim(event_id), "1")
            )

    async def commit_sync(self, renderer: str, token: str, claimed: Sequence[str]) -> None:
        """Advance the sync token and drop the claims of the events it covers, at once."""
        key = self.keys.cursor(renderer)
        with _boundary():
            async with self._r.pipeline(transaction=True) as pipe:
                pipe.hset(key, CURSOR_SYNC_TOKEN, token)
                if claimed:
                    pipe.hdel(key, *(cursor_event_claim(e) for e in claimed))
                pipe.expire(key, CURSOR_TTL_SECONDS)
                await pipe.execute()

    async def room_told(self, renderer: str, room_id: str) -> bool:
        """True when ``mark_room_told`` was called for ``room_id``."""
        with _boundary():
            return bool(
                await self._r.hexists(self.keys.cursor(renderer), cursor_room_notice(room_id))
            )

    async def mark_room_told(self, renderer: str, room_id: str) -> None:
        """Remember that ``room_id`` got its once-per-room notice."""
        await self._cursor_set(renderer, cursor_room_notice(room_id), "1")

    # -- internals -----------------------------------------------------------------
    async def _cursor_set(self, renderer: str, field: str, value: str) -> None:
        key = self.keys.cursor(renderer)
        with _boundary():
            async with self._r.pipeline(transaction=True) as pipe:
                pipe.hset(key, field, value)
                pipe.expire(key, CURSOR_TTL_SECONDS)
                await pipe.execute()


class WorkerWatch:
    """Whether a followed job lost its worker: ``Follower.worker_alive`` false for
    ``grace`` seconds in a row (checked at most every ``every`` seconds). The lease
    runs out ``lock_lease_seconds`` after its holder's last renewal, so a follower is
    told within about lease + grace + every seconds of a worker's death. ``monotonic``
    is the clock the grace is measured on (a test hands in one it moves)."""

    def __init__(
        self,
        follower: Follower,
        job_id: str,
        grace: float,
        *,
        every: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.follower = follower
        self.job_id = job_id
        self.grace = grace
        self.every = every
        self._monotonic = monotonic
        self._next_check = 0.0
        self._gone_since: float | None = None

    async def stopped(self) -> bool:
        """True once the job has had no worker for ``grace`` seconds."""
        now = self._monotonic()
        if now < self._next_check:
            return self._gone_since is not None and now - self._gone_since >= self.grace
        self._next_check = now + self.every
        if await self.follower.worker_alive(self.job_id):
            self._gone_since = None
            return False
        if self._gone_since is None:
            self._gone_since = now
        return now - self._gone_since >= self.grace


@contextmanager
def _boundary() -> Iterator[None]:
    """Redis errors out as ``StateUnavailable``; a cancelled read stays a cancellation."""
    try:
        yield
    except (RedisError, OSError) as exc:
        task = asyncio.current_task()
        if task is not None and task.cancelling():  # redis-py turns a cancelled
            raise asyncio.CancelledError from exc  # read into its TimeoutError
        raise StateUnavailable(
            f"{QUEUE_UNREACHABLE}: Redis is unavailable ({type(exc).__name__}).",
            "Check that redis-server runs at JITSI_REDIS_URL; the bot retries meanwhile.",
        ) from exc


def _text(value: object) -> str:
    """A reply as text (the client decodes; its stubs also allow bytes)."""
    return value.decode() if isinstance(value, bytes) else str(value)


def _target(raw: object) -> Target:
    body = json.loads(_text(raw))
    return body if isinstance(body, dict) else {}


def _entries(reply: object) -> list[tuple[str, dict[str, str]]]:
    """The (id, fields) entries of a one-stream XREAD reply, in either RESP shape."""
    if isinstance(reply, dict):  # RESP3: {stream: entries}
        streams = list(reply.values())
    elif isinstance(reply, list):  # RESP2: [[stream, entries]]
        streams = [stream[1] for stream in reply]
    else:  # None: nothing arrived in time
        return []
    out: list[tuple[str, dict[str, str]]] = []
    for entries in streams:
        for entry_id, fields in entries:
            decoded = {_text(k): _text(v) for k, v in (fields or {}).items()}
            out.append((_text(entry_id), decoded))
    return out


def _decode(
    entries: list[tuple[str, dict[str, str]]],
    after: EntryId,
    parse: Callable[[dict[str, str]], T],
) -> Batch[T]:
    items: list[tuple[EntryId, T]] = []
    last = after
    for raw_id, fields in entries:
        last = EntryId(raw_id)
        try:
            items.append((last, parse(fields)))
        except ValueError:
            continue  # a malformed entry must not stop the rest
    return Batch(items, last)
