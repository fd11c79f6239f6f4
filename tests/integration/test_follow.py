"""The follower on a real Redis: job streams and notices decoded (garbage skipped),
renderer state that survives a restart (a second ``Follower`` is the restarted
process), Matrix's claims and token, and Redis errors converted at the boundary."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterator
from typing import TypeVar

import pytest
import redis

from bot.events import Event, EventKind, Notice, NoticeKind
from bot.model import JobId
from infra.events import RedisEventSink, RedisNoticeSink
from infra.follow import BEGINNING, Follower, StateUnavailable, WorkerWatch
from infra.keys import CURSOR_NOTICES, CURSOR_TTL_SECONDS, Keys
from infra.local_redis import free_port
from tests.support.services import until

T = TypeVar("T")


@pytest.fixture
def keys(project: str) -> Keys:
    return Keys(project)


@pytest.fixture
def follower(redis_url: str, keys: Keys) -> Follower:
    return Follower(redis_url, keys)


@pytest.fixture
def sink(redis_client: redis.Redis, keys: Keys) -> RedisEventSink:
    return RedisEventSink(redis_client, keys)


@pytest.fixture
def notices(redis_client: redis.Redis, keys: Keys) -> RedisNoticeSink:
    return RedisNoticeSink(redis_client, keys)


def run(follower: Follower, work: Callable[[], Awaitable[T]]) -> T:
    """One event loop per call, as the terminal uses the follower; released after."""

    async def scenario() -> T:
        try:
            return await work()
        finally:
            await follower.aclose()

    return asyncio.run(scenario())


def event(job: str, n: int, kind: EventKind = EventKind.NOTICE) -> Event:
    return Event(kind, JobId(job), float(n), f"event {n}")


def test_a_restarted_renderer_resumes_without_loss_or_repeats(
    redis_url: str, keys: Keys, sink: RedisEventSink, redis_client: redis.Redis
) -> None:
    for n in range(5):
        sink.emit(event("j1", n))
    seen: list[str] = []
    first = Follower(redis_url, keys)

    async def first_run() -> None:
        batch = await first.job_events("j1", await first.job_cursor("console:t", "j1"))
        for entry_id, e in batch.items[:3]:
            seen.append(e.message)
            await first.ack_job("console:t", "j1", entry_id)

    run(first, first_run)  # the process dies here; meanwhile the job goes on
    assert redis_client.ttl(keys.cursor("console:t")) > CURSOR_TTL_SECONDS - 60
    for n in range(5, 8):
        sink.emit(event("j1", n))
    sink.emit(event("j1", 8, EventKind.FINISHED))
    second = Follower(redis_url, keys)

    async def second_run() -> list[str]:
        assert await second.pending_jobs("console:t") == ["j1"]
        batch = await second.job_events("j1", await second.job_cursor("console:t", "j1"))
        await second.forget_job("console:t", "j1")
        assert await second.pending_jobs("console:t") == []
        return [e.message for _, e in batch.items]

    seen += run(second, second_run)
    assert seen == [f"event {n}" for n in range(9)]
    assert redis_client.ttl(keys.job_events("j1")) > 0  # finished streams expire


def test_pending_jobs_are_only_the_job_fields(follower: Follower) -> None:
    async def scenario() -> list[JobId]:
        await follower.ack_job("matrix", "abc123", BEGINNING)
        await follower.ack_notice("matrix", BEGINNING)
        await follower.claim_event("matrix", "$e1")
        await follower.commit_sync("matrix", "s1", [])
        await follower.mark_room_told("matrix", "!r:hs")
        return await follower.pending_jobs("matrix")

    assert run(follower, scenario) == ["abc123"]


def test_malformed_entries_are_skipped_and_read_past(
    follower: Follower, keys: Keys, sink: RedisEventSink, redis_client: redis.Redis
) -> None:
    redis_client.xadd(keys.job_events("j2"), {"event": "{garbage"})
    sink.emit(event("j2", 1))
    last_garbage = redis_client.xadd(keys.job_events("j2"), {"nothing": "here"}).decode()
    redis_client.xadd(keys.notices, {"notice": "[1]"})

    async def scenario() -> tuple[list[str], str, list[Notice]]:
        batch = await follower.job_events("j2")
        notices = await follower.read_notices(BEGINNING)
        return [e.message for _, e in batch.items], batch.last, [n for _, n in notices.items]

    messages, last, notices = run(follower, scenario)
    assert messages == ["event 1"]
    assert last == last_garbage  # the next read starts after the garbage, not at it
    assert notices == []


def test_targets_survive_a_restart(redis_url: str, keys: Keys, redis_client: redis.Redis) -> None:
    first = Follower(redis_url, keys)
    target = {"channel": "C1", "ts": "1.2", "kind": "start"}
    run(first, lambda: first.save_target("slack", "j3", target))
    assert redis_client.ttl(keys.render_targets("slack")) > CURSOR_TTL_SECONDS - 60
    second = Follower(redis_url, keys)

    async def scenario() -> None:
        assert await second.pending_targets("slack") == {"j3": target}
        assert await second.target("slack", "j3") == target
        assert await second.target("slack", "nope") is None
        await second.drop_target("slack", "j3")
        assert await second.pending_targets("slack") == {}

    run(second, scenario)


def test_notices_start_at_now_pinned_once(
    redis_url: str, keys: Keys, notices: RedisNoticeSink, redis_client: redis.Redis
) -> None:
    notices.notify(Notice(NoticeKind.REPAIR, 0.0, "before the renderer ever ran"))
    first = Follower(redis_url, keys)
    pin = run(first, lambda: first.notices_start("slack"))
    # Saved at once: arriving before the first read (or a restart) does not skip it.
    assert redis_client.hget(keys.cursor("slack"), CURSOR_NOTICES).decode() == pin
    notices.notify(Notice(NoticeKind.REPAIR, 1.0, "while the renderer restarted"))
    second = Follower(redis_url, keys)

    async def scenario() -> list[str]:
        assert await second.notices_start("slack") == pin  # the pin holds
        got: list[str] = []
        async for entry_id, notice in second.notices("slack"):
            got.append(notice.text)
            await second.ack_notice("slack", entry_id)
            break
        return got

    assert run(second, scenario) == ["while the renderer restarted"]
    # A reader that remembers nothing starts at the end and saves nothing.
    third = Follower(redis_url, keys)
    end = run(third, lambda: third.notices_start(None))
    assert end != pin and not redis_client.exists(keys.cursor("nobody"))


def test_notices_resume_after_the_last_acknowledged(
    follower: Follower, notices: RedisNoticeSink
) -> None:
    async def take(n: int, ack: bool = True) -> list[str]:
        out = []
        async for entry_id, notice in follower.notices("matrix", block_ms=200):
            out.append(notice.text)
            if ack:
                await follower.ack_notice("matrix", entry_id)
            if len(out) == n:
                break
        return out

    async def scenario() -> tuple[list[str], list[str], list[str]]:
        notices.notify(Notice(NoticeKind.REPAIR, 0.0, "before the bot ever ran"))
        await follower.notices_start("matrix")
        notices.notify(Notice(NoticeKind.REPAIR, 1.0, "first"))
        notices.notify(Notice(NoticeKind.IDLE_WARNING, 2.0, "second"))
        first = await take(2)
        notices.notify(Notice(NoticeKind.SUMMARY, 3.0, "third"))
        unacked = await take(1, ack=False)  # crashes before posting it...
        again = await take(1)  # ...so the restart gets it again
        return first, unacked, again

    first, unacked, again = run(follower, scenario)
    assert first == ["first", "second"]
    assert unacked == ["third"] and again == ["third"]


def test_matrix_claims_drop_with_the_token_in_one_commit(
    follower: Follower, keys: Keys, redis_client: redis.Redis
) -> None:
    async def scenario() -> None:
        assert await follower.sync_token("matrix") is None
        assert await follower.claim_event("matrix", "$a")
        assert not await follower.claim_event("matrix", "$a")  # handled before a crash
        assert await follower.claim_event("matrix", "$b")
        await follower.commit_sync("matrix", "s2", ["$a", "$b"])
        assert await follower.sync_token("matrix") == "s2"
        # The token covers them now: their claims are gone.
        assert await follower.claim_event("matrix", "$a")
        assert not await follower.room_told("matrix", "!r:hs")
        await follower.mark_room_told("matrix", "!r:hs")
        assert await follower.room_told("matrix", "!r:hs")

    run(follower, scenario)
    fields = {k.decode() for k in redis_client.hkeys(keys.cursor("matrix"))}
    assert fields == {"__sync_token__", "event:$a", "e2e-notice:!r:hs"}
    assert redis_client.ttl(keys.cursor("matrix")) > CURSOR_TTL_SECONDS - 60


@pytest.fixture
def nowhere(keys: Keys) -> Iterator[Follower]:
    yield Follower(f"redis://127.0.0.1:{free_port()}/0", keys)


@pytest.mark.parametrize(
    "call",
    [
        lambda f: f.job_events("j"),
        lambda f: f.pending_targets("slack"),
        lambda f: f.save_target("slack", "j", {}),
        lambda f: f.notices_start("slack"),
        lambda f: f.read_notices(BEGINNING),
        lambda f: f.commit_sync("matrix", "t", ["$a"]),
        lambda f: f.claim_event("matrix", "$a"),
    ],
)
def test_redis_unavailable_is_state_unavailable(
    nowhere: Follower, call: Callable[[Follower], Awaitable[object]]
) -> None:
    with pytest.raises(StateUnavailable, match="Redis is unavailable"):
        run(nowhere, lambda: call(nowhere))


def test_a_cancelled_read_stays_a_cancellation(follower: Follower) -> None:
    async def scenario() -> None:
        reader = asyncio.create_task(follower.job_events("silent", block_ms=5000))
        # Cancel the read in flight, not the connect.
        await until(lambda: _blocked(follower), 5, "the read to block")
        reader.cancel()
        with pytest.raises(asyncio.CancelledError):
            await reader

    run(follower, scenario)


def _blocked(follower: Follower) -> bool:
    client = redis.Redis.from_url(follower.url)
    try:
        return any(c.get("cmd") == "xread" for c in client.client_list())
    finally:
        client.close()


def test_a_worker_is_alive_while_it_holds_the_lease_or_the_job_waits(
    follower: Follower, keys: Keys, redis_client: redis.Redis
) -> None:
    assert not run(follower, lambda: follower.worker_alive("nobody"))
    redis_client.set(keys.lock, "token", px=5000)  # a worker's lease
    assert run(follower, lambda: follower.worker_alive("nobody"))
    redis_client.delete(keys.lock)
    redis_client.hset("rq:job:queued1", "status", "queued")  # RQ's record of a waiting job
    assert run(follower, lambda: follower.worker_alive("queued1"))
    redis_client.hset("rq:job:queued1", "status", "started")  # its worker died
    assert not run(follower, lambda: follower.worker_alive("queued1"))
    redis_client.delete("rq:job:queued1")


def test_the_watch_says_stopped_only_after_its_grace(follower: Follower) -> None:
    now = 100.0  # the watch's clock: it moves only when the test moves it

    async def scenario() -> list[bool]:
        nonlocal now
        watch = WorkerWatch(follower, "gone", grace=3.0, every=1.0, monotonic=lambda: now)
        seen = [await watch.stopped()]  # no worker: its grace starts now
        now += 2.0  # a later check, still inside the grace
        seen.append(await watch.stopped())
        now += 0.5  # between checks: the last answer, aged
        seen.append(await watch.stopped())
        now += 0.5  # the grace has passed
        seen.append(await watch.stopped())
        return seen

    assert run(follower, scenario) == [False, False, False, True]
