"""The running session's record: typed readings written by ``decide``, enums that
survive JSON, and records written by older versions still loading."""

from __future__ import annotations

import json

import pytest

from bot import idle
from bot.config import Settings
from bot.cost import CostModel
from bot.model import ChatPlatform
from bot.watch import Reading, SessionWatch, StopReason
from infra.pricing import load_prices

START = 1_700_000_000.0


@pytest.fixture
def settings() -> Settings:
    return Settings()


@pytest.fixture
def costs(settings: Settings) -> CostModel:
    return CostModel(settings, load_prices("us-east-1"))


def test_decide_records_the_reading_typed(settings: Settings, costs: CostModel) -> None:
    watch = SessionWatch(START, ready_at=START)
    now = START + 1200
    seen = idle.decide(watch, Reading(2, "jicofo"), now, settings, 0.0, costs).watch
    assert (seen.last_participants, seen.last_read_at, seen.last_source) == (2, now, "jicofo")
    later = now + 60
    unknown = idle.decide(seen, Reading(None, "jvb", "HTTP 503"), later, settings, 0.0, costs)
    assert unknown.watch.last_participants is None and unknown.watch.last_read_at == later
    assert unknown.watch.last_source == "jvb" and unknown.watch.unknown_reported
    # Not read (grace period, `keep`, source off): the last reading stays as it was.
    untouched = idle.decide(seen, None, later, settings, 0.0, costs).watch
    assert (untouched.last_participants, untouched.last_read_at) == (2, now)


def test_a_stop_reason_is_the_enum(settings: Settings, costs: CostModel) -> None:
    limited = settings.model_copy(
        update={"idle": settings.idle.model_copy(update={"max_session_hours": 1.0})}
    )
    verdict = idle.decide(SessionWatch(START), None, START + 3600, limited, 0.0, costs)
    assert verdict.stop is StopReason.MAX_SESSION
    assert verdict.watch.stop_reason is StopReason.MAX_SESSION
    assert idle.StopReason is StopReason  # still importable where it used to live


def test_enums_round_trip_through_json() -> None:
    watch = SessionWatch(
        START,
        origin_platform=ChatPlatform.MATRIX,
        origin_channel="!r:hs",
        stop_reason=StopReason.SCHEDULE,
        last_participants=0,
        last_read_at=START + 60,
        last_source="jicofo",
    )
    body = json.loads(watch.to_json())
    assert body["origin_platform"] == "matrix" and body["stop_reason"] == "schedule"
    loaded = SessionWatch.from_json(watch.to_json())
    assert loaded == watch
    assert loaded.origin_platform is ChatPlatform.MATRIX
    assert loaded.stop_reason is StopReason.SCHEDULE


def test_values_become_enums() -> None:
    # Callers that still pass the enums' values (``platform.value``, "schedule").
    watch = SessionWatch(START, origin_platform="slack", stop_reason="idle")  # type: ignore[arg-type]
    assert watch.origin_platform is ChatPlatform.SLACK and watch.stop_reason is StopReason.IDLE
    assert watch.with_(stop_reason="budget").stop_reason is StopReason.BUDGET
    with pytest.raises(ValueError):
        SessionWatch(START, stop_reason="bored")  # type: ignore[arg-type]


def test_an_old_record_still_loads() -> None:
    old = {
        "session_started_at": START,
        "origin_platform": "slack",
        "origin_channel": "C0001",
        "stop_reason": "idle",
        "last_reading": "jicofo: 0",  # the display string chat used to parse back
        "retired_field": True,
    }
    watch = SessionWatch.from_json(json.dumps(old))
    assert watch.origin_platform is ChatPlatform.SLACK and watch.stop_reason is StopReason.IDLE
    assert watch.last_participants is None and watch.last_read_at is None
    assert watch.idle_readings == 0  # missing: the default
