"""Idle detection end to end on the queue: readings from a stats server the test
owns, the monitor driven tick by tick on a fake clock, stops run by a burst worker."""

from __future__ import annotations

from typing import Any

from bot.events import NoticeKind
from bot.state import PlatformState
from tests.idle.conftest import Rig, StatsServer


def started(rig_factory: Any, stats: StatsServer, **extra: Any) -> Rig:
    idle = {"jicofo_url": f"{stats.url}/stats", **extra.pop("idle", {})}
    rig: Rig = rig_factory(idle=idle, **extra)
    reply = rig.say("start standup")
    rig.drain()
    assert rig.app.store.status().state is PlatformState.RUNNING, reply
    # The start handed the session to a monitor chain waiting on the RQ scheduler.
    assert rig.app.redis.get(rig.app.keys.monitor_scheduled)
    return rig


def test_idle_warns_keep_postpones_then_a_later_idle_stops(
    rig_factory: Any, stats: StatsServer
) -> None:
    rig = started(rig_factory, stats)
    for _ in range(4):  # grace period (5 minutes from the URL): nothing is read
        rig.tick()
    assert stats.requests == 0
    for _ in range(10):
        rig.tick()
    assert not [n for n in rig.notices() if n.kind is NoticeKind.IDLE_WARNING]
    rig.tick()  # 10 minutes of idle readings: the warning, 5 minutes before the stop
    (warning,) = [n for n in rig.notices() if n.kind is NoticeKind.IDLE_WARNING]
    assert warning.text == "No one has been in a meeting for 10 minutes. Stopping in 5 minutes."
    assert (warning.platform, warning.channel) == ("console", "general")  # the session's origin
    assert warning.data["keep_command"] == "keep 30" and warning.data["stop_at"] > rig.clock.now()

    kept = rig.say("keep 45")
    assert "no idle stop for 45 minutes" in kept.text
    before = stats.requests
    for _ in range(44):
        assert rig.tick() == "watching"
    assert stats.requests == before  # nothing is read while kept
    for _ in range(10):  # idle again: a fresh count to the warning
        rig.tick()
    assert len([n for n in rig.notices() if n.kind is NoticeKind.IDLE_WARNING]) == 1
    rig.tick()
    assert len([n for n in rig.notices() if n.kind is NoticeKind.IDLE_WARNING]) == 2
    for _ in range(4):
        assert rig.tick() == "watching"
    assert rig.tick() == "ended"  # the stop was asked for; the chain ends
    assert rig.app.store.status().desired.value == "stopped"
    rig.drain()  # the stop job, as the system
    assert rig.app.store.status().state is PlatformState.STOPPED
    (stop,) = [n for n in rig.notices() if n.kind is NoticeKind.IDLE_STOP]
    assert stop.text.startswith("Stopped because nobody was in a meeting.")
    assert "cost about $" in stop.text and stop.data["session_cost"] > 0
    assert stop.channel == "general"
    assert rig.app.redis.get(rig.app.keys.session_watch) is None


def test_a_lone_participant_is_not_idle(rig_factory: Any, stats: StatsServer) -> None:
    rig = started(rig_factory, stats)
    stats.participants = 1  # Jicofo counts the one person waiting for the others
    for _ in range(60):
        assert rig.tick() == "watching"
    assert stats.requests == 56
    assert not [n for n in rig.notices() if n.kind is NoticeKind.IDLE_WARNING]
    assert rig.app.store.status().desired.value == "running"


def test_someone_joining_after_the_warning_clears_it(rig_factory: Any, stats: StatsServer) -> None:
    rig = started(rig_factory, stats)
    for _ in range(15):
        rig.tick()
    assert any(n.kind is NoticeKind.IDLE_WARNING for n in rig.notices())
    stats.participants = 3
    rig.tick()
    assert "Someone joined" in rig.texts()[-1]
    stats.participants = 0
    for _ in range(9):  # the idle count starts again from zero
        assert rig.tick() == "watching"
    assert rig.app.store.status().desired.value == "running"


def test_a_source_that_times_out_is_unknown_reported_once_and_never_stops(
    rig_factory: Any, stats: StatsServer
) -> None:
    rig = started(rig_factory, stats, idle={"source_timeout_seconds": 0.05})
    stats.stall = True
    for _ in range(25):  # far past the grace and idle_minutes
        assert rig.tick() == "watching"
    unknown = [n for n in rig.notices() if n.kind is NoticeKind.SOURCE_UNKNOWN]
    assert len(unknown) == 1 and "no answer within 0.05 s" in unknown[0].text
    assert not [n for n in rig.notices() if n.kind is NoticeKind.IDLE_WARNING]
    assert rig.app.store.status().desired.value == "running"


def test_keep_is_capped_and_refused_when_stopped(rig_factory: Any, stats: StatsServer) -> None:
    rig = rig_factory(idle={"keep_max_minutes": 60})
    assert "not running" in rig.say("keep").text
    rig.say("start")
    rig.drain()
    reply = rig.say("keep 3h")
    assert "no idle stop for 60 minutes (capped at the maximum of 60)" in reply.text
    assert rig.say("keep soon").kind.value == "usage"


def test_max_session_length_warns_then_stops(rig_factory: Any, stats: StatsServer) -> None:
    rig = started(rig_factory, stats, idle={"max_session_hours": 1})
    stats.participants = 4
    ticks = 0
    while not rig.notices():
        rig.tick()
        ticks += 1
    assert 50 <= ticks <= 56
    assert "stops at its limit of 1 h in" in rig.texts()[-1]
    outcomes = []
    while not outcomes or outcomes[-1] != "ended":
        outcomes.append(rig.tick())
    assert len(outcomes) <= 6
    rig.drain()
    assert rig.texts()[-1].startswith("Stopped because the session reached its maximum length.")


def test_one_monitor_chain_per_platform(rig_factory: Any, stats: StatsServer) -> None:
    rig = started(rig_factory, stats)
    assert not rig.guards.ensure_monitor()  # the start's chain exists
    assert rig.guards.run_monitor("monitor-impostor") == "ended"  # not the recorded run
    assert rig.tick() == "watching"
