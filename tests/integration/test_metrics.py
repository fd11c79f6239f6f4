"""The deployment's metrics on a real redis-server: what every process records, what a
scrape reads back, prices that are unknown, and Redis going away mid-life."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from bot.events import Event, EventKind
from bot.model import Actor, ChatPlatform, JobId, UserId
from bot.state import PlatformStatus
from infra.keys import Keys
from infra.metrics import (
    MeteredAuditLog,
    MeteredEventSink,
    MetricsRecorder,
    metrics_client,
)
from infra.metrics_http import DeploymentCollector, PlatformView
from tests.support.services import RestartableRedis, restartable_redis


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RestartableRedis]:
    with restartable_redis(tmp_path / "data") as srv:
        yield srv


def _scrape(client: redis.Redis, keys: Keys, running_hour: float | None) -> dict[str, float]:
    view = PlatformView(
        status=lambda: PlatformStatus(),
        watch=lambda: None,
        leftovers=lambda: False,
        running_hour=running_hour,
    )
    registry = CollectorRegistry()
    registry.register(DeploymentCollector(client, keys, view))
    text = generate_latest(registry).decode()
    out: dict[str, float] = {}
    for family in text_string_to_metric_families(text):
        for s in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(s.labels.items()))
            out[f"{s.name}{{{labels}}}"] = s.value
    return out


def test_events_and_commands_become_series(server: RestartableRedis, project: str) -> None:
    keys = Keys(project)
    client = metrics_client(server.url)
    main = redis.Redis.from_url(server.url)
    metrics = MetricsRecorder(client, keys)
    sink = MeteredEventSink(main, keys, metrics)
    job = JobId("j1")
    sink.emit(Event(EventKind.ACCEPTED, job, 100.0, "start"))
    sink.emit(
        Event(
            EventKind.STEP_FINISHED, job, 101.0, step="scale-up", data={"ok": True, "seconds": 0.7}
        )
    )
    sink.emit(
        Event(
            EventKind.STEP_FINISHED, job, 102.0, step="healthy", data={"ok": False, "seconds": 42.0}
        )
    )
    sink.emit(Event(EventKind.URL_READY, job, 160.0, "ready"))
    sink.emit(
        Event(
            EventKind.FINISHED, job, 161.0, data={"ok": True, "seconds": 61.0, "job_kind": "start"}
        )
    )
    audit = MeteredAuditLog(main, keys, metrics, "jitsi")
    alice = Actor(UserId("alice"), "term", ChatPlatform.CONSOLE)
    audit.record(alice, "start standup", "job job=j1")
    audit.record(alice, "/jitsi start", "job job=j1 joined")
    audit.record(alice, "rm -rf /", "usage-error")  # user text never becomes a label

    m = _scrape(client, keys, running_hour=0.235)
    assert m["jitsi_redis_up{}"] == 1
    assert m["jitsi_step_duration_seconds_bucket{le=1.0,outcome=ok,step=scale-up}"] == 1
    assert m["jitsi_step_duration_seconds_bucket{le=0.5,outcome=ok,step=scale-up}"] == 0
    assert m["jitsi_step_duration_seconds_bucket{le=60.0,outcome=failed,step=healthy}"] == 1
    assert m["jitsi_step_duration_seconds_sum{outcome=failed,step=healthy}"] == 42.0
    assert m["jitsi_time_to_url_seconds_sum{}"] == 60.0
    assert m["jitsi_time_to_url_seconds_count{}"] == 1
    assert m["jitsi_jobs_total{kind=start,outcome=ok}"] == 1
    assert m["jitsi_job_duration_seconds_bucket{kind=start,le=+Inf,outcome=ok}"] == 1
    assert m["jitsi_commands_total{command=start,outcome=job}"] == 1
    assert m["jitsi_commands_total{command=start,outcome=joined}"] == 1
    assert m["jitsi_commands_total{command=invalid,outcome=usage}"] == 1
    assert m["jitsi_platform_state{state=stopped}"] == 1
    assert m["jitsi_running_cost_dollars_per_hour{}"] == 0.0  # stopped, prices known
    assert "jitsi_participants{}" not in m  # no reading yet: no series


def test_unknown_prices_export_no_cost(server: RestartableRedis, project: str) -> None:
    m = _scrape(metrics_client(server.url), Keys(project), running_hour=None)
    assert not any(k.startswith("jitsi_running_cost") for k in m)


def test_off_records_nothing_and_redis_away_costs_nothing(
    server: RestartableRedis, project: str
) -> None:
    keys = Keys(project)
    client = metrics_client(server.url)
    MetricsRecorder(None, keys).count("jitsi_jobs", {"kind": "start", "outcome": "ok"})
    assert not client.exists(keys.metrics_counters)
    server.stop()
    # Recording swallows the outage; a scrape answers at once with redis_up 0.
    MetricsRecorder(client, keys).count("jitsi_jobs", {"kind": "start", "outcome": "ok"})
    assert _scrape(client, keys, running_hour=0.2) == {"jitsi_redis_up{}": 0}
