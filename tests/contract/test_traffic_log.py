"""Past sessions' measured traffic in Redis, and the per-participant-hour estimate
`cost` shows from it."""

from __future__ import annotations

import pytest
import redis

from bot.traffic import per_participant_hour
from infra.keys import Keys
from infra.traffic_log import RedisTrafficLog


def test_per_participant_hour_from_past_sessions(redis_client: redis.Redis, project: str) -> None:
    log = RedisTrafficLog(redis_client, Keys(project))
    assert per_participant_hour(log.recent(50)) is None  # no data: no estimate
    log.record(1_795_000_000.0, 3.0, 0.30, 6.0)
    log.record(1_795_010_000.0, 1.0, 0.10, 2.0)
    log.record(1_795_020_000.0, 0.5, 0.05, 0.0)  # participants not measured: left out
    assert log.recent(2)[0] == (0.5, 0.05, 0.0)  # newest first
    per = per_participant_hour(log.recent(50))
    assert per is not None and per.sessions == 2
    assert per.gigabytes == pytest.approx(0.5) and per.dollars == pytest.approx(0.05)
