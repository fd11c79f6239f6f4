"""Direct ingress (the task's own public IP, no load balancer) on recording fakes: the
start's lower bound, its cost, and that no kill point leaves the domain pointing at an
address the platform no longer holds."""

from __future__ import annotations

from dataclasses import replace

import pytest

from bot.config import Settings
from bot.events import Event, EventKind
from bot.lifecycle import Lifecycle
from bot.model import AddressTarget, IngressKind, JobKind
from bot.state import DesiredState, PlatformState
from infra.drift import DriftRepair
from tests.support.fake_parts import fake_parts
from tests.support.memory import RecordingSink
from tests.unit.test_lifecycle import ALICE, RUNNING, make, spec


class Killed(BaseException):
    """The worker process dying: nothing of the job's own handling runs."""


def direct_settings() -> Settings:
    return Settings(
        poll_min_seconds=1,
        poll_max_seconds=2,
        unhealthy_grace_seconds=20,
        ingress=IngressKind.DIRECT,
    )


def direct(**kw: object):  # type: ignore[no-untyped-def]
    return make(direct_settings(), ingress_kind=IngressKind.DIRECT, **kw)


def test_direct_start_posts_the_url_without_a_load_balancer_within_its_lower_bound() -> None:
    life, cloud, store, sink, clock, _ = direct()
    assert life.run(spec(JobKind.START, "standup")).ok
    assert store.status().state is PlatformState.RUNNING
    # Nothing of a load balancer was made, and JVB was told nothing (it asks STUN).
    assert cloud.lb_created_at is None and not cloud.groups and cloud.listeners == 0
    assert cloud.advertise == [] and "advertised.publish" not in cloud.calls
    assert cloud.dns == AddressTarget((cloud.public_ip(),), 30)
    # Lower bound: max(public IP 10 + DNS in sync 30, task running 40 + containers 20) = 60 s.
    assert 60 <= clock.monotonic() <= 60 * 1.10
    url = next(e for e in sink.events if e.kind is EventKind.URL_READY)
    assert url.data["ingress_address"] == cloud.public_ip()
    cost = next(e for e in sink.events if e.kind is EventKind.COST)
    # Fargate 4 vCPU / 8 GB x86 (0.19748) + the task's public IPv4 (0.005); no NLB.
    assert cost.data["running_hour"] == pytest.approx(0.20248, abs=1e-5)
    assert [i["label"] for i in cost.data["items"]] == [
        "Fargate task 4 vCPU / 8 GB (x86)",
        "Task public IPv4 address",
    ]
    labels = {e.step: e.data["label"] for e in sink.events if e.kind is EventKind.STEP_STARTED}
    assert labels["dns"] == "DNS A record at the task's public IP"
    assert "advertise-ips" not in labels


def test_direct_stop_removes_the_record_before_the_task_and_audits_clean() -> None:
    life, cloud, store, sink, _, ledger = direct()
    life.run(spec(JobKind.START))
    store.set_desired(DesiredState.STOPPED, ALICE)
    assert life.run(spec(JobKind.STOP)).ok
    steps = [e.step for e in sink.events if e.kind is EventKind.STEP_STARTED]
    stop_steps = steps[steps.index("dns-delete") :]
    assert stop_steps[:2] == ["dns-delete", "scale-down"]
    assert cloud.dns is None and cloud.desired == 0
    audit = [e for e in sink.events if e.kind is EventKind.AUDIT][-1]
    assert audit.data["clean"] is True
    session = ledger.sessions[-1]
    # One started hour of the task's IPv4 and a minute's Fargate minimum at least.
    assert session[2] == pytest.approx(0.005 + 0.19748 * max(session[1] - session[0], 60) / 3600)


def _dangling(cloud) -> bool:  # type: ignore[no-untyped-def]
    """The domain points at an address no task of ours holds (someone else may get it)."""
    target = cloud.dns
    if target is None:
        return False
    assert isinstance(target, AddressTarget)
    return not set(target.addresses) <= cloud.live_public_ips()


def _kill_after(n: int):  # type: ignore[no-untyped-def]
    seen: list[Event] = []

    def hook(event: Event) -> None:
        seen.append(event)
        if len(seen) == n:
            raise Killed

    return hook


def _events_of_a_full_stop() -> int:
    life, _, store, sink, _, _ = direct()
    life.run(spec(JobKind.START))
    store.set_desired(DesiredState.STOPPED, ALICE)
    before = len(sink.events)
    life.run(spec(JobKind.STOP))
    return len(sink.events) - before


@pytest.mark.parametrize("kill_at", range(1, _events_of_a_full_stop() + 1))
def test_a_stop_killed_at_any_point_never_leaves_a_record_at_a_released_address(
    kill_at: int,
) -> None:
    life, cloud, store, sink, _, _ = direct()
    assert life.run(spec(JobKind.START)).ok
    store.set_desired(DesiredState.STOPPED, ALICE)
    sink.on_emit = _kill_after(kill_at)
    with pytest.raises(Killed):
        life.run(spec(JobKind.STOP))
    assert not _dangling(cloud)
    # The reconciler (or the next stop) finishes the work from wherever it was left.
    sink.on_emit = None
    assert life.run(spec(JobKind.STOP)).ok
    assert cloud.dns is None and cloud.desired == 0 and not _dangling(cloud)
    assert [e for e in sink.events if e.kind is EventKind.AUDIT][-1].data["clean"] is True


def _events_of_a_full_start() -> int:
    life, _, store, sink, _, _ = direct()
    store.set_desired(RUNNING, ALICE)
    life.run(spec(JobKind.START))
    return len(sink.events)


@pytest.mark.parametrize("kill_at", range(1, _events_of_a_full_start() + 1, 3))
def test_a_start_killed_at_any_point_then_stopped_leaves_nothing(kill_at: int) -> None:
    life, cloud, store, sink, clock, _ = direct()
    sink.on_emit = _kill_after(kill_at)
    with pytest.raises(Killed):
        life.run(spec(JobKind.START))
    assert not _dangling(cloud)
    clock.m += 5.0  # the task goes on starting while nobody watches
    assert not _dangling(cloud)
    sink.on_emit = None
    store.set_desired(DesiredState.STOPPED, ALICE)
    assert life.run(spec(JobKind.STOP)).ok
    assert cloud.dns is None and cloud.desired == 0 and cloud.lb_created_at is None
    assert [e for e in sink.events if e.kind is EventKind.AUDIT][-1].data["clean"] is True


def test_switching_from_nlb_to_direct_strands_nothing() -> None:
    """An NLB session, then a direct one on the same account: the direct stop's audit
    still finds an NLB a failed NLB-mode stop left behind (and the reconciler's sweep
    removes every project load balancer once no ingress owns one)."""
    life, cloud, store, _, _, _ = make()
    assert life.run(spec(JobKind.START)).ok
    store.set_desired(DesiredState.STOPPED, ALICE)
    assert life.run(spec(JobKind.STOP)).ok
    assert cloud.lb_created_at is None and cloud.dns is None
    # The switch: the same account, now with the direct parts, and an NLB left over.
    cloud.ingress_kind = IngressKind.DIRECT
    cloud.lb_created_at = cloud.clock.monotonic()
    settings = direct_settings()
    deps = replace(life.deps, settings=settings, parts=fake_parts(cloud), sink=RecordingSink())
    direct_life = Lifecycle(deps)
    store.set_desired(RUNNING, ALICE)
    assert direct_life.run(spec(JobKind.START)).ok
    assert isinstance(cloud.dns, AddressTarget)
    store.set_desired(DesiredState.STOPPED, ALICE)
    direct_life.run(spec(JobKind.STOP))
    sink = deps.sink
    assert isinstance(sink, RecordingSink)
    audit = [e for e in sink.events if e.kind is EventKind.AUDIT][-1]
    assert audit.data["clean"] is False
    assert [r["kind"] for r in audit.data["resources"]] == ["load_balancer"]
    assert cloud.dns is None and cloud.desired == 0


def test_switching_from_direct_to_nlb_strands_nothing() -> None:
    life, cloud, store, _, _, _ = direct()
    assert life.run(spec(JobKind.START)).ok
    store.set_desired(DesiredState.STOPPED, ALICE)
    assert life.run(spec(JobKind.STOP)).ok
    cloud.ingress_kind = IngressKind.NLB
    deps = replace(
        life.deps,
        settings=Settings(poll_min_seconds=1, poll_max_seconds=2),
        parts=fake_parts(cloud),
        sink=RecordingSink(),
    )
    nlb_life = Lifecycle(deps)
    store.set_desired(RUNNING, ALICE)
    assert nlb_life.run(spec(JobKind.START)).ok
    store.set_desired(DesiredState.STOPPED, ALICE)
    assert nlb_life.run(spec(JobKind.STOP)).ok
    sink = deps.sink
    assert isinstance(sink, RecordingSink)
    assert [e for e in sink.events if e.kind is EventKind.AUDIT][-1].data["clean"] is True


class Announced:
    """What the reconciler's repairs announce (``Guards.announce``)."""

    def __init__(self) -> None:
        self.notices: list[tuple[str, dict[str, object]]] = []

    def announce(self, kind: object, text: str, **data: object) -> None:
        self.notices.append((text, data))


def test_a_replaced_task_gets_the_record_back_and_the_old_address_is_let_go() -> None:
    life, cloud, _, _, clock, _ = direct()
    assert life.run(spec(JobKind.START)).ok
    old = cloud.public_ip()
    announced = Announced()
    repair = DriftRepair(life.deps.parts, announced)  # type: ignore[arg-type]
    assert repair.repair(lambda: True) == []  # in step: nothing to do, nothing announced
    assert announced.notices == []
    # ECS replaces a failed task: a new one with a new address; the old one is released.
    cloud.sessions += 1
    cloud.task_generation += 1
    cloud.task_started_at = clock.monotonic() - 100
    assert _dangling(cloud)
    assert repair.repair(lambda: True) == ["DNS record"]
    assert cloud.dns == AddressTarget((cloud.public_ip(),), 30) and not _dangling(cloud)
    (text, data) = announced.notices[0]
    assert old in text and data["now"] == [cloud.public_ip()]
    assert repair.repair(lambda: True) == []


def test_idle_detection_reads_the_sidecars_metric_in_direct_mode_too() -> None:
    from adapters.wiring import App
    from infra.idle_sources import ParticipantsMetricSource

    settings = direct_settings().model_copy(
        update={"aws_endpoint_url": "http://127.0.0.1:9", "redis_url": "redis://127.0.0.1:9/0"}
    )
    app = App(settings)
    assert app.nlb is None  # no load balancer, no NLB metrics...
    assert isinstance(app.participants, ParticipantsMetricSource)  # ...the same count


def test_direct_costs_no_nlb_hour_and_one_ipv4_x86_and_arm() -> None:
    from bot.config import CpuArchitecture
    from bot.cost import CostModel
    from tests.unit.test_lifecycle import PRICES

    x86 = CostModel(direct_settings(), PRICES)
    assert x86.nlb_hour == 0.0
    assert x86.running_hour == pytest.approx(0.20248)
    # Two hours and a bit: three started hours of the task's IPv4, Fargate per second.
    seconds = 2 * 3600 + 60
    assert x86.session_cost(seconds) == pytest.approx(0.19748 * seconds / 3600 + 3 * 0.005)
    arm = CostModel(
        direct_settings().model_copy(update={"cpu_architecture": CpuArchitecture.ARM64}), PRICES
    )
    assert arm.running_hour == pytest.approx(4 * 0.03238 + 8 * 0.00356 + 0.005)  # 0.163
    nlb = CostModel(Settings(), PRICES)
    assert nlb.running_hour is not None and x86.running_hour is not None
    assert nlb.running_hour - x86.running_hour == pytest.approx(0.0225 + 2 * 0.005)
