"""The orphan audit: every billable resource of the project that exists in AWS.

It uses each service's own describe calls and tags, not the Resource Groups
Tagging API (incomplete in moto, and eventually consistent in AWS). After a
stop it must return nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from botocore.exceptions import ClientError

from bot.config import Settings
from bot.model import BillableResource, ResourceKind
from infra.aws import listeners, naming
from infra.aws.ecs_tasks import describe_service_tasks, eni_public_ips, task_eni_id
from infra.aws.elb import LoadBalancer
from infra.aws.errors import cloud_errors, error_code
from infra.aws.session import AwsClients
from infra.aws.tags import belongs_to, project_filter


class AwsAudit:
    """The platform's ``Audit`` on boto3."""

    def __init__(self, settings: Settings, clients: AwsClients) -> None:
        self.settings = settings
        self.clients = clients

    def billable(self) -> list[BillableResource]:
        return audit(self.settings, self.clients)

    def sweep(self, found: Sequence[BillableResource]) -> int:
        """Delete the load balancers among ``found`` (with their listeners); returns how
        many deletions were asked for (AWS accepts deleting one that is already gone)."""
        deleted = 0
        with cloud_errors(self.settings, "removing a stray load balancer"):
            for r in found:
                if r.kind is not ResourceKind.LOAD_BALANCER:
                    continue
                lb = LoadBalancer(r.resource_id, r.name, "", "active")
                listeners.delete_all(self.clients.elbv2, lb)
                try:
                    self.clients.elbv2.delete_load_balancer(LoadBalancerArn=r.resource_id)
                    deleted += 1
                except ClientError as exc:
                    if error_code(exc) != "LoadBalancerNotFound":
                        raise
        return deleted


def audit(settings: Settings, clients: AwsClients) -> list[BillableResource]:
    """Load balancers, target groups, live tasks, tagged EIPs and orphaned NLB interfaces."""
    with cloud_errors(settings, "auditing billable resources"):
        lbs = _load_balancers(settings, clients)
        found = [r for r, _ in lbs]
        found += _target_groups(settings, clients)
        found += _tasks(settings, clients)
        found += _elastic_ips(settings, clients)
        found += _orphaned_interfaces(settings, clients, {lb_id for _, lb_id in lbs})
        return found


def _tags_by_arn(clients: AwsClients, arns: list[str]) -> dict[str, list[dict[str, str]]]:
    out: dict[str, list[dict[str, str]]] = {}
    for start in range(0, len(arns), 20):  # describe_tags takes at most 20 ARNs
        resp = clients.elbv2.describe_tags(ResourceArns=arns[start : start + 20])
        for desc in resp.get("TagDescriptions", []):
            out[desc["ResourceArn"]] = desc.get("Tags", [])
    return out


def _load_balancers(settings: Settings, clients: AwsClients) -> list[tuple[BillableResource, str]]:
    name = naming.nlb_name(settings)
    lbs: list[dict[str, Any]] = []
    for page in clients.elbv2.get_paginator("describe_load_balancers").paginate():
        lbs.extend(page.get("LoadBalancers", []))
    # Tags too, not just the name: a renamed or hand-made copy bills the same.
    tags = _tags_by_arn(clients, [lb["LoadBalancerArn"] for lb in lbs])
    out = []
    for lb in lbs:
        arn = lb["LoadBalancerArn"]
        if lb["LoadBalancerName"] != name and not belongs_to(tags.get(arn), settings.project_name):
            continue
        lb_id = arn.rsplit("/", 1)[-1]
        public = _interface_ips(clients, f"ELB net/{lb['LoadBalancerName']}/{lb_id}")
        # Until its interfaces show up, an internet-facing NLB holds one address per zone.
        ipv4 = len(public) or (
            len(lb.get("AvailabilityZones", [])) if lb.get("Scheme") == "internet-facing" else 0
        )
        resource = BillableResource(
            kind=ResourceKind.LOAD_BALANCER,
            resource_id=arn,
            name=lb["LoadBalancerName"],
            public_ipv4=ipv4,
            detail=f"{lb.get('Type', 'network')} {lb.get('State', {}).get('Code', '')}".strip(),
        )
        out.append((resource, lb_id))
    return out


def _interface_ips(clients: AwsClients, description: str) -> list[str]:
    ips = []
    paginator = clients.ec2.get_paginator("describe_network_interfaces")
    for page in paginator.paginate(Filters=[{"Name": "description", "Values": [description]}]):
        for eni in page.get("NetworkInterfaces", []):
            ip = eni.get("Association", {}).get("PublicIp")
            if ip:
                ips.append(ip)
    return ips


def _target_groups(settings: Settings, clients: AwsClients) -> list[BillableResource]:
    names = {spec.name for spec in naming.group_specs(settings, all_groups=True)}
    groups: list[dict[str, Any]] = []
    for page in clients.elbv2.get_paginator("describe_target_groups").paginate():
        groups.extend(page.get("TargetGroups", []))
    tags = _tags_by_arn(clients, [g["TargetGroupArn"] for g in groups])
    return [
        BillableResource(
            kind=ResourceKind.TARGET_GROUP,
            resource_id=g["TargetGroupArn"],
            name=g["TargetGroupName"],
            detail=f"{g['Protocol']} {g['Port']} (free; listed so nothing lingers)",
        )
        for g in groups
        if g["TargetGroupName"] in names
        or belongs_to(tags.get(g["TargetGroupArn"]), settings.project_name)
    ]


def _tasks(settings: Settings, clients: AwsClients) -> list[BillableResource]:
    try:
        # A task told to stop bills until it has stopped; one started by hand
        # in the project's cluster bills as well.
        raw = describe_service_tasks(clients, settings, ("RUNNING", "STOPPED"), whole_cluster=True)
    except ClientError as exc:
        # No cluster or service: no task can be billed either.
        if error_code(exc) in ("ClusterNotFoundException", "ServiceNotFoundException"):
            return []
        raise
    live = [t for t in raw if t.get("lastStatus") != "STOPPED"]
    public = eni_public_ips(clients, [e for e in map(task_eni_id, live) if e])
    out = []
    for task in live:
        eni = task_eni_id(task)
        out.append(
            BillableResource(
                kind=ResourceKind.TASK,
                resource_id=task["taskArn"],
                name=settings.service_name,
                public_ipv4=1 if eni and eni in public else 0,
                detail=f"{task.get('lastStatus', '')} cpu={task.get('cpu', '?')} "
                f"memory={task.get('memory', '?')}",
            )
        )
    return out


def _elastic_ips(settings: Settings, clients: AwsClients) -> list[BillableResource]:
    resp = clients.ec2.describe_addresses(Filters=project_filter(settings.project_name))
    return [
        BillableResource(
            kind=ResourceKind.ELASTIC_IP,
            resource_id=addr.get("AllocationId", addr.get("PublicIp", "")),
            name=addr.get("PublicIp", ""),
            public_ipv4=1,
            detail="attached" if addr.get("AssociationId") else "unattached",
        )
        for addr in resp.get("Addresses", [])
    ]


def _orphaned_interfaces(
    settings: Settings, clients: AwsClients, live_lb_ids: set[str]
) -> list[BillableResource]:
    """Interfaces named after the project's NLB whose load balancer no longer exists."""
    prefix = naming.eni_description_prefix(settings)
    out = []
    paginator = clients.ec2.get_paginator("describe_network_interfaces")
    for page in paginator.paginate(Filters=[{"Name": "description", "Values": [prefix + "*"]}]):
        for eni in page.get("NetworkInterfaces", []):
            description = eni.get("Description", "")
            if not description.startswith(prefix):
                continue
            if description[len(prefix) :] in live_lb_ids:
                continue
            ip = eni.get("Association", {}).get("PublicIp")
            out.append(
                BillableResource(
                    kind=ResourceKind.NETWORK_INTERFACE,
                    resource_id=eni["NetworkInterfaceId"],
                    name=description,
                    public_ipv4=1 if ip else 0,
                    detail=f"orphan of a deleted load balancer ({eni.get('Status', '')})",
                )
            )
    return out
