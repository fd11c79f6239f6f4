"""One contract for the platform store, run on Redis and on the in-memory fake;
plus the Redis-only pieces: ledger, lease lock (audit log: test_audit_log; stream cursors:
test_follow)."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis

from bot.model import Actor, ChatPlatform, JobId, JobKind, UserId
from bot.state import Claim, DesiredState, PlatformState, PlatformStatus
from infra.keys import Keys
from infra.lock import LeaseLock
from infra.redis_store import RedisLedger, RedisPlatformStore
from tests.support.memory import MemoryStore
from tests.support.services import wait_for

ALICE = Actor(UserId("console:alice"), "general", ChatPlatform.CONSOLE)


@pytest.fixture(params=["redis", "memory"])
def store(request: pytest.FixtureRequest, redis_client: redis.Redis, project: str):  # type: ignore[no-untyped-def]
    if request.param == "redis":
        return RedisPlatformStore(redis_client, Keys(project))
    return MemoryStore()


def test_fresh_platform_is_stopped(store) -> None:  # type: ignore[no-untyped-def]
    s = store.status()
    assert (
        s.state is PlatformState.STOPPED and s.desired is DesiredState.STOPPED and s.job_id is None
    )


def test_desired_and_save_round_trip(store) -> None:  # type: ignore[no-untyped-def]
    store.set_desired(DesiredState.RUNNING, ALICE)
    status = PlatformStatus(
        state=PlatformState.RUNNING,
        url="https://m.example.org/x",
        ingress_address="x.elb",
        session_started_at=12.5,
        session_room="x",
        updated_at=13.0,
    )
    store.save(status)
    got = store.status()
    assert got.desired is DesiredState.RUNNING
    assert (got.state, got.url, got.ingress_address, got.session_started_at, got.session_room) == (
        PlatformState.RUNNING,
        "https://m.example.org/x",
        "x.elb",
        12.5,
        "x",
    )
    store.save(PlatformStatus(state=PlatformState.STOPPED))
    assert store.status().url is None and store.status().desired is DesiredState.RUNNING


def test_claim_joins_same_kind_and_save_keeps_the_job(store) -> None:  # type: ignore[no-untyped-def]
    assert store.request(JobKind.START, JobId("a"), ALICE, "standup") == Claim(JobId("a"))
    assert store.status().desired is DesiredState.RUNNING  # written by the same call
    assert store.status().job_room == "standup"  # for a reconciler that resumes it
    assert store.request(JobKind.START, JobId("b"), ALICE) == Claim(JobId("a"), joined=True)
    store.save(PlatformStatus(state=PlatformState.STARTING))
    assert store.status().job_id == "a"
    assert store.request(JobKind.STOP, JobId("c"), ALICE) == Claim(JobId("c"))  # a stop takes over
    assert store.status().desired is DesiredState.STOPPED
    store.finish_job(JobId("a"))  # the old start ending must not clear the stop
    assert store.status().job_id == "c"
    assert store.status().job_room is None  # the stop named no room
    store.finish_job(JobId("c"))
    assert store.status().job_id is None


def test_concurrent_claims_make_exactly_one_job(redis_client: redis.Redis, project: str) -> None:
    store = RedisPlatformStore(redis_client, Keys(project))
    with ThreadPoolExecutor(16) as pool:
        results = list(
            pool.map(lambda i: store.request(JobKind.START, JobId(f"j{i}"), ALICE), range(64))
        )
    owners = {c.job_id for c in results if not c.joined}
    assert len(owners) == 1 and {c.job_id for c in results} == owners


def test_start_while_running_returns_the_url_and_changes_nothing(store) -> None:  # type: ignore[no-untyped-def]
    store.set_desired(DesiredState.RUNNING, ALICE)
    store.save(PlatformStatus(state=PlatformState.RUNNING, url="https://m.example.org"))
    assert store.request(JobKind.START, JobId("x"), ALICE) == Claim(
        None, running_url="https://m.example.org"
    )
    assert store.status().job_id is None
    assert store.request(JobKind.STOP, JobId("y"), ALICE) == Claim(JobId("y"))


def test_ledger_month_to_date(redis_client: redis.Redis, project: str) -> None:
    ledger = RedisLedger(redis_client, Keys(project))
    nov = 1_795_000_000.0  # 2026-11-18 UTC
    ledger.record_session(nov, nov + 5400, 0.37)
    ledger.record_session(nov + 10_000, nov + 13_600, 0.25)
    hours, cost = ledger.month_to_date(nov + 20_000)
    assert hours == pytest.approx(2.5) and cost == pytest.approx(0.62)
    assert ledger.month_to_date(nov + 40 * 86400) == (0.0, 0.0)  # next month starts at zero


def test_lease_expires_when_its_owner_stops_renewing(
    redis_client: redis.Redis, project: str
) -> None:
    keys = Keys(project)
    owner = LeaseLock(redis_client, keys.lock, lease=2)
    assert owner.acquire(0)
    other = LeaseLock(redis_client, keys.lock, lease=2)
    assert not other.acquire(0)
    # A live owner renews: the lock outlives its lease.
    acquired = time.monotonic()
    wait_for(lambda: time.monotonic() - acquired > 2.5, 5, "one lease to pass")
    assert redis_client.exists(keys.lock) and not other.acquire(0)
    # Simulate SIGKILL: the renewer stops, nobody releases.
    owner._stop.set()
    began = time.monotonic()
    assert other.acquire(5)
    assert time.monotonic() - began <= 3
    other.release()


def test_lock_waiter_is_told_once(redis_client: redis.Redis, project: str) -> None:
    keys = Keys(project)
    holder = LeaseLock(redis_client, keys.lock, lease=5)
    holder.acquire(0)
    told = []
    threading.Timer(0.3, holder.release).start()
    assert LeaseLock(redis_client, keys.lock, lease=5).acquire(5, lambda: told.append(1))
    assert told == [1]
