"""The start/stop sequences on recording fakes and a clock that moves only on sleep."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from bot.config import Settings
from bot.cost import CostModel, PriceTable
from bot.errors import CloudError
from bot.events import EventKind
from bot.job import Deps
from bot.lifecycle import Lifecycle
from bot.model import Actor, ChatPlatform, Finding, JobId, JobKind, JobSpec, ProbeResult, UserId
from bot.state import DesiredState, PlatformState
from bot.traffic import GB, TrafficHour, TrafficReading
from tests.support.clocks import FakeClock
from tests.support.fake_cloud import FakeCloud
from tests.support.fake_parts import fake_parts
from tests.support.memory import MemoryLedger, MemoryStore, RecordingSink

PRICES = PriceTable.from_mapping(
    json.loads((Path(__file__).parents[2] / "infra/prices/us-east-1.json").read_text())
)
RUNNING = DesiredState.RUNNING
ALICE = Actor(UserId("console:alice"), "general", ChatPlatform.CONSOLE, "alice")


def make(settings: Settings | None = None, **cloud_kw: object):  # type: ignore[no-untyped-def]
    settings = settings or Settings(
        poll_min_seconds=1, poll_max_seconds=2, unhealthy_grace_seconds=20
    )
    clock = FakeClock()
    cloud = FakeCloud(clock, **cloud_kw)  # type: ignore[arg-type]
    store, sink, ledger = MemoryStore(), RecordingSink(), MemoryLedger()
    store.set_desired(RUNNING, ALICE)  # as the command service does before enqueueing
    deps = Deps(
        settings, fake_parts(cloud), store, sink, clock, ledger, CostModel(settings, PRICES)
    )
    return Lifecycle(deps), cloud, store, sink, clock, ledger


def spec(kind: JobKind, room: str | None = None) -> JobSpec:
    return JobSpec(JobId(f"job-{kind.value}"), kind, ALICE, room)


def test_start_posts_url_and_cost_and_overlaps_waits() -> None:
    life, cloud, store, sink, clock, _ = make()
    store.set_desired(RUNNING, ALICE)
    assert life.run(spec(JobKind.START, "standup")).ok
    kinds = sink.kinds()
    assert kinds[-1] == "finished" and sink.events[-1].data["ok"] is True
    url_event = next(e for e in sink.events if e.kind is EventKind.URL_READY)
    assert url_event.data["url"] == "https://meet.example.com/standup"
    cost = next(e for e in sink.events if e.kind is EventKind.COST)
    assert cost.data["running_hour"] == pytest.approx(0.23498, abs=1e-5)
    assert store.status().state is PlatformState.RUNNING
    assert cloud.advertise == ["203.0.113.10", "203.0.113.11"]
    # Lower bound: max(NLB active 120, ENIs 2 + task 40) + health 30 = 150 s.
    # The seed's sequential waits would take 120 + 40 + 30 = 190 s.
    assert 150 <= clock.monotonic() <= 150 * 1.10
    assert cloud.desired == 1 and cloud.listeners == 2


def test_start_reports_call_count_and_step_durations() -> None:
    life, cloud, _, sink, _, _ = make()
    life.run(spec(JobKind.START))
    final = sink.events[-1]
    assert final.data["aws_calls"] == sum(cloud.calls.values())
    finished = [e for e in sink.events if e.kind is EventKind.STEP_FINISHED]
    assert [e.step for e in finished] == [
        "preflight",
        "ingress",
        "advertise-ips",
        "scale-up",
        "register",
        "dns",
        "dns-sync",
        "containers",
        "healthy",
        "https",
    ]
    assert all(e.data["ok"] and e.data["seconds"] >= 0 for e in finished)


def test_waiting_events_are_coalesced() -> None:
    life, _, _, sink, clock, _ = make()
    life.run(spec(JobKind.START))
    waits = [e for e in sink.events if e.kind is EventKind.WAITING]
    polls = len(clock.sleeps)
    assert 0 < len(waits) < polls / 3  # one per change of state, not one per poll


def test_stop_wins_at_the_next_step_boundary_and_removes_what_was_made() -> None:
    life, cloud, store, sink, _, ledger = make()
    store.set_desired(RUNNING, ALICE)

    def stop_when_scaled(event):  # type: ignore[no-untyped-def]
        if event.kind is EventKind.STEP_FINISHED and event.step == "scale-up":
            store.set_desired(DesiredState.STOPPED, ALICE)

    sink.on_emit = stop_when_scaled
    assert life.run(spec(JobKind.START)).ok  # the cancelled start cleaned up after itself
    assert any(e.data.get("cancelled") for e in sink.events)
    assert cloud.lb_created_at is None and cloud.desired == 0 and not cloud.groups
    audit = next(e for e in sink.events if e.kind is EventKind.AUDIT)
    assert audit.data["clean"] is True
    assert store.status().state is PlatformState.STOPPED
    assert not any(e.kind is EventKind.URL_READY for e in sink.events)
    assert len(ledger.sessions) == 1  # the partial start still cost money


def test_stop_tears_down_audits_and_accounts_the_session() -> None:
    life, cloud, store, sink, clock, ledger = make()
    life.run(spec(JobKind.START))
    assert cloud.dns is not None  # the domain points at the NLB
    clock.m += 3 * 3600  # three hours of meeting
    store.set_desired(DesiredState.STOPPED, ALICE)
    result = life.run(spec(JobKind.STOP))
    assert result.ok and result.session is not None
    assert result.session.seconds >= 3 * 3600
    assert cloud.lb_created_at is None and cloud.desired == 0 and not cloud.groups
    assert cloud.dns is None  # the record went before the NLB
    costs = [e for e in sink.events if e.kind is EventKind.COST and "session_cost" in e.data]
    assert costs and costs[-1].data["session_seconds"] >= 3 * 3600
    assert ledger.sessions and ledger.sessions[0][2] == pytest.approx(
        costs[-1].data["session_cost"], abs=1e-3
    )
    assert store.status().state is PlatformState.STOPPED and store.status().url is None


def test_stop_when_already_stopped_is_a_clean_no_op() -> None:
    life, cloud, _, sink, _, ledger = make()
    result = life.run(spec(JobKind.STOP))
    assert result.ok and result.session is None
    assert cloud.calls["ingress.remaining"] == 1  # nothing to wait for
    assert not [e for e in sink.events if e.kind is EventKind.WAITING]
    assert next(e for e in sink.events if e.kind is EventKind.AUDIT).data["clean"]
    assert not ledger.sessions


def test_unhealthy_targets_fail_the_start_and_roll_back() -> None:
    life, cloud, store, sink, _, _ = make(health_mode="unhealthy")
    assert not life.run(spec(JobKind.START)).ok
    error = next(e for e in sink.events if e.kind is EventKind.ERROR)
    assert "unhealthy" in error.message and "Target.FailedHealthChecks" in error.message
    assert "/ecs/" in error.message  # says where to look
    assert cloud.lb_created_at is None and cloud.desired == 0
    assert store.status().desired is DesiredState.STOPPED
    assert store.status().state is PlatformState.STOPPED
    assert store.status().last_error


def test_a_container_that_exits_fails_the_start_with_ecs_reason_and_rolls_back() -> None:
    life, cloud, store, sink, _, _ = make(container_failure=("prosody", 1, ""))
    assert not life.run(spec(JobKind.START)).ok
    error = next(e for e in sink.events if e.kind is EventKind.ERROR)
    assert "Essential container in task exited" in error.message
    assert "prosody exited with code 1" in error.message
    assert cloud.lb_created_at is None and cloud.desired == 0
    assert store.status().state is PlatformState.STOPPED


def test_timeout_fails_with_a_clear_message() -> None:
    settings = Settings(start_timeout_seconds=60, poll_min_seconds=1, poll_max_seconds=5)
    life, cloud, _, sink, _, _ = make(settings, health_mode="initial")
    assert not life.run(spec(JobKind.START)).ok
    error = next(e for e in sink.events if e.kind is EventKind.ERROR)
    assert "Gave up waiting" in error.message
    assert cloud.lb_created_at is None  # rolled back


def test_permanent_cloud_error_stops_the_job_with_its_hint() -> None:
    denied = CloudError(
        "AWS denied elasticloadbalancing:CreateLoadBalancer.",
        "Grant the worker's role that action.",
    )
    life, _, _, sink, _, _ = make(fail_on={"ingress.bring_up": denied})
    assert not life.run(spec(JobKind.START)).ok
    error = next(e for e in sink.events if e.kind is EventKind.ERROR)
    assert "Grant the worker's role" in error.message
    assert sink.events[-1].kind is EventKind.FINISHED and sink.events[-1].data["ok"] is False


def test_leftovers_make_the_audit_loud_with_hourly_cost() -> None:
    from bot.model import BillableResource, ResourceKind

    eip = BillableResource(ResourceKind.ELASTIC_IP, "eipalloc-1", "", 1)
    life, _, _, sink, _, _ = make(leftovers=[eip])
    assert not life.run(spec(JobKind.STOP)).ok
    audit = next(e for e in sink.events if e.kind is EventKind.AUDIT)
    assert audit.data["clean"] is False and audit.data["per_hour"] == pytest.approx(0.005)
    assert "still exist" in audit.message


def test_start_is_idempotent_after_a_crash() -> None:
    life, cloud, store, _, _, _ = make()
    life.run(spec(JobKind.START))
    # Run again as the reconciler would after a crash: nothing new is created.
    store.save(store.status().moved_to(PlatformState.STARTING, 0))
    assert life.run(spec(JobKind.START)).ok
    assert cloud.calls["ingress.bring_up"] == 2 and cloud.listeners == 2 and cloud.desired == 1


def test_a_missing_prerequisite_refuses_the_start_before_anything_bills() -> None:
    missing = Finding(
        "certificate",
        False,
        "no ISSUED ACM certificate covers meet.example.com",
        "Run `jitsi-bot infra bootstrap` and validate the certificate.",
    )
    advisory = Finding("quota", False, "Fargate vCPU quota unknown", blocking=False)
    life, cloud, store, sink, _, _ = make(findings=[missing, advisory])
    assert not life.run(spec(JobKind.START)).ok
    error = next(e for e in sink.events if e.kind is EventKind.ERROR)
    assert "certificate: no ISSUED ACM certificate covers meet.example.com" in error.message
    assert "jitsi-bot infra bootstrap" in error.message and "quota" not in error.message
    assert "ingress.bring_up" not in cloud.calls and cloud.desired == 0
    assert store.status().desired is DesiredState.STOPPED


def test_an_unhealthy_task_fails_the_start_and_rolls_back() -> None:
    life, cloud, _, sink, _, _ = make(task_health="UNHEALTHY")
    assert not life.run(spec(JobKind.START)).ok
    error = next(e for e in sink.events if e.kind is EventKind.ERROR)
    assert "failed container health checks" in error.message
    assert cloud.desired == 0


def test_url_waits_for_the_meeting_page_and_fails_after_the_grace() -> None:
    bad = ProbeResult(False, "certificate not valid for meet.example.com")
    life, cloud, _, sink, _, _ = make(page=bad)
    assert not life.run(spec(JobKind.START)).ok
    assert not any(e.kind is EventKind.URL_READY for e in sink.events)
    error = next(e for e in sink.events if e.kind is EventKind.ERROR)
    assert "certificate not valid for meet.example.com" in error.message
    assert not error.message.endswith("..")
    assert cloud.desired == 0


# -- AWS trouble on polls and during teardown ------------------------------------------

THROTTLED = CloudError(
    "AWS is throttling DescribeTargetHealth (still Throttling after retries).",
    "This passes: try again in a minute.",
    retryable=True,
)
UNREACHABLE = CloudError(
    "AWS could not be reached while removing the way in.",
    "Check aws_endpoint_url in the configuration.",
    retryable=True,
)


def _no_double_stops(sink: RecordingSink) -> None:
    for event in sink.events:
        assert ".." not in event.message.replace("…", ""), event.message


def test_throttled_polls_are_waited_out_within_the_step() -> None:
    # Six throttled DescribeTargetHealth calls once rolled a whole start back.
    life, _, store, sink, _, _ = make(
        fail_on={"ingress.readiness": THROTTLED}, fail_times={"ingress.readiness": 6}
    )
    assert life.run(spec(JobKind.START)).ok
    assert store.status().state is PlatformState.RUNNING
    waits = [e.message for e in sink.events if e.kind is EventKind.WAITING]
    assert any("AWS is not answering yet" in w for w in waits)
    assert not [e for e in sink.events if e.kind is EventKind.ERROR]
    _no_double_stops(sink)


def test_a_poll_that_never_recovers_fails_at_the_step_deadline_naming_the_error() -> None:
    settings = Settings(poll_min_seconds=1, poll_max_seconds=2, start_timeout_seconds=60)
    life, cloud, _, sink, clock, _ = make(settings, fail_on={"ingress.readiness": THROTTLED})
    began = clock.monotonic()
    assert not life.run(spec(JobKind.START)).ok
    error = next(e for e in sink.events if e.kind is EventKind.ERROR)
    assert "Gave up waiting" in error.message and "throttling DescribeTargetHealth" in error.message
    assert cloud.lb_created_at is None  # rolled back
    assert clock.monotonic() - began < 60 + 150 + 30  # the deadline held
    _no_double_stops(sink)


def test_a_permanent_error_on_a_poll_still_fails_at_once() -> None:
    denied = CloudError("AWS DescribeTargetHealth failed: AccessDenied.", "Allow it.")
    life, _, _, sink, _, _ = make(fail_on={"ingress.readiness": denied})
    assert not life.run(spec(JobKind.START)).ok
    error = next(e for e in sink.events if e.kind is EventKind.ERROR)
    assert "AccessDenied" in error.message


def test_a_rollback_that_cannot_reach_aws_is_retried_until_the_audit_is_clean() -> None:
    life, cloud, store, sink, _, _ = make(
        health_mode="unhealthy",
        fail_on={"ingress.remove": UNREACHABLE},
        fail_times={"ingress.remove": 4},
    )
    result = life.run(spec(JobKind.START))
    assert not result.ok
    retries = [e for e in sink.events if e.kind is EventKind.NOTICE and e.data.get("retrying")]
    assert len(retries) == 4
    assert "Trying again in" in retries[0].message
    audit = [e for e in sink.events if e.kind is EventKind.AUDIT][-1]
    assert audit.data["clean"] is True
    assert store.status().state is PlatformState.STOPPED
    assert cloud.lb_created_at is None and cloud.desired == 0
    assert "Rolled back" in sink.events[-1].message
    _no_double_stops(sink)


def test_a_rollback_that_never_reaches_aws_says_what_is_left_and_its_cost() -> None:
    settings = Settings(
        poll_min_seconds=1,
        poll_max_seconds=2,
        unhealthy_grace_seconds=20,
        teardown_retry_seconds=120,
    )
    life, _, store, sink, clock, _ = make(
        settings,
        health_mode="unhealthy",
        fail_on={"ingress.remove": UNREACHABLE, "audit.billable": UNREACHABLE},
    )
    began = clock.monotonic()
    result = life.run(spec(JobKind.START))  # ends normally: no exception, no traceback
    assert not result.ok
    assert clock.monotonic() - began < 400  # the retry budget held
    audit = [e for e in sink.events if e.kind is EventKind.AUDIT][-1]
    assert audit.data["clean"] is False and audit.data["known"] is False
    assert audit.data["per_hour"] == pytest.approx(0.23498, abs=1e-5)
    assert "$0.23" in audit.message and "reconciler" in audit.message
    assert store.status().state is PlatformState.FAILED
    assert store.status().desired is DesiredState.STOPPED
    last = sink.events[-1]
    assert last.kind is EventKind.FINISHED and last.data["ok"] is False
    assert "rollback could not finish" in last.message
    _no_double_stops(sink)


def test_a_stop_denied_by_aws_is_not_retried() -> None:
    denied = CloudError("AWS DeleteLoadBalancer failed: AccessDenied.", "Allow it.")
    life, _, store, sink, _, _ = make(fail_on={"ingress.remove": denied})
    store.set_desired(DesiredState.STOPPED, ALICE)
    assert not life.run(spec(JobKind.STOP)).ok
    assert not [e for e in sink.events if e.data.get("retrying")]
    assert "Allow it" in next(e for e in sink.events if e.kind is EventKind.ERROR).message


class _Meter:
    """A traffic meter with one recorded reading (CloudWatch's is tests/aws/test_traffic.py)."""

    def __init__(self) -> None:
        self.asked: list[tuple[float, float]] = []

    def session_traffic(self, started_at: float, ended_at: float) -> TrafficReading | None:
        self.asked.append((started_at, ended_at))
        return TrafficReading((TrafficHour(2 * GB, 10, 5),), 1.5 * GB, 0.5 * GB, 0.0, 2)


def test_stop_message_says_the_measured_traffic() -> None:
    life, _, store, sink, clock, _ = make()
    meter = _Meter()
    life = Lifecycle(replace(life.deps, traffic=meter))
    life.run(spec(JobKind.START))
    clock.m += 3600
    store.set_desired(DesiredState.STOPPED, ALICE)
    assert life.run(spec(JobKind.STOP)).ok
    cost = next(e for e in sink.events if e.kind is EventKind.COST and "session_cost" in e.data)
    # NLCU 2 h x $0.006 + egress 1.5 GB x $0.09 + cross-zone 1 GB x $0.02 = $0.167
    assert "Traffic: 2.00 GB, $0.17 (" in cost.message
    assert cost.data["traffic_cost"] == pytest.approx(0.167, abs=1e-9)
    assert len(meter.asked) == 1
