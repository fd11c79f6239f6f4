"""What the emulator does on its own, played by hand when the tests run on plain moto."""

from __future__ import annotations

from typing import Any

from bot.config import Settings
from bot.model import LoadBalancer, Task
from infra.aws.platform import Boto3Platform
from infra.aws.session import AwsClients
from tests.aws.conftest import Endpoint
from tests.support.services import wait_for

MUTATING = ("Create", "Register", "Put", "Attach", "Associate", "Authorize", "Modify", "Update")


def mutations(counts: dict[str, int]) -> dict[str, int]:
    """The calls in ``counts`` that change something (``service.CreateX`` and the like)."""
    return {k: v for k, v in counts.items() if k.split(".", 1)[1].startswith(MUTATING)}


def running_task(endpoint: Endpoint, platform: Boto3Platform) -> Task:
    """Scale the service to 1 and return its task once it has a private IP."""
    platform.set_desired_count(1)
    if not endpoint.emulated:
        _run_service_task(platform.settings, platform.clients)

    def ready() -> Task | None:
        tasks = [t for t in platform.list_tasks() if t.private_ip]
        return tasks[0] if tasks else None

    task = wait_for(ready, 30, "a task with a private IP")
    assert isinstance(task, Task)
    return task


def _run_service_task(settings: Settings, clients: AwsClients) -> None:
    service = clients.ecs.describe_services(
        cluster=settings.cluster_name, services=[settings.service_name]
    )["services"][0]
    clients.ecs.run_task(
        cluster=settings.cluster_name,
        taskDefinition=service["taskDefinition"],
        launchType="FARGATE",
        group=f"service:{settings.service_name}",
        startedBy=f"ecs-svc/{settings.service_name}",
        networkConfiguration=service["networkConfiguration"],
        count=1,
    )


def nlb_interfaces(endpoint: Endpoint, clients: AwsClients, lb: LoadBalancer) -> list[str]:
    """Make sure the NLB's ``ELB net/...`` interfaces exist; returns their ENI ids."""
    description = f"ELB net/{lb.name}/{lb.arn.rsplit('/', 1)[-1]}"
    if not endpoint.emulated:
        detail = clients.elbv2.describe_load_balancers(LoadBalancerArns=[lb.arn])
        for zone in detail["LoadBalancers"][0]["AvailabilityZones"]:
            make_interface(clients, zone["SubnetId"], description)

    def enis() -> list[str]:
        found = clients.ec2.describe_network_interfaces(
            Filters=[{"Name": "description", "Values": [description]}]
        )["NetworkInterfaces"]
        return [e["NetworkInterfaceId"] for e in found if e.get("Association", {}).get("PublicIp")]

    result = wait_for(enis, 30, "the NLB's network interfaces")
    assert isinstance(result, list)
    return result


def make_interface(clients: AwsClients, subnet_id: str, description: str) -> dict[str, Any]:
    """An interface with a public IP (an untagged EIP, like the ones AWS gives an NLB)."""
    eni = clients.ec2.create_network_interface(SubnetId=subnet_id, Description=description)
    eni_id = eni["NetworkInterface"]["NetworkInterfaceId"]
    alloc = clients.ec2.allocate_address(Domain="vpc")
    clients.ec2.associate_address(AllocationId=alloc["AllocationId"], NetworkInterfaceId=eni_id)
    return {"eni": eni_id, "allocation": alloc["AllocationId"], "ip": alloc["PublicIp"]}


def stop_tasks(endpoint: Endpoint, platform: Boto3Platform) -> None:
    """Scale to 0 and wait until the service has no task that should run."""
    platform.set_desired_count(0)
    if not endpoint.emulated:
        settings = platform.settings
        for task in platform.list_tasks():
            platform.clients.ecs.stop_task(cluster=settings.cluster_name, task=task.arn)
    wait_for(lambda: platform.list_tasks() == [], 30, "the tasks to stop")


def forget_nlb_interfaces(endpoint: Endpoint, clients: AwsClients, lb: LoadBalancer) -> None:
    """After the NLB is deleted AWS removes its interfaces; do it by hand on plain moto."""
    description = f"ELB net/{lb.name}/{lb.arn.rsplit('/', 1)[-1]}"

    def interfaces() -> list[dict[str, Any]]:
        return list(
            clients.ec2.describe_network_interfaces(
                Filters=[{"Name": "description", "Values": [description]}]
            )["NetworkInterfaces"]
        )

    if not endpoint.emulated:
        for eni in interfaces():
            remove_interface(clients, eni)
    wait_for(lambda: interfaces() == [], 30, "the NLB's interfaces to go")


def remove_interface(clients: AwsClients, eni: dict[str, Any]) -> None:
    assoc = eni.get("Association", {})
    if assoc.get("AssociationId"):
        clients.ec2.disassociate_address(AssociationId=assoc["AssociationId"])
    if assoc.get("AllocationId"):
        clients.ec2.release_address(AllocationId=assoc["AllocationId"])
    clients.ec2.delete_network_interface(NetworkInterfaceId=eni["NetworkInterfaceId"])
