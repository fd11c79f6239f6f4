"""Idle detection from Jicofo's count, as the task's stats sidecar publishes it
(CloudWatch ``JitsiChatops/Participants``, dimension ``Project``), against the AWS
emulator that simulates the sidecar for every running task.

The platform really starts on the emulator (real clock); the monitor is then driven
tick by tick on a fake clock anchored at the real time, while each reading is a real
GetMetricData on the emulator's CloudWatch (so the source keeps the real clock)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from adapters.wiring import App
from bot.config import Settings
from bot.events import NoticeKind
from bot.state import PlatformState
from infra import jobs
from infra.aws.bootstrap import bootstrap
from infra.aws.session import AwsClients
from infra.clock import SystemClock
from infra.idle_sources import ParticipantsMetricSource, build_source
from tests.idle.conftest import Rig, actor, make_settings
from tests.support.aws import ready_account
from tests.support.clocks import FakeClock
from tests.support.services import control, https_front, wait_for

# Readings older than 6 s are no readings; the emulator's field profile at 0.02
# publishes every 1.2 s, so the query's period is 1 s (the sidecar's real one is 60 s).
FAST_METRIC = {"metric_max_age_minutes": 0.1, "metric_period_seconds": 1}


class Live:
    """A platform running on the emulator, and a rig whose monitor reads its metric."""

    def __init__(self, settings: Settings, emulator_url: str) -> None:
        settings = ready_account(settings.model_copy(update=https_front(emulator_url)))
        self.settings = settings
        self.emulator_url = emulator_url
        bootstrap(settings, AwsClients(settings))
        self.real = App(settings)  # runs the lifecycle jobs, on the real clock
        jobs.install(self.real.job_context())
        self.source = build_source(settings, SystemClock(), self.real.nlb)
        clock = FakeClock(start=time.time())
        self.rig = Rig(App(settings, clock=clock, given_source=self.source), clock, None)  # type: ignore[arg-type]

    def participants(self, count: int | None) -> None:
        """What this project's simulated sidecar reports from now on."""
        control(
            self.emulator_url,
            "participants",
            {"count": count, "project": self.settings.project_name},
        )

    def start(self) -> None:
        self.real.service.handle("start standup", actor())
        self.rig.drain()
        assert self.rig.app.store.status().state is PlatformState.RUNNING
        # The monitor's minutes count from the URL, as on a real clock.
        self.rig.clock.t, self.rig.clock.m = time.time(), 0.0

    def close(self) -> None:
        if self.rig.app.store.status().state is not PlatformState.STOPPED:
            self.real.service.handle("stop", actor())  # no task left publishing
            self.rig.drain()
        jobs.install(None)
        self.real.redis.close()
        self.rig.app.redis.close()


@pytest.fixture
def live(emulator_url: str, redis_url: str, project: str) -> Iterator[Callable[[], Live]]:
    made: list[Live] = []

    def build(**idle: Any) -> Live:
        settings = make_settings(
            project,
            redis_url,
            aws_endpoint_url=emulator_url,
            poll_min_seconds=0.05,
            poll_max_seconds=0.2,
            idle={**FAST_METRIC, **idle},
        )
        made.append(Live(settings, emulator_url))
        return made[-1]

    yield build
    for one in made:
        one.close()


def kinds(rig: Rig, kind: NoticeKind) -> list[Any]:
    return [n for n in rig.notices() if n.kind is kind]


def test_it_is_the_default_source(live: Callable[[], Live]) -> None:
    assert isinstance(live().source, ParticipantsMetricSource)


def test_an_empty_platform_stops_after_the_idle_window(live: Callable[[], Live]) -> None:
    platform = live()
    platform.participants(0)
    platform.start()
    rig = platform.rig
    wait_for(lambda: platform.source.read().participants == 0, 20, "the sidecar's first 0")
    for _ in range(14):  # 5 minutes of grace, then 10 of idle readings: not yet
        assert rig.tick() == "watching"
    assert not kinds(rig, NoticeKind.IDLE_WARNING)
    rig.tick()
    (warning,) = kinds(rig, NoticeKind.IDLE_WARNING)
    assert warning.text == "No one has been in a meeting for 10 minutes. Stopping in 5 minutes."
    for _ in range(4):
        assert rig.tick() == "watching"
    assert rig.tick() == "ended"
    watch = rig.app.sessions.load()
    assert watch is not None and (watch.last_source, watch.last_participants) == (
        "jicofo-metric",
        0,
    )
    rig.drain()
    assert rig.app.store.status().state is PlatformState.STOPPED
    (stop,) = kinds(rig, NoticeKind.IDLE_STOP)
    assert stop.text.startswith("Stopped because nobody was in a meeting.")
    # No task, no sidecar: the metric goes quiet and the source says unknown, not 0.
    reading = wait_for(lambda: (r := platform.source.read()).unknown and r, 30, "silence")
    assert "no Participants datapoint in the last 0.1 minutes" in reading.detail  # type: ignore[union-attr]


def test_a_lone_participant_keeps_the_platform(live: Callable[[], Live]) -> None:
    """One person waiting: no conference on the bridge (min-participants 2) and, for
    two, a peer-to-peer call; Jicofo counts them all the same."""
    platform = live()
    platform.participants(1)
    platform.start()
    rig = platform.rig
    wait_for(lambda: platform.source.read().participants == 1, 20, "the sidecar's 1")
    for _ in range(60):  # far past the grace and the idle window
        assert rig.tick() == "watching"
    assert not kinds(rig, NoticeKind.IDLE_WARNING)
    assert not kinds(rig, NoticeKind.SOURCE_UNKNOWN)
    watch = rig.app.sessions.load()
    assert watch is not None and watch.last_participants == 1
    assert rig.app.store.status().desired.value == "running"


def test_missing_data_is_unknown_and_never_stops(live: Callable[[], Live]) -> None:
    platform = live()
    platform.participants(None)  # the sidecar (or Jicofo) says nothing
    platform.start()
    rig = platform.rig
    for _ in range(30):
        assert rig.tick() == "watching"
    (unknown,) = kinds(rig, NoticeKind.SOURCE_UNKNOWN)
    assert "jicofo-metric: no Participants datapoint" in unknown.text
    assert "is the task's stats sidecar running?" in unknown.text
    assert not kinds(rig, NoticeKind.IDLE_WARNING)
    assert rig.app.store.status().desired.value == "running"
    # The sidecar comes back with an empty room: the idle count starts from there.
    platform.participants(0)
    wait_for(lambda: platform.source.read().participants == 0, 20, "the sidecar's 0")
    for _ in range(10):  # the first idle reading starts the 10 minutes to the warning
        assert rig.tick() == "watching"
    assert not kinds(rig, NoticeKind.IDLE_WARNING)
    rig.tick()
    assert kinds(rig, NoticeKind.IDLE_WARNING)


def test_participants_control_validates_and_shows(emulator_url: str) -> None:
    import urllib.error

    with pytest.raises(urllib.error.HTTPError) as info:
        control(emulator_url, "participants", {"count": -1})
    assert info.value.code == 400
    state = control(emulator_url, "participants", {"count": 2, "project": "p-x"})
    assert state["participants"]["p-x"] == 2


def test_only_a_recent_datapoint_counts(emulator_url: str, redis_url: str, project: str) -> None:
    """A count older than ``idle_metric_max_age_minutes`` is no count: unknown, never 0.
    Datapoints put by hand, as the sidecar's EMF lines would land in CloudWatch."""
    from datetime import UTC, datetime, timedelta

    from infra.participants_metric import METRIC, NAMESPACE, PROJECT_DIMENSION

    settings = make_settings(project, redis_url, aws_endpoint_url=emulator_url)
    clients = AwsClients(settings)
    source = ParticipantsMetricSource(clients, project, SystemClock(), max_age_minutes=5)

    def put(value: float, minutes_ago: float) -> None:
        clients.client("cloudwatch").put_metric_data(
            Namespace=NAMESPACE,
            MetricData=[
                {
                    "MetricName": METRIC,
                    "Dimensions": [{"Name": PROJECT_DIMENSION, "Value": project}],
                    "Timestamp": datetime.now(UTC) - timedelta(minutes=minutes_ago),
                    "Value": value,
                }
            ],
        )

    put(3, minutes_ago=8)  # a meeting that ended long ago, and then silence
    reading = source.read()
    assert reading.unknown and "no Participants datapoint in the last 5 minutes" in reading.detail
    put(0, minutes_ago=2)
    put(2, minutes_ago=0)
    reading = source.read()
    assert reading.participants == 2 and reading.source == "jicofo-metric"
    other = ParticipantsMetricSource(clients, project + "-other", SystemClock())
    assert other.read().unknown  # another project's count is not ours
