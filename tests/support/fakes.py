"""Recording fakes of the core's ports, for fast unit tests of the lifecycle.

They keep what they received so tests assert on it; the real implementations
are exercised by the contract and end-to-end suites.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from bot.errors import CloudError
from bot.events import Event
from bot.model import (
    Actor,
    BillableResource,
    JobId,
    JobKind,
    JobSpec,
    LoadBalancer,
    PlatformObservation,
    ResourceKind,
    ServiceState,
    TargetGroup,
    TargetHealth,
    Task,
)
from bot.state import Claim, DesiredState, PlatformStatus


class FakeClock:
    """Time moves only when the code sleeps."""

    def __init__(self, start: float = 1_780_000_000.0) -> None:
        self.t = start
        self.m = 0.0
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.t + self.m

    def monotonic(self) -> float:
        return self.m

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.m += seconds


@dataclass
class FakeCloud:
    """An AWS account in memory; delays count in fake-clock seconds."""

    clock: FakeClock
    nlb_active_after: float = 120.0
    task_running_after: float = 40.0
    healthy_after: float = 30.0
    eni_after: float = 2.0
    health_mode: str = "auto"  # auto | unhealthy | initial
    fail_on: dict[str, CloudError] = field(default_factory=dict)
    calls: Counter[str] = field(default_factory=Counter)
    lb_created_at: float | None = None
    lb_deleted: bool = True
    groups: list[TargetGroup] = field(default_factory=list)
    listeners: int = 0
    desired: int = 0
    task_started_at: float | None = None
    registered: dict[str, float] = field(default_factory=dict)
    advertise: list[str] = field(default_factory=list)
    leftovers: list[BillableResource] = field(default_factory=list)

    def _call(self, name: str) -> None:
        self.calls[name] += 1
        if name in self.fail_on:
            raise self.fail_on[name]

    def _lb(self) -> LoadBalancer | None:
        if self.lb_created_at is None:
            return None
        active = self.clock.monotonic() - self.lb_created_at >= self.nlb_active_after
        return LoadBalancer(
            "arn:aws:elasticloadbalancing:us-east-1:1:loadbalancer/net/p-nlb/abc",
            "p-nlb",
            "p-nlb.elb.example",
            "active" if active else "provisioning",
        )

    def ensure_target_groups(self, requested_by: str, session: str) -> list[TargetGroup]:
        self._call("ensure_target_groups")
        if not self.groups:
            self.groups = [
                TargetGroup("arn:tg/udp", "p-udp10000", "UDP", 10000),
                TargetGroup("arn:tg/web", "p-web443", "TCP", 443),
            ]
        return list(self.groups)

    def ensure_load_balancer(self, requested_by: str, session: str) -> LoadBalancer:
        self._call("ensure_load_balancer")
        if self.lb_created_at is None:
            self.lb_created_at = self.clock.monotonic()
        lb = self._lb()
        assert lb is not None
        return lb

    def ensure_listeners(self, lb: LoadBalancer, groups: list[TargetGroup]) -> int:
        self._call("ensure_listeners")
        self.listeners = len(groups)
        return self.listeners

    def describe_load_balancer(self) -> LoadBalancer | None:
        self._call("describe_load_balancer")
        return self._lb()

    def load_balancer_public_ips(self, lb: LoadBalancer) -> list[str]:
        self._call("load_balancer_public_ips")
        if (
            self.lb_created_at is None
            or self.clock.monotonic() - self.lb_created_at < self.eni_after
        ):
            return []
        return ["203.0.113.10", "203.0.113.11"]

    def publish_advertise_ips(self, ips: list[str]) -> None:
        self._call("publish_advertise_ips")
        self.advertise = list(ips)

    def upsert_dns(self, lb: LoadBalancer) -> bool:
        self._call("upsert_dns")
        return True

    def delete_dns(self) -> bool:
        self._call("delete_dns")
        return True

    def set_desired_count(self, count: int) -> None:
        self._call("set_desired_count")
        self.desired = count
        if count and self.task_started_at is None:
            self.task_started_at = self.clock.monotonic()
        if not count:
            self.task_started_at = None

    def service_state(self) -> ServiceState | None:
        running = 1 if self.list_tasks() else 0
        return ServiceState(self.desired, running)

    def list_tasks(self, *, include_stopped: bool = False) -> list[Task]:
        self._call("list_tasks")
        if self.task_started_at is None:
            return []
        up = self.clock.monotonic() - self.task_started_at >= self.task_running_after
        return [Task("arn:task/1", "RUNNING" if up else "PENDING", "10.0.1.5")]

    def register_targets(self, ips: list[str]) -> None:
        self._call("register_targets")
        self.registered = {ip: self.clock.monotonic() for ip in ips}

    def target_health(self) -> list[TargetHealth]:
        self._call("target_health")
        lb = self._lb()
        out = []
        for ip, at in self.registered.items():
            for g in self.groups:
                state = "initial"
                if self.health_mode == "unhealthy" and lb and lb.active:
                    state = "unhealthy"
                elif (
                    self.health_mode == "auto"
                    and lb
                    and lb.active
                    and self.clock.monotonic()
                    - max(at, self.lb_created_at or 0.0 + self.nlb_active_after)
                    >= self.healthy_after
                ):
                    state = "healthy"
                out.append(
                    TargetHealth(
                        g.name,
                        ip,
                        g.port,
                        state,
                        "Target.FailedHealthChecks" if state == "unhealthy" else "",
                    )
                )
        return out

    def delete_listeners(self, lb: LoadBalancer) -> int:
        self._call("delete_listeners")
        n, self.listeners = self.listeners, 0
        return n

    def delete_load_balancer(self, lb: LoadBalancer) -> None:
        self._call("delete_load_balancer")
        self.lb_created_at = None
        self.registered = {}

    def delete_target_groups(self) -> int:
        self._call("delete_target_groups")
        n, self.groups = len(self.groups), []
        return n

    def audit(self) -> list[BillableResource]:
        self._call("audit")
        found = list(self.leftovers)
        if self.lb_created_at is not None:
            found.append(BillableResource(ResourceKind.LOAD_BALANCER, "p-nlb", "p-nlb", 2))
        if self.task_started_at is not None:
            found.append(BillableResource(ResourceKind.TASK, "arn:task/1", "", 1))
        return found

    def observe(self) -> PlatformObservation:
        return PlatformObservation(
            self.service_state(),
            self._lb(),
            tuple(self.list_tasks()),
            tuple(self.target_health()),
            tuple(self.advertise),
        )

    def call_counts(self) -> dict[str, int]:
        return dict(self.calls)

    def observe_progress(self, note: Callable[[str, dict[str, Any]], None] | None) -> None:
        self.note = note


class MemoryStore:
    def __init__(self) -> None:
        self.current = PlatformStatus()

    def status(self) -> PlatformStatus:
        return self.current

    def set_desired(self, desired: str, actor: Actor) -> None:
        self.current = replace(self.current, desired=DesiredState(desired))

    def save(self, status: PlatformStatus) -> None:
        self.current = replace(
            status,
            job_id=self.current.job_id,
            job_kind=self.current.job_kind,
            desired=self.current.desired,
        )

    def request(self, kind: JobKind, job_id: JobId, actor: Actor) -> Claim:
        c = self.current
        if (
            kind is JobKind.START
            and c.state.value == "running"
            and c.desired.value == "running"
            and c.url
            and not c.job_id
        ):
            return Claim(None, running_url=c.url)
        wanted = "running" if kind is JobKind.START else "stopped"
        self.set_desired(wanted, actor)
        if self.current.job_id and self.current.job_kind is kind:
            return Claim(self.current.job_id, joined=True)
        self.current = replace(self.current, job_id=job_id, job_kind=kind)
        return Claim(job_id)

    def finish_job(self, job_id: JobId) -> None:
        if self.current.job_id == job_id:
            self.current = replace(self.current, job_id=None, job_kind=None)


class RecordingSink:
    def __init__(self, on_emit=None) -> None:  # type: ignore[no-untyped-def]
        self.events: list[Event] = []
        self.on_emit = on_emit

    def emit(self, event: Event) -> None:
        self.events.append(event)
        if self.on_emit:
            self.on_emit(event)

    def kinds(self) -> list[str]:
        return [e.kind.value for e in self.events]


class MemoryLedger:
    def __init__(self) -> None:
        self.sessions: list[tuple[float, float, float]] = []

    def record_session(self, started_at: float, ended_at: float, cost: float) -> None:
        self.sessions.append((started_at, ended_at, cost))

    def month_to_date(self, now: float) -> tuple[float, float]:
        return (sum(e - s for s, e, _ in self.sessions) / 3600.0, sum(c for *_, c in self.sessions))


class RecordingQueue:
    def __init__(self) -> None:
        self.specs: list[JobSpec] = []

    def enqueue(self, spec: JobSpec, accepted: Event) -> None:
        self.specs.append(spec)


class RecordingAudit:
    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str]] = []

    def record(self, actor: Actor, command: str, outcome: str) -> None:
        self.rows.append((actor.user, command, outcome))
