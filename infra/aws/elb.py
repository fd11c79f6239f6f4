"""The NLB and its target groups as elbv2 describes them: typed records and lookups
by the names the project derives (``infra.aws.naming``). Read-only."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import ClientError

from bot.config import Settings
from infra.aws import naming
from infra.aws.errors import error_code
from infra.aws.session import AwsClients


@dataclass(frozen=True, slots=True)
class LoadBalancer:
    arn: str
    name: str
    dns_name: str
    state: str  # provisioning | active | active_impaired | failed
    zone_id: str = ""  # its canonical hosted zone, for Route 53 aliases
    availability_zones: int = 2

    @property
    def active(self) -> bool:
        return self.state == "active"

    @property
    def interface_description(self) -> str:
        """AWS names an NLB's network interfaces ``ELB net/<name>/<id>``."""
        return f"ELB net/{self.name}/{self.arn.rsplit('/', 1)[-1]}"

    @property
    def metric_dimension(self) -> str:
        """The ``LoadBalancer`` dimension of its CloudWatch metrics (``net/<name>/<id>``)."""
        return "net/" + self.arn.split(":loadbalancer/net/", 1)[-1]


@dataclass(frozen=True, slots=True)
class TargetGroup:
    arn: str
    name: str
    protocol: str
    port: int


def load_balancer(data: dict[str, Any]) -> LoadBalancer:
    return LoadBalancer(
        arn=data["LoadBalancerArn"],
        name=data["LoadBalancerName"],
        dns_name=data.get("DNSName", ""),
        state=data.get("State", {}).get("Code", "provisioning"),
        zone_id=data.get("CanonicalHostedZoneId", ""),
        availability_zones=len(data.get("AvailabilityZones", [])) or 1,
    )


def target_group(data: dict[str, Any]) -> TargetGroup:
    return TargetGroup(
        arn=data["TargetGroupArn"],
        name=data["TargetGroupName"],
        protocol=data["Protocol"],
        port=int(data["Port"]),
    )


def find_load_balancer(settings: Settings, clients: AwsClients) -> LoadBalancer | None:
    """The project's NLB by its name, or None."""
    try:
        resp = clients.elbv2.describe_load_balancers(Names=[naming.nlb_name(settings)])
    except ClientError as exc:
        if error_code(exc) == "LoadBalancerNotFound":
            return None
        raise
    lbs = resp.get("LoadBalancers", [])
    return load_balancer(lbs[0]) if lbs else None


def find_group(clients: AwsClients, name: str) -> dict[str, Any] | None:
    try:
        resp = clients.elbv2.describe_target_groups(Names=[name])
    except ClientError as exc:
        if error_code(exc) == "TargetGroupNotFound":
            return None
        raise
    groups = resp.get("TargetGroups", [])
    return dict(groups[0]) if groups else None


def existing_groups(settings: Settings, clients: AwsClients) -> list[dict[str, Any]]:
    """The configured target groups that exist: one call when all do."""
    names = [spec.name for spec in naming.group_specs(settings)]
    try:
        resp = clients.elbv2.describe_target_groups(Names=names)
        return list(resp.get("TargetGroups", []))
    except ClientError as exc:
        if error_code(exc) != "TargetGroupNotFound":
            raise
    # Some are missing: one call each tells which.
    return [g for g in (find_group(clients, n) for n in names) if g is not None]


def every_group(settings: Settings, clients: AwsClients) -> list[dict[str, Any]]:
    """Every target group with one of the project's names, configured or not (4443 after
    the flag was turned off): one listing, for removal and what remains of it."""
    names = {spec.name for spec in naming.group_specs(settings, all_groups=True)}
    found: list[dict[str, Any]] = []
    for page in clients.elbv2.get_paginator("describe_target_groups").paginate():
        found.extend(g for g in page.get("TargetGroups", []) if g["TargetGroupName"] in names)
    return found


def interface_ips(clients: AwsClients, description: str) -> list[str]:
    """Public IPs of the network interfaces whose description matches (``*`` wildcards)."""
    ips: list[str] = []
    paginator = clients.ec2.get_paginator("describe_network_interfaces")
    filters = [{"Name": "description", "Values": [description]}]
    for page in paginator.paginate(Filters=filters):
        for eni in page.get("NetworkInterfaces", []):
            ip = eni.get("Association", {}).get("PublicIp")
            if ip:
                ips.append(ip)
    return sorted(ips)
