"""The ``Ingress`` contract (``bot.ports``), run on the fake and on ``NlbIngress`` with
the boto3 provisioner over the emulator: what the lifecycle may rely on."""

from __future__ import annotations

from bot.model import AliasTarget, SessionTags, Task
from tests.contract.conftest import Notes, World, running_task

TAGS = SessionTags(session="job-1", requested_by="console:alice")


def _remove_all(world: World) -> None:
    world.parts.compute.scale(0)
    world.parts.ingress.remove(Notes())
    world.eventually(lambda: world.parts.ingress.remaining() == [], "the ingress to go")


def test_nothing_exists_before_bring_up(world: World) -> None:
    ingress = world.parts.ingress
    assert ingress.describe() is None
    assert ingress.remaining() == []
    assert ingress.advertised_addresses() == []
    assert ingress.dns_target([]) is None
    seen = ingress.readiness()
    assert seen.gone and not seen.ready


def test_bring_up_is_idempotent(world: World) -> None:
    ingress = world.parts.ingress
    ingress.bring_up(TAGS, Notes())
    first = world.eventually(ingress.describe, "the ingress to exist")
    left = ingress.remaining()
    assert left  # it exists, so removing it is still to do

    ingress.bring_up(SessionTags("job-2", "console:bob"), Notes())
    again = ingress.describe()
    assert again is not None
    assert (again.kind, again.name, again.dns_name) == (first.kind, first.name, first.dns_name)
    assert ingress.remaining() == left
    billable = [r for r in world.parts.audit.billable() if r.kind.value == "load_balancer"]
    assert len(billable) == 1
    _remove_all(world)


def test_advertised_addresses_appear_then_stay(world: World) -> None:
    ingress = world.parts.ingress
    assert ingress.advertised_addresses() == []
    ingress.bring_up(TAGS, Notes())
    addresses = world.eventually(ingress.advertised_addresses, "the public addresses")
    assert len(set(addresses)) == len(addresses)
    assert all(a.count(".") == 3 for a in addresses)  # IPv4, as JVB_ADVERTISE_IPS wants
    assert ingress.advertises
    for _ in range(3):
        assert ingress.advertised_addresses() == addresses
    ingress.bring_up(TAGS, Notes())  # a second bring-up keeps them
    assert ingress.advertised_addresses() == addresses
    _remove_all(world)


def test_attach_registers_exactly_the_given_tasks(world: World) -> None:
    ingress = world.parts.ingress
    ingress.bring_up(TAGS, Notes())
    task = running_task(world)
    assert task.private_ip
    ingress.attach([Task("arn:gone", "STOPPED", "10.0.0.250")])  # a task that went
    ingress.attach([task])

    def targets() -> set[tuple[str, str]]:
        view = ingress.describe()
        assert view is not None
        return {(t.target_group, t.target_id) for t in view.targets}

    attached = targets()
    assert {ip for _, ip in attached} == {task.private_ip}  # the stale one is gone
    assert len({group for group, _ in attached}) >= 2  # media (UDP) and web at least
    ingress.attach([task])  # again: nothing changes
    assert targets() == attached
    ingress.attach([])
    assert targets() == set()
    _remove_all(world)


def test_readiness_eventually_ready_once_attached_and_healthy(world: World) -> None:
    ingress = world.parts.ingress
    ingress.bring_up(TAGS, Notes())
    assert not ingress.readiness().ready  # nothing attached yet
    ingress.attach([running_task(world)])
    ready = world.eventually(
        lambda: (seen := ingress.readiness()).ready and seen, "a ready ingress"
    )
    assert ready.failing == () and not ready.gone and ready.summary
    view = ingress.describe()
    assert view is not None and ready.address == view.dns_name
    assert all(t.healthy for t in view.targets)
    _remove_all(world)


def test_readiness_fails_with_a_reason_when_targets_are_unhealthy(world: World) -> None:
    world.targets_fail()
    ingress = world.parts.ingress
    ingress.bring_up(TAGS, Notes())
    ingress.attach([running_task(world)])
    seen = world.eventually(
        lambda: (r := ingress.readiness()).failing and r, "failing health checks"
    )
    assert not seen.ready and not seen.gone
    assert all(reason.strip() for reason in seen.failing)
    assert seen.hint  # what to check
    _remove_all(world)


def test_readiness_is_gone_when_the_ingress_is_deleted_under_it(world: World) -> None:
    ingress = world.parts.ingress
    ingress.bring_up(TAGS, Notes())
    ingress.attach([running_task(world)])
    world.eventually(ingress.describe, "the ingress to exist")
    world.delete_ingress_behind_its_back()
    seen = world.eventually(lambda: (r := ingress.readiness()).gone and r, "readiness: gone")
    assert not seen.ready
    # What is left (target groups, say) is still reported, and removal finishes it.
    _remove_all(world)
    assert ingress.describe() is None


def test_dns_target_points_at_the_ingress(world: World) -> None:
    ingress = world.parts.ingress
    assert ingress.dns_target([]) is None
    ingress.bring_up(TAGS, Notes())
    target = world.eventually(lambda: ingress.dns_target([]), "a DNS target")
    view = ingress.describe()
    assert view is not None
    assert isinstance(target, AliasTarget)
    assert target.dns_name == view.dns_name and target.zone_id
    _remove_all(world)


def test_remove_leaves_nothing_billable(world: World) -> None:
    ingress = world.parts.ingress
    ingress.bring_up(TAGS, Notes())
    ingress.attach([running_task(world)])
    world.eventually(ingress.advertised_addresses, "the public addresses")
    assert world.parts.audit.billable()

    world.parts.compute.scale(0)
    ingress.remove(Notes())  # asks; does not wait
    world.eventually(lambda: ingress.remaining() == [], "the ingress to go")
    world.eventually(lambda: world.parts.audit.billable() == [], "nothing billable")
    assert ingress.describe() is None
    assert ingress.advertised_addresses() == []
    ingress.remove(Notes())  # nothing there: no error
    assert ingress.remaining() == []
    assert ingress.readiness().gone
