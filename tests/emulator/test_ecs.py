"""The emulator's ECS, driven with plain boto3 clients and its control API: a service
scales to a running task and back, through every state under the field profile; bare
tasks; a service that cannot start. Each test names its own resources or shares the
module's network, so the order does not matter."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.emulator.network import (
    Network,
    describe_service,
    in_subnets,
    private_ip,
    scale,
    service_tasks,
)
from tests.support.services import control, wait_for

pytestmark = pytest.mark.usefixtures("instant")


def test_service_scales_to_one_running_task_and_back_to_zero(client: Any, net: Network) -> None:
    ecs, ec2 = client("ecs"), client("ec2")
    scale(ecs, net, 1)
    wait_for(lambda: describe_service(ecs, net)["runningCount"] == 1, 5, "runningCount 1")
    tasks = service_tasks(ecs, net)
    assert len(tasks) == 1
    task = tasks[0]
    assert task["lastStatus"] == "RUNNING"
    assert task["startedBy"] == f"ecs-svc/{net.service}"
    assert task["group"] == f"service:{net.service}"
    ip = private_ip(task)
    assert ip is not None and in_subnets(ip, net)
    eni = [
        d["value"] for d in task["attachments"][0]["details"] if d["name"] == "networkInterfaceId"
    ]
    assert ec2.describe_network_interfaces(NetworkInterfaceIds=eni)["NetworkInterfaces"]
    assert describe_service(ecs, net)["pendingCount"] == 0

    scale(ecs, net, 0)
    wait_for(lambda: not service_tasks(ecs, net), 5, "no running service task")
    stopped = ecs.describe_tasks(cluster=net.cluster, tasks=[task["taskArn"]])["tasks"][0]
    assert stopped["lastStatus"] == "STOPPED"
    assert stopped["desiredStatus"] == "STOPPED"
    assert describe_service(ecs, net)["runningCount"] == 0
    listed = ecs.list_tasks(cluster=net.cluster, serviceName=net.service, desiredStatus="STOPPED")
    assert task["taskArn"] in listed["taskArns"]
    assert not ec2.describe_network_interfaces(
        Filters=[{"Name": "network-interface-id", "Values": eni}]
    )["NetworkInterfaces"], "a stopped task's ENI is deleted"


def test_task_start_and_stop_pass_through_every_state_under_field(
    url: str, client: Any, net: Network
) -> None:
    ecs = client("ecs")
    # One 2 MB image: PENDING after 1.0 s, RUNNING after 1.5 s (launch + pulls, images.json).
    control(url, "profile", {"profile": "field", "time_scale": 0.1})
    scale(ecs, net, 1)
    seen: dict[str, dict[str, Any]] = {}

    def running() -> bool:
        tasks = service_tasks(ecs, net)
        for task in tasks:
            seen.setdefault(
                task["lastStatus"], {"task": task, "service": describe_service(ecs, net)}
            )
        return bool(tasks) and tasks[0]["lastStatus"] == "RUNNING"

    wait_for(running, 10, "a RUNNING task")
    assert "PENDING" in seen, seen.keys()
    assert private_ip(seen["PENDING"]["task"]) is not None, "the private IP shows while PENDING"
    assert seen["PENDING"]["service"]["pendingCount"] == 1
    if "PROVISIONING" in seen:
        assert private_ip(seen["PROVISIONING"]["task"]) is None
    assert describe_service(ecs, net)["runningCount"] == 1

    arn = service_tasks(ecs, net)[0]["taskArn"]
    scale(ecs, net, 0)
    states: set[str] = set()

    def stopped() -> bool:
        status = ecs.describe_tasks(cluster=net.cluster, tasks=[arn])["tasks"][0]["lastStatus"]
        states.add(status)
        return bool(status == "STOPPED")

    wait_for(stopped, 10, "the task STOPPED")
    assert "STOPPING" in states
    assert not service_tasks(ecs, net)


def test_state_reports_services(url: str, client: Any, net: Network) -> None:
    state = control(url, "state")
    assert state["profile"] == "instant"
    assert state["target_health_mode"] == "auto"
    service = next(s for s in state["services"] if s["service"] == net.service)
    assert service["cluster"] == net.cluster
    assert {"desired", "running", "pending"} <= service.keys()


def test_run_task_without_container_memory_or_security_groups(client: Any, net: Network) -> None:
    ecs, ec2 = client("ecs"), client("ec2")
    td = ecs.register_task_definition(
        family="bare",
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="256",
        memory="512",
        containerDefinitions=[{"name": "c", "image": "busybox"}],
    )["taskDefinition"]["taskDefinitionArn"]
    task = ecs.run_task(
        cluster=net.cluster,
        taskDefinition=td,
        launchType="FARGATE",
        networkConfiguration={"awsvpcConfiguration": {"subnets": net.subnets[:1]}},
    )["tasks"][0]
    ip = private_ip(task)
    assert ip is not None and in_subnets(ip, net)

    enis = len(ec2.describe_network_interfaces()["NetworkInterfaces"])
    with pytest.raises(ClientError):
        ecs.run_task(
            cluster=net.cluster,
            taskDefinition=td,
            launchType="FARGATE",
            networkConfiguration={"awsvpcConfiguration": {"subnets": []}},
        )
    assert len(ec2.describe_network_interfaces()["NetworkInterfaces"]) == enis
    ecs.stop_task(cluster=net.cluster, task=task["taskArn"])


def test_a_service_that_cannot_start_is_reported_without_leaking(
    url: str, client: Any, net: Network
) -> None:
    ecs, ec2 = client("ecs"), client("ec2")
    enis = len(ec2.describe_network_interfaces()["NetworkInterfaces"])
    # awsvpc without a network configuration: ECS cannot place the task.
    ecs.create_service(
        cluster=net.cluster,
        serviceName="broken",
        taskDefinition=net.task_definition,
        desiredCount=1,
        launchType="FARGATE",
    )

    def error() -> str | None:
        services = control(url, "state")["services"]
        return next(s["error"] for s in services if s["service"] == "broken")

    message = wait_for(error, 5, "the service's start error in /_emulator/state")
    assert "Network Configuration" in str(message)
    assert len(ec2.describe_network_interfaces()["NetworkInterfaces"]) == enis
    assert describe_service(ecs, replace(net, service="broken"))["runningCount"] == 0
    ecs.update_service(cluster=net.cluster, service="broken", desiredCount=0)
