"""The ``Compute`` contract (``bot.ports``), run on the fake and on ``EcsCompute`` over
the emulator: scaling is asked for, and the tasks follow."""

from __future__ import annotations

from tests.contract.conftest import World, running_task


def test_the_service_exists_and_starts_at_zero(world: World) -> None:
    service = world.parts.compute.service()
    assert service is not None and service.desired_count == 0
    assert world.parts.compute.tasks() == []


def test_scale_to_one_starts_a_task_with_a_private_ip(world: World) -> None:
    compute = world.parts.compute
    task = running_task(world)
    assert task.private_ip and task.desired_status == "RUNNING"
    service = compute.service()
    assert service is not None and service.desired_count == 1
    assert [t.arn for t in compute.tasks()] == [task.arn]  # one, not one per scale
    compute.scale(1)
    assert [t.arn for t in world.eventually(compute.tasks, "the task")] == [task.arn]
    compute.scale(0)


def test_scale_to_zero_stops_it(world: World) -> None:
    compute = world.parts.compute
    running_task(world)
    compute.scale(0)
    world.eventually(lambda: compute.tasks() == [], "no task meant to run")

    def stopped() -> bool:
        return all(t.last_status == "STOPPED" for t in compute.tasks(include_stopped=True))

    world.eventually(stopped, "the task to stop")
    service = compute.service()
    assert service is not None and service.desired_count == 0
    assert world.parts.audit.billable() == []


def test_redeploy_replaces_the_task_with_a_newer_one(world: World) -> None:
    compute = world.parts.compute
    old = running_task(world)
    assert old.created_at is not None
    compute.redeploy()

    def successor() -> list[object]:
        return [t for t in compute.tasks() if t.arn != old.arn and t.private_ip]

    (new,) = world.eventually(successor, "the task of the new deployment")
    assert new.created_at is not None and new.created_at >= old.created_at
    assert [t.arn for t in compute.tasks()] == [new.arn]  # one task at a time
    compute.scale(0)
