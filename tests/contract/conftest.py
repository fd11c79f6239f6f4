"""Worlds the port contracts run in: the recording fake (``FakeCloud``, driven by its
fake clock) and the AWS parts over the emulator (``aws_endpoint``, instant profile).

A contract test asks its ``world`` for the parts and for what only the world can do
(let time pass, make targets fail, delete the ingress behind the bot's back, read
the domain's record); it never knows which implementation it runs on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any, Protocol, TypeVar

import pytest

from bot.model import AliasTarget, Task
from bot.ports import PlatformParts
from infra.aws.bootstrap import bootstrap
from infra.aws.elb import find_load_balancer
from infra.aws.nlb_boto3 import Boto3NlbProvisioner
from infra.aws.parts import aws_parts
from infra.aws.session import AwsClients
from tests.support.aws import Endpoint, issued_certificate, settings_for
from tests.support.clocks import FakeClock
from tests.support.fake_cloud import FakeCloud
from tests.support.fake_parts import fake_parts
from tests.support.services import wait_for

T = TypeVar("T")


class World(Protocol):
    parts: PlatformParts

    def eventually(self, probe: Callable[[], T], what: str) -> T:
        """Poll ``probe`` until it returns something truthy, and return that."""

    def targets_fail(self) -> None:
        """From now on every target fails its health checks."""

    def delete_ingress_behind_its_back(self) -> None:
        """Someone deletes the load balancer (not its target groups) by hand."""

    def dns_record(self) -> AliasTarget | None:
        """What the meeting domain points at now."""


class Notes:
    """A ``ProgressNote`` that keeps what it was told."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, message: str, data: dict[str, Any]) -> None:
        self.seen.append((message, data))


def running_task(world: World) -> Task:
    """Scale to one and wait for its task to have a private IP."""
    world.parts.compute.scale(1)
    tasks = world.eventually(
        lambda: [t for t in world.parts.compute.tasks() if t.private_ip], "a task with an IP"
    )
    return tasks[0]


class FakeWorld:
    """``FakeCloud``: time passes only when the contract waits (fake-clock seconds)."""

    def __init__(self, *, dns_zone: bool = True) -> None:
        self.clock = FakeClock()
        self.cloud = FakeCloud(self.clock, dns_enabled=dns_zone)
        self.parts = fake_parts(self.cloud)

    def eventually(self, probe: Callable[[], T], what: str) -> T:
        deadline = self.clock.monotonic() + 1800  # longer than any of the fake's delays
        while True:
            value = probe()
            if value:
                return value
            if self.clock.monotonic() >= deadline:
                raise TimeoutError(f"the fake never reached: {what}")
            self.clock.sleep(5.0)

    def targets_fail(self) -> None:
        self.cloud.health_mode = "unhealthy"

    def delete_ingress_behind_its_back(self) -> None:
        self.cloud.lb_created_at = None

    def dns_record(self) -> AliasTarget | None:
        return self.cloud.dns


class AwsWorld:
    """The AWS parts with the boto3 NLB provisioner, on a fresh project (bootstrapped
    unless ``base`` is False: DNS needs no VPC or service)."""

    def __init__(self, endpoint: Endpoint, project: str, *, base: bool, **overrides: Any) -> None:
        self.endpoint = endpoint
        self.settings = settings_for(endpoint, project, **overrides)
        self.clients = AwsClients(self.settings)
        self.base = base
        if base:
            issued_certificate(self.settings)
            bootstrap(self.settings, self.clients)
        provisioner = Boto3NlbProvisioner(self.settings, self.clients)
        self.parts = aws_parts(self.settings, self.clients, provisioner)[0]
        self.failing = False

    def eventually(self, probe: Callable[[], T], what: str) -> T:
        return wait_for(probe, 30, what)  # type: ignore[return-value]

    def targets_fail(self) -> None:
        self.failing = True
        self.endpoint.control("targets", {"mode": "unhealthy"})

    def delete_ingress_behind_its_back(self) -> None:
        lb = find_load_balancer(self.settings, self.clients)
        assert lb is not None
        self.clients.elbv2.delete_load_balancer(LoadBalancerArn=lb.arn)

    def dns_record(self) -> AliasTarget | None:
        zone = self.settings.hosted_zone_id
        assert zone
        records = self.clients.route53.list_resource_record_sets(HostedZoneId=zone)
        for r in records["ResourceRecordSets"]:
            if r["Name"] == self.settings.domain + "." and r["Type"] == "A":
                alias = r["AliasTarget"]
                return AliasTarget(alias["HostedZoneId"], alias["DNSName"].rstrip("."))
        return None

    def close(self) -> None:
        """Put the emulator's switches back and remove what a failed test left."""
        if self.failing:
            self.endpoint.control("targets", {"mode": "auto"})
        if not self.base:
            return
        self.parts.compute.scale(0)
        self.parts.ingress.remove(lambda _m, _d: None)


def _hosted_zone(endpoint: Endpoint, project: str) -> str:
    route53 = AwsClients(settings_for(endpoint, project)).route53
    zone = route53.create_hosted_zone(Name="meet.example.com", CallerReference=project)
    return str(zone["HostedZone"]["Id"]).rsplit("/", 1)[-1]


@pytest.fixture(params=["fake", "aws"])
def make_world(request: pytest.FixtureRequest, project: str) -> Iterator[Callable[..., World]]:
    """``make_world(dns_zone=None, base=True)``: the world of this run's implementation,
    with a hosted zone for the meeting domain (True), without one (False), or either
    (None); ``base=False``: no VPC, cluster or service (the fake has them anyway)."""
    made: list[AwsWorld] = []

    def make(*, dns_zone: bool | None = None, base: bool = True) -> World:
        if request.param == "fake":
            return FakeWorld(dns_zone=dns_zone is not False)
        endpoint: Endpoint = request.getfixturevalue("aws_endpoint")
        if not endpoint.emulated:
            pytest.skip("the contracts need the project's emulator (targets, interfaces)")
        zone = {"hosted_zone_id": _hosted_zone(endpoint, project)} if dns_zone else {}
        world = AwsWorld(endpoint, project, base=base, **zone)
        made.append(world)
        return world

    yield make
    for world in made:
        world.close()


@pytest.fixture
def world(make_world: Callable[..., World]) -> World:
    return make_world()
