"""The two ways into a ``FakeCloud``: an NLB (``FakeIngress``) and the task's own
public IP (``FakeDirectIngress``), as the ``Ingress`` port sees them."""

from __future__ import annotations

from collections.abc import Sequence

from bot.model import (
    AddressTarget,
    AliasTarget,
    DnsTarget,
    IngressKind,
    IngressView,
    Readiness,
    SessionTags,
    Task,
)
from bot.ports import ProgressNote
from tests.support.fake_cloud import FakeCloud


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
