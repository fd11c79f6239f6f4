"""Where the ECS service's tasks live: the subnets and VPC an NLB must be placed in."""

from __future__ import annotations

from typing import Any

from bot.config import Settings
from bot.errors import CloudError
from infra.aws.errors import BOOTSTRAP_HINT
from infra.aws.session import AwsClients


def active_service(settings: Settings, clients: AwsClients) -> dict[str, Any] | None:
    """The ECS service's description while it is ACTIVE, else None."""
    resp = clients.ecs.describe_services(
        cluster=settings.cluster_name, services=[settings.service_name]
    )
    for service in resp.get("services", []):
        if service.get("status") == "ACTIVE":
            return dict(service)
    return None


def service_network(settings: Settings, clients: AwsClients) -> tuple[list[str], str]:
    """(one subnet per zone, as many zones as configured; the VPC id) of the service."""
    service = active_service(settings, clients)
    if service is None:
        raise CloudError(
            f"ECS service {settings.service_name!r} not found in cluster "
            f"{settings.cluster_name!r}.",
            BOOTSTRAP_HINT,
        )
    awsvpc = service.get("networkConfiguration", {}).get("awsvpcConfiguration", {})
    subnet_ids = list(awsvpc.get("subnets", []))
    if not subnet_ids:
        raise CloudError(
            f"ECS service {settings.service_name!r} has no awsvpc subnets.", BOOTSTRAP_HINT
        )
    subnets = clients.ec2.describe_subnets(SubnetIds=subnet_ids)["Subnets"]
    by_zone: dict[str, str] = {}
    for subnet in sorted(subnets, key=lambda s: s["SubnetId"]):
        by_zone.setdefault(subnet["AvailabilityZone"], subnet["SubnetId"])
    chosen = [by_zone[z] for z in sorted(by_zone)][: settings.nlb_availability_zones]
    return chosen, subnets[0]["VpcId"]
