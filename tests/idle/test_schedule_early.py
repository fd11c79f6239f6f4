"""Scheduled starts begin early, by this deployment's measured time to URL: real Redis,
RQ's scheduled registry and scheduler, the lifecycle on a fake cloud and clock."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from rq import Queue
from rq.registry import ScheduledJobRegistry

from bot import schedule
from bot.reply import ReplyKind
from bot.state import PlatformState
from bot.watch import ScheduledItem
from infra.keys import READY_TIMES_MAXLEN
from infra.ready_times import RedisReadyTimes

# The fake clock's now: 2026-05-28 20:26:40 UTC (tests/idle/conftest.py).
TODAY_21 = datetime(2026, 5, 28, 21, 0, tzinfo=UTC).timestamp()


def _due(rig: Any) -> list[float]:
    """When RQ's scheduled registry will run each scheduled job (epoch seconds)."""
    registry = ScheduledJobRegistry(queue=Queue(rig.app.keys.queue_name, connection=rig.app.redis))
    return sorted(float(s) for _, s in rig.app.redis.zrange(registry.key, 0, -1, withscores=True))


def _item(rig: Any, reply_text: str) -> ScheduledItem:
    item_id = reply_text.split("id ")[1].split(".")[0]
    item = rig.app.scheduler.get(item_id)
    assert item is not None
    return item


# ---------------------------------------------------------------- the arithmetic


def test_percentile_is_nearest_rank() -> None:
    samples = [float(s) for s in range(1, 21)]  # 1..20
    assert schedule.percentile(samples, 90) == 18
    assert schedule.percentile([42.0], 90) == 42
    assert schedule.percentile([5.0, 1.0], 50) == 1
    with pytest.raises(ValueError):
        schedule.percentile([], 90)


def test_defaults_per_ingress_before_any_measurement() -> None:
    assert schedule.ready_seconds([], "nlb") == 180
    assert schedule.ready_seconds([], "direct") == 60
    assert schedule.ready_seconds([], "something-new") == schedule.FALLBACK_READY_SECONDS
    assert schedule.ready_seconds([70.0, 65.0], "nlb") == 70  # history wins over the default


def test_begin_is_on_a_whole_minute_and_never_in_the_past() -> None:
    assert schedule.begin_at(TODAY_21, 180, 0) == TODAY_21 - 180
    assert schedule.begin_at(TODAY_21, 163, 0) == TODAY_21 - 180  # 20:57:17 -> 20:57
    assert schedule.begin_at(TODAY_21, 600, TODAY_21 - 60) == TODAY_21 - 60
    text = schedule.early_text(TODAY_21 - 180, TODAY_21, 0, "UTC")
    assert text == "starts 20:57 so the meeting is ready at 21:00"
    assert schedule.early_text(100.0, TODAY_21, 100.0, "UTC").startswith("starts now")


# ---------------------------------------------------------------- through Redis and RQ


def test_without_history_a_start_begins_the_nlb_default_early(rig_factory: Any) -> None:
    rig = rig_factory()
    reply = rig.say("start at 21:00 for 1h")
    assert reply.kind is ReplyKind.INFO
    assert "today 21:00 UTC for 1 h; starts 20:57 so the meeting is ready at 21:00" in reply.text
    assert _due(rig) == [TODAY_21 - 180]
    assert "starts 20:57 so the meeting is ready at 21:00" in rig.say("schedule").text
    # A stop is not begun early.
    rig.say("stop at 23:00")
    assert _due(rig)[-1] == datetime(2026, 5, 28, 23, 0, tzinfo=UTC).timestamp()


def test_measured_starts_set_how_early(rig_factory: Any) -> None:
    rig = rig_factory()
    times = rig.app.ready_times
    for seconds in [40.0] * 17 + [250.0, 260.0, 300.0]:  # 20 starts, three slow ones
        times.record(seconds)
    assert times.ready_seconds() == 250  # the 90th percentile: 18th of 20
    reply = rig.say("start at 21:00")
    assert "starts 20:55 so the meeting is ready at 21:00" in reply.text
    assert _due(rig) == [TODAY_21 - 300]  # 20:55:50 -> 20:55


def test_a_real_start_records_its_time_to_url_and_the_list_stays_bounded(
    rig_factory: Any,
) -> None:
    rig = rig_factory()
    assert rig.say("start").kind is ReplyKind.JOB
    rig.drain()
    assert rig.app.store.status().state is PlatformState.RUNNING
    [measured] = rig.app.ready_times.samples()
    # The fake cloud's task runs after 40 s and its containers turn healthy after that.
    assert 40 <= measured <= 300
    assert rig.app.ready_times.ready_seconds() == measured

    for i in range(READY_TIMES_MAXLEN + 10):
        rig.app.ready_times.record(100.0 + i)
    assert rig.app.redis.llen(rig.app.ready_times.key) == READY_TIMES_MAXLEN
    assert len(rig.app.ready_times.samples()) == schedule.READY_SAMPLES


def test_each_ingress_has_its_own_history(rig_factory: Any) -> None:
    rig = rig_factory()
    direct = RedisReadyTimes(rig.app.redis, rig.app.keys, "direct")
    rig.app.ready_times.record(150.0)
    assert direct.samples() == []
    assert direct.ready_seconds() == 60
    direct.record(45.0)
    assert direct.ready_seconds() == 45 and rig.app.ready_times.ready_seconds() == 150
    rig.app.redis.lpush(direct.key, "not-a-number")  # written by hand: skipped
    assert direct.samples() == [45.0]


def test_an_early_start_runs_and_its_session_length_counts_from_the_time_asked(
    rig_factory: Any,
) -> None:
    rig = rig_factory()
    item = _item(rig, rig.say("start at 21:00 for 2h standup").text)
    assert item.begins_at == TODAY_21 - 180 and item.at == TODAY_21
    rig.clock.m += item.begins_at - rig.clock.now()  # the worker runs it at 20:57
    assert rig.make_due() == 1
    rig.drain()
    assert rig.app.store.status().url == "https://meet.example.com/standup"
    [stop] = [i for i in rig.app.scheduler.items() if i.kind == "stop"]
    assert stop.at == TODAY_21 + 2 * 3600  # 23:00, not 22:57
    assert stop.begins_at is None


def test_a_start_asked_for_within_its_lead_begins_now(rig_factory: Any) -> None:
    rig = rig_factory()
    reply = rig.say("start at 20:28")  # in 80 s; a start takes 180 s here
    assert "starts now so the meeting is ready at 20:28" in reply.text
    assert _due(rig) == [rig.clock.now()]


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("start at 25:00", "not a time of day"),
        ("start at 10:60", "not a time of day"),
        ("start at -1:00", "not a time of day"),
        ("start at 10:00 for -1h", "not a duration"),
        ("start at 10:00 for 0m", "between 1 minute and 24 hours"),
        ("start at 10:00 for 25h", "between 1 minute and 24 hours"),
        ("start at 10:00 for", "needs a duration"),
        ("start at", "Usage: start at HH:MM"),
        ("start at 10:00 for 1h two rooms", "cannot contain spaces"),
    ],
)
def test_malformed_start_at_is_refused_and_schedules_nothing(
    rig_factory: Any, text: str, needle: str
) -> None:
    rig = rig_factory()
    reply = rig.say(text)
    assert reply.kind is ReplyKind.USAGE, (text, reply.text)
    assert needle in reply.text, (text, reply.text)
    assert _due(rig) == [] and rig.app.scheduler.items() == []
