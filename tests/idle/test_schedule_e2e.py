"""Scheduled start and stop through `jitsi-bot say` and real worker processes on the
emulator, with the worker stopped and replaced between scheduling and running.

Instead of waiting for 18:45, the test moves the job's time in RQ's scheduled
registry to now: what must survive the restart is in Redis, and that is where
the new worker's scheduler finds it."""

from __future__ import annotations

import os
import signal
import time

import pytest
import redis
from rq import Queue
from rq.registry import ScheduledJobRegistry

from bot.events import Notice
from infra.keys import Keys
from infra.redis_store import RedisPlatformStore
from tests.e2e.conftest import Platform
from tests.support.services import wait_for

pytestmark = pytest.mark.e2e


def due_now(client: redis.Redis, keys: Keys, prefix: str) -> str:
    """Make the scheduled job whose id starts with ``prefix`` due now."""
    registry = ScheduledJobRegistry(queue=Queue(keys.queue_name, connection=client))
    (job_id,) = [j for j in registry.get_job_ids() if j.startswith(prefix)]
    client.zadd(registry.key, {job_id: time.time()})
    return job_id


def notices(client: redis.Redis, keys: Keys) -> list[Notice]:
    rows = client.xrange(keys.notices)
    return [Notice.from_fields({k.decode(): v.decode() for k, v in r.items()}) for _, r in rows]


def test_scheduled_start_and_stop_survive_a_worker_restart(platform: Platform) -> None:
    client = redis.Redis.from_url(platform.settings.redis_dsn)
    keys = Keys(platform.settings.project_name)
    store = RedisPlatformStore(client, keys)
    first = platform.start_worker()
    scheduled = platform.say("start at 06:30 for 1h retro")
    assert scheduled.code == 0 and "Scheduled start" in scheduled.stdout, scheduled.stdout
    # A restart (deploy, host reboot): SIGTERM, so RQ's scheduler hands over its lock.
    # After a SIGKILL the lock outlives the worker by up to a minute (docs/idle.md).
    os.killpg(first.pid, signal.SIGTERM)
    first.wait(timeout=30)

    due_now(client, keys, "sched-")
    platform.start_worker()
    wait_for(lambda: store.status().state.value == "running", 60, "the scheduled start")
    assert store.status().url == "https://meet.e2e.example/retro"
    wait_for(
        lambda: any(n.text.startswith("Meeting ready") for n in notices(client, keys)),
        30,
        "the ready notice",
    )
    listing = platform.say("schedule")
    assert "stop" in listing.stdout  # the session's end, scheduled when it started

    due_now(client, keys, "sched-")
    wait_for(lambda: store.status().state.value == "stopped", 60, "the scheduled stop")
    wait_for(
        lambda: any("Stopped because it was scheduled" in n.text for n in notices(client, keys)),
        30,
        "the stop notice",
    )
    audit = platform.cli("infra", "audit", "--json")
    assert audit.code == 0, audit.stdout
    client.close()
