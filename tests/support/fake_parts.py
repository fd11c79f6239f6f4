"""The lifecycle's view of a ``FakeCloud`` (``fake_parts``): each port a thin recorder
over the one world, so every part sees what the others did."""

from __future__ import annotations

from collections.abc import Sequence

from bot.model import (
    AddressTarget,
    BillableResource,
    DnsTarget,
    Finding,
    IngressKind,
    ProbeResult,
    ResourceKind,
    ServiceState,
    Task,
)
from bot.ports import PlatformParts
from tests.support.fake_cloud import FakeCloud
from tests.support.fake_ingress import FakeDirectIngress, FakeIngress


def fake_parts(cloud: FakeCloud) -> PlatformParts:
    """The ports over ``cloud``; its ``ingress_kind`` picks the way in."""
    return PlatformParts(
        ingress=(
            FakeDirectIngress(cloud)
            if cloud.ingress_kind is IngressKind.DIRECT
            else FakeIngress(cloud)
        ),
        compute=FakeCompute(cloud),
        dns=FakeDns(cloud),
        advertised=FakeAdvertised(cloud),
        audit=FakeAudit(cloud),
        meter=FakeMeter(cloud),
        preflight=FakePreflight(cloud),
        probe=FakeProbe(cloud),
    )


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
