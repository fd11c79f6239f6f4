"""An AWS account in memory (``FakeCloud``): what exists, and when each thing becomes
ready on a fake clock. ``tests.support.fake_parts`` gives the lifecycle its view of it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from bot.errors import CloudError
from bot.model import (
    BillableResource,
    ContainerState,
    DnsTarget,
    Finding,
    IngressKind,
    ProbeResult,
    TargetHealth,
    Task,
)
from tests.support.clocks import FakeClock

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
