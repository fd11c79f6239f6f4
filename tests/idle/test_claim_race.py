"""A reconcile that runs between a command's claim and its enqueue (real Redis and RQ;
AWS parts are the recording fakes).

`start standup` claims the job slot, then queues the job: one round trip apart. A
worker's first reconcile landing in between used to resume the claim itself, without
its room (the meeting URL lost `/standup`), and then the queued job ran again. Now
a young claim is left to its command, and an old one (its command died before
queueing) is resumed with the room it asked for.
"""

from __future__ import annotations

import time
from typing import Any

from bot.model import JobId, JobKind
from bot.state import PlatformState
from infra import jobs
from tests.idle.conftest import actor


def test_a_young_claim_is_left_to_its_command(rig_factory: Any) -> None:
    rig = rig_factory()
    claim = rig.app.store.request(JobKind.START, JobId("claimed0001"), actor(), "standup")
    status = rig.app.store.status()
    assert (status.job_id, status.job_room) == (claim.job_id, "standup")
    assert status.job_claimed_at is not None

    assert jobs.reconcile() == "job claimed0001 was just claimed; its command queues it"
    assert rig.app.store.status().state is PlatformState.STOPPED
    assert not rig.cloud.calls  # nothing touched AWS


def test_a_queued_job_is_no_longer_a_fresh_claim(rig_factory: Any) -> None:
    rig = rig_factory()
    reply = rig.say("start standup")
    status = rig.app.store.status()
    assert status.job_id == reply.job_id and status.job_claimed_at is None
    assert "is queued" in jobs.reconcile()
    rig.drain()
    status = rig.app.store.status()
    assert status.url is not None and status.url.endswith("/standup")
    assert (status.job_id, status.job_room) == (None, None)


def test_a_claim_whose_command_died_is_resumed_with_its_room(rig_factory: Any) -> None:
    rig = rig_factory()
    rig.app.store.request(JobKind.START, JobId("orphaned001"), actor(), "standup")
    # Its command died before queueing it, a minute ago.
    rig.app.redis.hset(rig.app.keys.platform, "job_claimed_at", repr(time.time() - 60))

    assert jobs.reconcile() == "resumed start as job orphaned001"
    status = rig.app.store.status()
    assert status.state is PlatformState.RUNNING
    assert status.url is not None and status.url.endswith("/standup")
    assert status.session_room == "standup" and status.job_id is None
