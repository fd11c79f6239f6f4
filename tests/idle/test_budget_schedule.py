"""The monthly budget (refusal, admin override, 80% warning, stop at 100%) and
scheduled sessions (listed, cancelled, run by a scheduler that was not the one
that took them: the schedule lives in Redis)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import redis
from rq import Queue
from rq.registry import ScheduledJobRegistry

from bot.events import NoticeKind
from bot.reply import ReplyKind
from bot.state import PlatformState
from tests.idle.conftest import Rig


def spent(rig: Rig, dollars: float) -> None:
    now = rig.clock.now()
    rig.app.ledger.record_session(now - 3600, now - 1800, dollars)


def test_start_is_refused_with_the_numbers_when_one_hour_would_pass_the_budget(
    rig_factory: Any,
) -> None:
    rig = rig_factory(budget={"monthly": 10.0, "admins": ["console:root"]})
    spent(rig, 9.9)
    reply = rig.say("start")
    assert reply.kind is ReplyKind.DENIED and reply.exit_code == 2
    assert "This month's cost is $9.90" in reply.text and "budget of $10.00" in reply.text
    assert "start --force" in reply.text
    assert len(Queue(rig.app.keys.queue_name, connection=rig.app.redis)) == 0
    assert "Only a budget admin" in rig.say("start --force").text  # alice is no admin
    forced = rig.say("start --force standup", who="root")
    assert forced.kind is ReplyKind.JOB and "forced by an admin" in forced.text
    assert "of a $10.00 budget" in rig.say("cost").text


def test_a_running_session_is_warned_at_80_percent_and_stopped_at_100(rig_factory: Any) -> None:
    rig = rig_factory(budget={"monthly": 5.0}, idle={"source": "off"})
    spent(rig, 4.0)  # + one hour ($0.24) fits: the start is allowed
    rig.say("start")
    rig.drain()
    rig.tick()
    (warning,) = [n for n in rig.notices() if n.kind is NoticeKind.BUDGET]
    assert "81% of the monthly budget of $5.00" in warning.text
    outcome = "watching"
    hours = 0
    while outcome == "watching":
        outcome = rig.tick(60)
        hours += 1
    assert 3 <= hours <= 5  # about $0.95 more at $0.24 per hour
    rig.drain()
    assert rig.app.store.status().state is PlatformState.STOPPED
    budget = [n for n in rig.notices() if n.kind is NoticeKind.BUDGET]
    assert "Stopping now" in budget[1].text
    assert budget[-1].text.startswith("Stopped because the monthly budget was reached.")


def test_malformed_schedule_and_keep_input_gets_usage(rig_factory: Any) -> None:
    rig = rig_factory()
    for text, needle in [
        ("start at 25:00", "not a time of day"),
        ("start at 9:00 for ever", "not a duration"),
        ("start at 9:00 for 30h", "between 1 minute and 24 hours"),
        ("stop at noon", "not a time of day"),
        ("keep 1 2", "at most one number"),
        ("cancel", "Usage: cancel <id>"),
        ("cancel zz9999", "No scheduled start or stop has id zz9999"),
    ]:
        reply = rig.say(text)
        assert reply.kind is ReplyKind.USAGE, text
        assert needle in reply.text, (text, reply.text)


def test_schedules_are_listed_cancelled_and_survive_a_scheduler_restart(
    rig_factory: Any, redis_url: str
) -> None:
    rig = rig_factory(schedule={"timezone": "Europe/Berlin"})
    # The fake clock's now is 2026-05-28 20:26:40 UTC, 22:26 in Berlin.
    reply = rig.say("start at 18:45 for 2h standup")
    assert reply.kind is ReplyKind.INFO and "tomorrow 18:45 Europe/Berlin for 2 h" in reply.text
    start_id = reply.text.split("id ")[1].split(".")[0]
    other = rig.say("stop at 23:00").text.split("id ")[1].split(".")[0]
    listing = rig.say("schedule").text
    assert start_id in listing and other in listing and "room standup" in listing
    assert "Cancelled the stop today 23:00" in rig.say(f"cancel {other}").text
    assert other not in rig.say("schedule").text

    queue = Queue(rig.app.keys.queue_name, connection=rig.app.redis)
    registry = ScheduledJobRegistry(queue=queue)
    (job_id,) = registry.get_job_ids()
    due = datetime.fromtimestamp(float(rig.app.redis.zscore(registry.key, job_id)), UTC)
    # 18:45 CEST, begun 3 minutes early: the NLB's time to URL before any start was measured.
    assert due == datetime(2026, 5, 29, 16, 42, tzinfo=UTC)

    # Everything is in Redis: a new connection (a restarted worker) runs it when due.
    rig.app.__dict__["redis"] = redis.Redis.from_url(redis_url)
    assert rig.make_due() == 1
    rig.drain()
    status = rig.app.store.status()
    assert (
        status.state is PlatformState.RUNNING and status.url == "https://meet.example.com/standup"
    )
    scheduled = [n for n in rig.notices() if n.kind is NoticeKind.SCHEDULE]
    assert (
        "Scheduled start by alice" in scheduled[0].text
        and "It runs for 120 min" in scheduled[0].text
    )
    assert scheduled[-1].text.startswith("Meeting ready: https://meet.example.com/standup")
    assert scheduled[-1].channel == "general"
    assert "stop" in rig.say("schedule").text  # the session's stop is now scheduled

    rig.clock.m += 7200
    assert rig.make_due() >= 1  # the stop (and the idle monitor's next run)
    rig.drain()
    assert rig.app.store.status().state is PlatformState.STOPPED
    assert rig.texts()[-1].startswith("Stopped because it was scheduled.")
    assert rig.say("schedule").text == "Nothing is scheduled."


def test_a_scheduled_start_answers_to_the_budget(rig_factory: Any) -> None:
    rig = rig_factory(budget={"monthly": 1.0})
    spent(rig, 0.9)
    rig.say("start at 08:00")
    rig.make_due()
    rig.drain()
    assert rig.app.store.status().state is PlatformState.STOPPED
    (notice,) = [n for n in rig.notices() if n.kind is NoticeKind.SCHEDULE]
    assert "Start refused" in notice.text and notice.data["refused"] is True
