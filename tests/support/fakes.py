"""Recording fakes of the core's ports, for fast unit tests of the lifecycle.

They keep what they received so tests assert on it; the real implementations
are exercised by the contract and end-to-end suites.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from bot.audit import AuditEntry, EntryKind
from bot.errors import CloudError
from bot.events import Event
from bot.model import (
    Actor,
    AddressTarget,
    AliasTarget,
    BillableResource,
    ContainerState,
    DnsTarget,
    Finding,
    IngressKind,
    IngressView,
    JobId,
    JobKind,
    JobSpec,
    ProbeResult,
    Readiness,
    ResourceKind,
    ServiceState,
    SessionTags,
    TargetHealth,
    Task,
)
from bot.ports import PlatformParts, ProgressNote
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


JITSI_CONTAINERS = ("prosody", "jicofo", "jvb", "web")


@dataclass
class FakeCloud:
    """An AWS account in memory; ``parts()`` is the lifecycle's view of it. Delays count
    in fake-clock seconds; ``calls`` counts ``part.method`` calls; ``fail_on`` raises."""

    clock: FakeClock
    nlb_active_after: float = 120.0
    task_running_after: float = 40.0
    healthy_after: float = 30.0
    eni_after: float = 2.0
    health_mode: str = "auto"  # auto | unhealthy | initial
    # After the task runs, its containers' health checks pass after this long...
    containers_healthy_after: float = 20.0
    # ...unless one container breaks the Jitsi contract: (name, exit code, reason);
    # the task then stops as ECS stops it ("Essential container in task exited").
    container_failure: tuple[str, int, str] | None = None
    fail_on: dict[str, CloudError] = field(default_factory=dict)
    # How many calls of a ``fail_on`` entry fail before it heals (absent: forever).
    fail_times: dict[str, int] = field(default_factory=dict)
    calls: Counter[str] = field(default_factory=Counter)
    lb_created_at: float | None = None
    groups: list[str] = field(default_factory=list)
    listeners: int = 0
    desired: int = 0
    task_started_at: float | None = None
    registered: dict[str, float] = field(default_factory=dict)
    advertise: list[str] = field(default_factory=list)
    advertised_at: float | None = None  # epoch seconds of the last change
    task_generation: int = 1  # a redeploy replaces the task with the next one
    dns: DnsTarget | None = None
    dns_enabled: bool = True  # a hosted zone is configured
    dns_insync_after: float = 30.0  # Route 53: a change is PENDING, then INSYNC
    dns_changed_at: float | None = None
    leftovers: list[BillableResource] = field(default_factory=list)
    notes: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)  # the preflight's answer
    task_health: str = "HEALTHY"  # a running task's health (HEALTHY | UNHEALTHY | UNKNOWN)
    task_stopped_reason: str = ""  # set: the task stops with this reason once running
    page: ProbeResult | None = None  # the HTTPS probe's answer; None: ok once reachable
    # The way in: NLB (FakeIngress) or the task's own public IP (FakeDirectIngress).
    ingress_kind: IngressKind = IngressKind.NLB
    public_ip_after: float = 10.0  # a task's public IP appears with its attached interface
    sessions: int = 0  # scale-ups from zero: each gets a new public IP, as on AWS

    def call(self, name: str) -> None:
        self.calls[name] += 1
        if name in self.fail_on:
            error = self.fail_on[name]
            if name in self.fail_times:
                self.fail_times[name] -= 1
                if self.fail_times[name] <= 0:
                    del self.fail_on[name], self.fail_times[name]
            raise error

    def parts(self) -> PlatformParts:
        return PlatformParts(
            ingress=(
                FakeDirectIngress(self)
                if self.ingress_kind is IngressKind.DIRECT
                else FakeIngress(self)
            ),
            compute=FakeCompute(self),
            dns=FakeDns(self),
            advertised=FakeAdvertised(self),
            audit=FakeAudit(self),
            meter=FakeMeter(self),
            preflight=FakePreflight(self),
            probe=FakeProbe(self),
        )

    @property
    def lb_state(self) -> str | None:
        if self.lb_created_at is None:
            return None
        up = self.clock.monotonic() - self.lb_created_at >= self.nlb_active_after
        return "active" if up else "provisioning"

    def running_tasks(self) -> list[Task]:
        if self.task_started_at is None:
            return []
        age = self.clock.monotonic() - self.task_started_at
        up = age >= self.task_running_after
        n = self.task_generation
        created = self.clock.t + self.task_started_at  # the epoch of that monotonic time
        arn, ip = f"arn:task/{n}", f"10.0.1.{4 + n}"
        if up and (self.container_failure is not None or self.task_stopped_reason):
            name, code, reason = self.container_failure or ("", None, "")
            stopped = tuple(
                ContainerState(c, "STOPPED", exit_code=code, reason=reason)
                if c == name
                else ContainerState(c, "STOPPED")
                for c in JITSI_CONTAINERS
            )
            why = self.task_stopped_reason or "Essential container in task exited"
            return [
                Task(
                    arn,
                    "STOPPED",
                    ip,
                    desired_status="STOPPED",
                    containers=stopped,
                    stopped_reason=why,
                    created_at=created,
                )
            ]
        checked = up and age - self.task_running_after >= self.containers_healthy_after
        health = self.task_health if checked else "UNKNOWN"
        containers = tuple(
            ContainerState(c, "RUNNING" if up else "PENDING", health=health)
            for c in JITSI_CONTAINERS
        )
        status = "RUNNING" if up else "PENDING"
        public = self.public_ip() if age >= self.public_ip_after else None
        return [
            Task(
                arn,
                status,
                ip,
                public_ip=public,
                health=health,
                containers=containers,
                created_at=created,
            )
        ]

    def public_ip(self) -> str:
        """The current session's task address (a new one every session)."""
        return f"198.51.100.{10 + self.sessions}"

    def live_public_ips(self) -> set[str]:
        """Addresses a task of ours holds right now (anything else may be someone else's)."""
        return {t.public_ip for t in self.running_tasks() if t.public_ip}

    def target_health(self) -> list[TargetHealth]:
        out = []
        active = self.lb_state == "active"
        for ip, at in self.registered.items():
            for name in self.groups:
                state = "initial"
                if self.health_mode == "unhealthy" and active:
                    state = "unhealthy"
                elif (
                    self.health_mode == "auto"
                    and active
                    and self.clock.monotonic()
                    - max(at, (self.lb_created_at or 0.0) + self.nlb_active_after)
                    >= self.healthy_after
                ):
                    state = "healthy"
                reason = "Target.FailedHealthChecks" if state == "unhealthy" else ""
                out.append(TargetHealth(name, ip, 443, state, reason))
        return out


class FakeIngress:
    kind = IngressKind.NLB
    advertises = True

    def __init__(self, world: FakeCloud) -> None:
        self.w = world

    def bring_up(self, tags: SessionTags, note: ProgressNote) -> None:
        self.w.call("ingress.bring_up")
        if not self.w.groups:
            self.w.groups = ["p-udp10000", "p-web443"]
        if self.w.lb_created_at is None:
            self.w.lb_created_at = self.w.clock.monotonic()
        self.w.listeners = len(self.w.groups)
        note("fake: load balancer ready to provision", {"fake": True})

    def advertised_addresses(self) -> list[str]:
        self.w.call("ingress.advertised_addresses")
        made = self.w.lb_created_at
        if made is None or self.w.clock.monotonic() - made < self.w.eni_after:
            return []
        return ["203.0.113.10", "203.0.113.11"]

    def attach(self, tasks: Sequence[Task]) -> None:
        self.w.call("ingress.attach")
        now = self.w.clock.monotonic()
        self.w.registered = {t.private_ip: now for t in tasks if t.private_ip}

    def readiness(self) -> Readiness:
        self.w.call("ingress.readiness")
        state = self.w.lb_state
        if state is None:
            return Readiness(False, "NLB missing", gone=True)
        targets = self.w.target_health() if state == "active" else []
        failing = tuple(f"{t.target_group}: {t.reason}" for t in targets if t.state == "unhealthy")
        states = "/".join(sorted({t.state for t in targets})) or "checked once it is active"
        return Readiness(
            ready=bool(targets) and all(t.healthy for t in targets),
            summary=f"NLB {state}, targets {states}",
            failing=failing,
            hint="Check the task's logs (/ecs/p).",
            address="p-nlb.elb.example",
        )

    def dns_target(self, tasks: Sequence[Task]) -> DnsTarget | None:
        self.w.call("ingress.dns_target")
        made = self.w.lb_created_at is not None
        return AliasTarget("Z-ELB", "p-nlb.elb.example") if made else None

    def remove(self, note: ProgressNote) -> None:
        self.w.call("ingress.remove")
        self.w.lb_created_at = None
        self.w.registered = {}
        self.w.listeners = 0
        self.w.groups = []

    def remaining(self) -> list[str]:
        self.w.call("ingress.remaining")
        left = ["load balancer"] if self.w.lb_created_at is not None else []
        return left + [f"target group {g}" for g in self.w.groups]

    def describe(self) -> IngressView | None:
        self.w.call("ingress.describe")
        state = self.w.lb_state
        if state is None:
            return None
        made = self.w.lb_created_at
        up = made is not None and self.w.clock.monotonic() - made >= self.w.eni_after
        addresses = ("203.0.113.10", "203.0.113.11") if up else ()
        return IngressView(
            self.kind, "p-nlb", "p-nlb.elb.example", state, addresses, tuple(self.w.target_health())
        )


class FakeDirectIngress:
    """The task's own public IP: nothing to make or remove, an A record at the task."""

    kind = IngressKind.DIRECT
    advertises = False

    def __init__(self, world: FakeCloud, ttl: int = 30) -> None:
        self.w = world
        self.ttl = ttl

    def bring_up(self, tags: SessionTags, note: ProgressNote) -> None:
        self.w.call("ingress.bring_up")

    def advertised_addresses(self) -> list[str]:
        return []

    def attach(self, tasks: Sequence[Task]) -> None:
        self.w.call("ingress.attach")

    def readiness(self) -> Readiness:
        self.w.call("ingress.readiness")
        tasks = [t for t in self.w.running_tasks() if t.desired_status == "RUNNING"]
        if not tasks:
            return Readiness(False, "no running task yet")
        t = tasks[0]
        failing = tuple(f"{c.name}: unhealthy" for c in t.containers if c.health == "UNHEALTHY")
        ready = t.last_status == "RUNNING" and t.health == "HEALTHY" and bool(t.public_ip)
        return Readiness(
            ready=ready,
            summary=f"task {t.last_status.lower()}, public IP {t.public_ip or 'not yet'}",
            failing=failing,
            hint="Check the task's logs (/ecs/p).",
            address=t.public_ip or "",
        )

    def dns_target(self, tasks: Sequence[Task]) -> DnsTarget | None:
        self.w.call("ingress.dns_target")
        ips = sorted(self.w.live_public_ips())
        return AddressTarget(tuple(ips), self.ttl) if ips else None

    def remove(self, note: ProgressNote) -> None:
        self.w.call("ingress.remove")

    def remaining(self) -> list[str]:
        self.w.call("ingress.remaining")
        return []

    def describe(self) -> IngressView | None:
        self.w.call("ingress.describe")
        tasks = self.w.running_tasks()
        if not tasks:
            return None
        ips = tuple(t.public_ip for t in tasks if t.public_ip)
        return IngressView(self.kind, "task public IP", "meet.example.com", "running", ips)


class FakeCompute:
    def __init__(self, world: FakeCloud) -> None:
        self.w = world

    def scale(self, count: int) -> None:
        self.w.call("compute.scale")
        self.w.desired = count
        if count and self.w.task_started_at is None:
            self.w.task_started_at = self.w.clock.monotonic()
            self.w.sessions += 1
        if not count:
            self.w.task_started_at = None

    def service(self) -> ServiceState | None:
        self.w.call("compute.service")
        return ServiceState(self.w.desired, len(self.w.running_tasks()))

    def tasks(self, *, include_stopped: bool = False) -> list[Task]:
        self.w.call("compute.tasks")
        tasks = self.w.running_tasks()
        return tasks if include_stopped else [t for t in tasks if t.desired_status == "RUNNING"]

    def redeploy(self) -> None:
        self.w.call("compute.redeploy")
        if self.w.task_started_at is not None:
            self.w.task_generation += 1
            self.w.task_started_at = self.w.clock.monotonic()


class FakeDns:
    def __init__(self, world: FakeCloud) -> None:
        self.w = world

    @property
    def enabled(self) -> bool:
        return self.w.dns_enabled

    def upsert(self, target: DnsTarget) -> None:
        if not self.enabled:
            return
        self.w.call("dns.upsert")
        self.w.dns = target
        self.w.dns_changed_at = self.w.clock.monotonic()

    def delete(self) -> None:
        if not self.enabled:
            return
        self.w.call("dns.delete")
        self.w.dns = None
        self.w.dns_changed_at = self.w.clock.monotonic()

    def current_target(self) -> DnsTarget | None:
        return self.w.dns if self.enabled else None

    def in_sync(self) -> bool:
        if not self.enabled:
            return True
        self.w.call("dns.in_sync")
        changed = self.w.dns_changed_at
        return changed is None or self.w.clock.monotonic() - changed >= self.w.dns_insync_after


class FakeAdvertised:
    def __init__(self, world: FakeCloud) -> None:
        self.w = world

    def publish(self, addresses: Sequence[str]) -> None:
        self.w.call("advertised.publish")
        if list(addresses) != self.w.advertise:
            self.w.advertise = list(addresses)
            self.w.advertised_at = self.w.clock.now()

    def current(self) -> list[str]:
        return list(self.w.advertise)

    def published_at(self) -> float | None:
        return self.w.advertised_at


class FakeAudit:
    def __init__(self, world: FakeCloud) -> None:
        self.w = world

    def billable(self) -> list[BillableResource]:
        self.w.call("audit.billable")
        found = list(self.w.leftovers)
        if self.w.lb_created_at is not None:
            found.append(BillableResource(ResourceKind.LOAD_BALANCER, "p-nlb", "p-nlb", 2))
        if self.w.task_started_at is not None:
            found.append(BillableResource(ResourceKind.TASK, "arn:task/1", "", 1))
        return found

    def sweep(self, found: Sequence[BillableResource]) -> int:
        self.w.call("audit.sweep")
        strays = [r for r in found if r.kind is ResourceKind.LOAD_BALANCER]
        self.w.leftovers = [r for r in self.w.leftovers if r not in strays]
        return len(strays)


class FakeProbe:
    """The meeting page answers once DNS points somewhere and every target is healthy."""

    def __init__(self, world: FakeCloud) -> None:
        self.w = world

    def check(self, url: str) -> ProbeResult:
        self.w.call("probe.check")
        if self.w.page is not None:
            return self.w.page
        if self.w.ingress_kind is IngressKind.DIRECT:
            # Direct: the record leads to a task's address; web answers once healthy.
            target = self.w.dns
            tasks = self.w.running_tasks()
            serving = {t.public_ip for t in tasks if t.public_ip and t.health == "HEALTHY"}
            if not isinstance(target, AddressTarget) or not set(target.addresses) & serving:
                return ProbeResult(False, "connection refused")
            return ProbeResult(True, "HTTP 200, the Jitsi Meet page")
        health = self.w.target_health()
        if self.w.dns is None or not health or any(not h.healthy for h in health):
            return ProbeResult(False, "connection refused")
        return ProbeResult(True, "HTTP 200, the Jitsi Meet page")


class FakeMeter:
    def __init__(self, world: FakeCloud) -> None:
        self.w = world

    def calls(self) -> dict[str, int]:
        return dict(self.w.calls)


class FakePreflight:
    """Reports ``world.findings`` (all prerequisites there when empty)."""

    def __init__(self, world: FakeCloud) -> None:
        self.w = world

    def check(self) -> list[Finding]:
        self.w.call("preflight.check")
        return list(self.w.findings)


class MemoryStore:
    def __init__(self) -> None:
        self.current = PlatformStatus()

    def status(self) -> PlatformStatus:
        return self.current

    def set_desired(self, desired: DesiredState, actor: Actor) -> None:
        self.current = replace(self.current, desired=desired)

    def save(self, status: PlatformStatus) -> None:
        self.current = replace(
            status,
            job_id=self.current.job_id,
            job_kind=self.current.job_kind,
            job_room=self.current.job_room,
            job_claimed_at=self.current.job_claimed_at,
            desired=self.current.desired,
        )

    def request(self, kind: JobKind, job_id: JobId, actor: Actor, room: str | None = None) -> Claim:
        c = self.current
        if (
            kind is JobKind.START
            and c.state.value == "running"
            and c.desired.value == "running"
            and c.url
            and not c.job_id
        ):
            return Claim(None, running_url=c.url)
        wanted = DesiredState.RUNNING if kind is JobKind.START else DesiredState.STOPPED
        self.set_desired(wanted, actor)
        if self.current.job_id and self.current.job_kind is kind:
            return Claim(self.current.job_id, joined=True)
        self.current = replace(
            self.current, job_id=job_id, job_kind=kind, job_room=room, job_claimed_at=time.time()
        )
        return Claim(job_id)

    def finish_job(self, job_id: JobId) -> None:
        if self.current.job_id == job_id:
            self.current = replace(
                self.current, job_id=None, job_kind=None, job_room=None, job_claimed_at=None
            )


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

    def sessions_between(self, start: float, end: float) -> list[tuple[float, float, float]]:
        return [row for row in self.sessions if start <= row[1] < end]


class RecordingQueue:
    def __init__(self) -> None:
        self.specs: list[JobSpec] = []

    def enqueue(self, spec: JobSpec, accepted: Event) -> None:
        self.specs.append(spec)


class RecordingAudit:
    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str]] = []
        self.entries: list[AuditEntry] = []

    def record(
        self, actor: Actor, command: str, outcome: str, seconds: float | None = None
    ) -> None:
        self.rows.append((actor.user, command, outcome))
        self.entries.append(
            AuditEntry(
                EntryKind.COMMAND,
                0.0,
                actor.user,
                actor.platform.value,
                actor.channel,
                command,
                outcome,
                seconds=seconds,
            )
        )

    def recent(self, count: int) -> list[AuditEntry]:
        return list(reversed(self.entries))[:count]
