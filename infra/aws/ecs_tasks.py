"""The ECS service's tasks as raw API data, shared by the driver and the audit."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bot.config import Settings
from bot.model import ContainerState
from infra.aws.session import AwsClients


def task_containers(task: dict[str, Any]) -> tuple[ContainerState, ...]:
    """The task's containers as ECS describes them (status, health, exit code, reason)."""
    return tuple(
        ContainerState(
            name=str(c.get("name", "")),
            last_status=str(c.get("lastStatus", "PENDING")),
            health=str(c.get("healthStatus", "UNKNOWN")),
            exit_code=int(c["exitCode"]) if c.get("exitCode") is not None else None,
            reason=str(c.get("reason", "")),
        )
        for c in task.get("containers", [])
    )


def task_private_ip(task: dict[str, Any]) -> str | None:
    """The task's ENI address from its attachment details (``privateIPv4Address``)."""
    return _attachment_detail(task, "privateIPv4Address")


def task_eni_id(task: dict[str, Any]) -> str | None:
    return _attachment_detail(task, "networkInterfaceId")


def _attachment_detail(task: dict[str, Any], name: str) -> str | None:
    for attachment in task.get("attachments", []):
        if attachment.get("type") != "ElasticNetworkInterface":
            continue
        for detail in attachment.get("details", []):
            if detail.get("name") == name and detail.get("value"):
                return str(detail["value"])
    return None


def describe_service_tasks(
    clients: AwsClients,
    settings: Settings,
    statuses: Iterable[str] = ("RUNNING",),
    *,
    whole_cluster: bool = False,
) -> list[dict[str, Any]]:
    """Raw ``describe_tasks`` entries of the service's tasks with the given desired statuses.

    ``whole_cluster`` lists every task of the project's cluster, not only the service's.
    """
    ecs = clients.ecs
    arns: list[str] = []
    paginator = ecs.get_paginator("list_tasks")
    scope = {} if whole_cluster else {"serviceName": settings.service_name}
    for status in statuses:
        pages = paginator.paginate(cluster=settings.cluster_name, desiredStatus=status, **scope)
        for page in pages:
            arns.extend(a for a in page.get("taskArns", []) if a not in arns)
    tasks: list[dict[str, Any]] = []
    for start in range(0, len(arns), 100):
        resp = ecs.describe_tasks(cluster=settings.cluster_name, tasks=arns[start : start + 100])
        tasks.extend(resp.get("tasks", []))
    return tasks


def eni_public_ips(clients: AwsClients, eni_ids: list[str]) -> dict[str, str]:
    """ENI id -> public IP, for those of ``eni_ids`` that have one."""
    if not eni_ids:
        return {}
    out: dict[str, str] = {}
    paginator = clients.ec2.get_paginator("describe_network_interfaces")
    filters = [{"Name": "network-interface-id", "Values": eni_ids}]
    for page in paginator.paginate(Filters=filters):
        for eni in page.get("NetworkInterfaces", []):
            ip = eni.get("Association", {}).get("PublicIp")
            if ip:
                out[eni["NetworkInterfaceId"]] = ip
    return out
