"""The strict emulator: a bootstrapped task runs and turns HEALTHY; a task definition
that breaks docker-jitsi-meet's contract stops the way ECS would stop it, and
``EcsCompute.tasks`` carries ECS's reason and the culprit container to the bot."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.config import Settings
from bot.containers import failure, progress
from bot.model import Task
from infra.aws import naming
from infra.aws.compute import EcsCompute
from infra.aws.session import AwsClients
from infra.participants_metric import (
    METRIC,
    NAMESPACE,
    PROJECT_DIMENSION,
    RECEIVED_METRIC,
    SENT_METRIC,
)
from tests.support.aws import Endpoint
from tests.support.services import wait_for
from tests.support.stats_sidecar import PARTICIPANTS_ONLY
from tests.support.task_definitions import Containers, container, task_definition


@pytest.fixture(autouse=True)
def emulated(aws_endpoint: Endpoint) -> None:
    if not aws_endpoint.emulated:
        pytest.skip("the task contract is the project's emulator's (infra/emulator)")


def _run(
    settings: Settings, clients: AwsClients, mutate: Callable[[Containers], None] | None = None
) -> EcsCompute:
    """Point the service at the bootstrapped task (changed by ``mutate``) and scale to 1."""
    clients.ecs.update_service(
        cluster=settings.cluster_name,
        service=settings.service_name,
        taskDefinition=task_definition(clients.ecs, settings, mutate),
        desiredCount=1,
    )
    return EcsCompute(settings, clients)


def _stopped(compute: EcsCompute) -> Task:
    def find() -> Task | None:
        return next((t for t in compute.tasks(include_stopped=True) if t.stopped_reason), None)

    task = wait_for(find, 20, "the task to stop")
    assert isinstance(task, Task)
    return task


def _container(task: Task, name: str) -> Any:
    return next(c for c in task.containers if c.name == name)


def test_the_bootstrapped_task_turns_healthy(
    base: dict[str, str], settings: Settings, clients: AwsClients
) -> None:
    compute = _run(settings, clients)

    def healthy() -> Task | None:
        return next((t for t in compute.tasks() if t.health == "HEALTHY"), None)

    task = wait_for(healthy, 20, "a HEALTHY task")
    assert isinstance(task, Task)
    assert {c.name: c.health for c in task.containers} == {
        "prosody": "HEALTHY",
        "jicofo": "HEALTHY",
        "jvb": "HEALTHY",
        "web": "HEALTHY",
        "participants": "UNKNOWN",
    }
    assert all(c.last_status == "RUNNING" for c in task.containers)
    assert failure(task) is None
    assert progress(task) == "4 containers healthy"


def test_health_waits_for_the_profiles_delay(
    base: dict[str, str], settings: Settings, clients: AwsClients, aws_endpoint: Endpoint
) -> None:
    # field x 0.05: task RUNNING after 2 s, containers HEALTHY 1 s later.
    aws_endpoint.control("profile", {"profile": "field", "time_scale": 0.05})
    try:
        compute = _run(settings, clients)
        running = wait_for(
            lambda: next((t for t in compute.tasks() if t.last_status == "RUNNING"), None),
            20,
            "a RUNNING task",
        )
        assert isinstance(running, Task) and running.health == "UNKNOWN"
        assert "waiting: prosody, jicofo, jvb, web" in progress(running)
        wait_for(lambda: any(t.health == "HEALTHY" for t in compute.tasks()), 20, "a HEALTHY task")
    finally:
        aws_endpoint.control("profile", {"profile": "instant", "time_scale": 1.0})


def test_a_missing_password_stops_the_task_as_ecs_would(
    base: dict[str, str], settings: Settings, clients: AwsClients
) -> None:
    compute = _run(settings, clients, lambda defs: container(defs, "prosody").update(secrets=[]))
    task = _stopped(compute)
    assert task.stopped_reason == "Essential container in task exited"
    prosody = _container(task, "prosody")
    assert (prosody.last_status, prosody.exit_code) == ("STOPPED", 1)
    message = failure(task)
    assert message == "Essential container in task exited (prosody exited with code 1)"


def test_a_heap_larger_than_the_container_is_killed_out_of_memory(
    base: dict[str, str], settings: Settings, clients: AwsClients
) -> None:
    def big_heap(defs: Containers) -> None:
        jvb = container(defs, "jvb")
        jvb["environment"] = [
            e for e in jvb["environment"] if e["name"] != "VIDEOBRIDGE_MAX_MEMORY"
        ] + [{"name": "VIDEOBRIDGE_MAX_MEMORY", "value": "16g"}]

    task = _stopped(_run(settings, clients, big_heap))
    assert task.stopped_reason == "Essential container in task exited"
    jvb = _container(task, "jvb")
    assert jvb.exit_code == 137
    assert jvb.reason == "OutOfMemoryError: Container killed due to memory usage"
    assert "jvb exited with code 137, OutOfMemoryError" in (failure(task) or "")


def test_a_secret_that_does_not_exist_fails_the_task_before_it_starts(
    base: dict[str, str], settings: Settings, clients: AwsClients
) -> None:
    clients.ssm.delete_parameter(Name=naming.xmpp_password_parameter(settings, "jvb"))
    task = _stopped(_run(settings, clients))
    assert task.stopped_reason.startswith("ResourceInitializationError: unable to pull secrets")
    assert naming.xmpp_password_parameter(settings, "jvb") in task.stopped_reason
    assert all(c.exit_code is None for c in task.containers)


def test_xmpp_on_a_name_fargate_cannot_resolve_fails_the_health_check(
    base: dict[str, str], settings: Settings, clients: AwsClients
) -> None:
    def compose_name(defs: Containers) -> None:
        jicofo = container(defs, "jicofo")
        jicofo["environment"] = [e for e in jicofo["environment"] if e["name"] != "XMPP_SERVER"]

    task = _stopped(_run(settings, clients, compose_name))
    assert task.stopped_reason == "Task failed container health checks"
    assert _container(task, "jicofo").health == "UNHEALTHY"
    assert "jicofo health check failing" in (failure(task) or "")


def test_an_execution_role_that_may_not_read_the_secrets_fails_the_task(
    base: dict[str, str], settings: Settings, clients: AwsClients
) -> None:
    iam = clients.client("iam")
    role = f"{settings.project_name}-task-execution"
    iam.delete_role_policy(RoleName=role, PolicyName="read-task-parameters")
    task = _stopped(_run(settings, clients))
    assert task.stopped_reason.startswith("ResourceInitializationError")
    assert "AccessDeniedException" in task.stopped_reason
    assert "jicofo-auth-password" in task.stopped_reason


def test_the_sidecar_publishes_only_what_its_command_prints(
    base: dict[str, str], settings: Settings, clients: AwsClients, aws_endpoint: Endpoint
) -> None:
    """A sidecar whose command does not read the task's network counters (the one
    before them) gives Jicofo's count and no bytes, on AWS and here alike."""
    project = settings.project_name
    aws_endpoint.control("traffic", {"project": project, "sent": 3000.0, "received": 1000.0})
    aws_endpoint.control("participants", {"project": project, "count": 2})

    def participants_only(defs: Containers) -> None:
        container(defs, "participants")["command"] = ["sh", "-c", PARTICIPANTS_ONLY]

    try:
        _run(settings, clients, participants_only)
        cw = clients.client("cloudwatch")

        def points(name: str) -> list[Any]:
            now = datetime.now(UTC)
            return list(
                cw.get_metric_statistics(
                    Namespace=NAMESPACE,
                    MetricName=name,
                    Dimensions=[{"Name": PROJECT_DIMENSION, "Value": project}],
                    StartTime=now - timedelta(minutes=10),
                    EndTime=now + timedelta(minutes=1),
                    Period=60,
                    Statistics=["Sum"],
                )["Datapoints"]
            )

        wait_for(lambda: points(METRIC), 20, "the sidecar's Participants")
        # Bytes and count go out in the same scheduler tick: none by now means none.
        assert points(SENT_METRIC) == [] and points(RECEIVED_METRIC) == []
    finally:
        aws_endpoint.control("traffic", {"project": project})
