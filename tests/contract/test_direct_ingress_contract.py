"""The ``Ingress`` contract for the direct way in (the task's own public IP), run on
the fake (``FakeDirectIngress``) and on ``DirectIngress`` over the emulator: what the
lifecycle relies on when there is no load balancer."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.model import AddressTarget, IngressKind, SessionTags
from tests.contract.conftest import AwsWorld, FakeWorld, Notes, World, running_task
from tests.support.aws import Endpoint
from tests.support.fake_parts import fake_parts
from tests.support.tls import store_certificate

TAGS = SessionTags(session="job-1", requested_by="console:alice")


class FakeDirectWorld(FakeWorld):
    def __init__(self) -> None:
        super().__init__()
        self.cloud.ingress_kind = IngressKind.DIRECT
        self.parts = fake_parts(self.cloud)


@pytest.fixture(params=["fake", "aws"])
def world(request: pytest.FixtureRequest, project: str) -> Iterator[World]:
    if request.param == "fake":
        yield FakeDirectWorld()
        return
    endpoint: Endpoint = request.getfixturevalue("aws_endpoint")
    if not endpoint.emulated:
        pytest.skip("the contracts need the project's emulator (task interfaces)")
    made = AwsWorld(endpoint, project, base=True, ingress=IngressKind.DIRECT)
    # What `jitsi-bot infra certificate` stores once: the web container's certificate,
    # without which ECS cannot start the task (its secrets name the parameters).
    store_certificate(made.settings)
    yield made
    made.close()


def _public_ip(world: World) -> str:
    return world.eventually(
        lambda: next((t.public_ip for t in world.parts.compute.tasks() if t.public_ip), None),
        "the task's public IP",
    )


def test_it_is_direct_and_advertises_nothing(world: World) -> None:
    ingress = world.parts.ingress
    assert ingress.kind is IngressKind.DIRECT and not ingress.advertises
    assert ingress.advertised_addresses() == []


def test_nothing_exists_and_nothing_bills_before_a_task(world: World) -> None:
    ingress = world.parts.ingress
    ingress.bring_up(TAGS, Notes())
    ingress.bring_up(TAGS, Notes())  # idempotent: there is nothing to make
    assert ingress.describe() is None
    assert ingress.remaining() == []
    assert ingress.dns_target([]) is None
    seen = ingress.readiness()
    assert not seen.ready and not seen.gone  # no task yet is not a vanished ingress
    assert world.parts.audit.billable() == []


def test_dns_target_is_the_tasks_public_ip_with_a_low_ttl(world: World) -> None:
    ingress = world.parts.ingress
    ingress.bring_up(TAGS, Notes())
    task = running_task(world)
    ingress.attach([task])
    target = world.eventually(lambda: ingress.dns_target([task]), "a DNS target")
    assert isinstance(target, AddressTarget)
    assert target.addresses == (_public_ip(world),)
    assert 1 <= target.ttl <= 60
    world.parts.compute.scale(0)


def test_readiness_is_a_healthy_task_with_its_public_ip(world: World) -> None:
    ingress = world.parts.ingress
    ingress.bring_up(TAGS, Notes())
    ingress.attach([running_task(world)])
    ready = world.eventually(lambda: (r := ingress.readiness()).ready and r, "a ready task")
    assert ready.failing == () and not ready.gone and ready.summary
    view = ingress.describe()
    assert view is not None and view.kind is IngressKind.DIRECT
    assert ready.address == _public_ip(world) and view.addresses == (ready.address,)
    world.parts.compute.scale(0)


def test_remove_is_free_and_the_audit_clean_once_the_task_stopped(world: World) -> None:
    ingress = world.parts.ingress
    ingress.bring_up(TAGS, Notes())
    ingress.attach([running_task(world)])
    assert world.parts.audit.billable()  # the task and its address
    world.parts.compute.scale(0)
    ingress.remove(Notes())
    assert ingress.remaining() == []
    world.eventually(lambda: world.parts.audit.billable() == [], "nothing billable")
    assert ingress.describe() is None
    world.parts.compute.scale(1)  # a new session: still no load balancer anywhere
    _public_ip(world)
    assert {r.kind.value for r in world.parts.audit.billable()} == {"task"}
    world.parts.compute.scale(0)
