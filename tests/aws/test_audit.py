"""``AwsAudit`` finds every billable thing of the project, and nothing after a stop;
its sweep removes load balancers that carry the project's tags under another name."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from bot.config import Settings
from bot.model import ResourceKind, SessionTags
from bot.ports import PlatformParts
from infra.aws.audit import AwsAudit
from infra.aws.nlb import NlbIngress
from infra.aws.session import AwsClients
from infra.aws.tags import TagSet
from tests.support.aws import (
    Endpoint,
    forget_nlb_interfaces,
    make_interface,
    nlb_interfaces,
    remove_interface,
    running_task,
    stop_tasks,
)
from tests.support.services import wait_for

TAGS = SessionTags(session="s", requested_by="u")


def _ignore(message: str, data: dict[str, object]) -> None:
    pass


def test_audit_lists_everything_then_nothing(
    parts: PlatformParts,
    ingress: NlbIngress,
    settings: Settings,
    clients: AwsClients,
    aws_endpoint: Endpoint,
    base: dict[str, str],
) -> None:
    assert parts.audit.billable() == []  # bootstrapped but idle: nothing billable

    ingress.bring_up(TAGS, _ignore)
    lb = ingress.load_balancer()
    assert lb is not None
    nlb_interfaces(aws_endpoint, clients, lb)
    task = running_task(aws_endpoint, parts.compute)  # type: ignore[arg-type]
    eip = clients.ec2.allocate_address(
        Domain="vpc",
        TagSpecifications=[
            {
                "ResourceType": "elastic-ip",
                "Tags": [{"Key": "jitsi:project", "Value": settings.project_name}],
            }
        ],
    )

    found = parts.audit.billable()
    kinds = Counter(r.kind for r in found)
    assert kinds == {
        ResourceKind.LOAD_BALANCER: 1,
        ResourceKind.TARGET_GROUP: 3,  # UDP 10000, TLS 443, TCP 80
        ResourceKind.TASK: 1,
        ResourceKind.ELASTIC_IP: 1,
    }
    by_kind = {r.kind: r for r in found}
    assert by_kind[ResourceKind.LOAD_BALANCER].resource_id == lb.arn
    assert by_kind[ResourceKind.LOAD_BALANCER].public_ipv4 == 2
    assert by_kind[ResourceKind.TASK].resource_id == task.arn
    if aws_endpoint.emulated:  # plain moto gives a task's interface no public IP
        assert by_kind[ResourceKind.TASK].public_ipv4 == 1
    assert by_kind[ResourceKind.ELASTIC_IP].resource_id == eip["AllocationId"]
    assert all(r.public_ipv4 == 0 for r in found if r.kind is ResourceKind.TARGET_GROUP)

    # Stop: the task, then the way in (listeners, NLB, groups) until nothing remains.
    stop_tasks(aws_endpoint, parts.compute)  # type: ignore[arg-type]
    ingress.remove(_ignore)
    forget_nlb_interfaces(aws_endpoint, clients, settings)
    wait_for(lambda: ingress.remaining() == [], 30, "the NLB to go")

    # An interface AWS left behind when the NLB went (it happens, and it bills).
    subnet = base["subnet_ids"].split(",")[0]
    orphan = make_interface(clients, subnet, f"ELB net/{settings.project_name}-nlb/0123abcd")
    leftovers = parts.audit.billable()
    assert sorted((r.kind, r.resource_id, r.public_ipv4) for r in leftovers) == sorted(
        [
            (ResourceKind.ELASTIC_IP, eip["AllocationId"], 1),
            (ResourceKind.NETWORK_INTERFACE, orphan["eni"], 1),
        ]
    )
    # ...and the ingress says it is not gone while that address bills.
    [left] = ingress.remaining()
    assert "network interface" in left

    eni = clients.ec2.describe_network_interfaces(NetworkInterfaceIds=[orphan["eni"]])
    remove_interface(clients, eni["NetworkInterfaces"][0])
    clients.ec2.release_address(AllocationId=eip["AllocationId"])
    assert parts.audit.billable() == []
    assert ingress.remaining() == []


def test_audit_ignores_other_projects(
    parts: PlatformParts,
    ingress: NlbIngress,
    settings: Settings,
    make_settings: Callable[..., Settings],
) -> None:
    ingress.bring_up(TAGS, _ignore)
    lb = ingress.load_balancer()
    assert lb is not None
    # A project whose name starts with ours owns none of our resources, and the reverse.
    other = make_settings(project_name=f"{settings.project_name}-o")
    assert AwsAudit(other, AwsClients(other)).billable() == []
    assert {r.name for r in parts.audit.billable()} == {
        lb.name,
        f"{settings.project_name}-udp10000",
        f"{settings.project_name}-web443",
        f"{settings.project_name}-web80",
    }
    ingress.remove(_ignore)


def test_sweep_removes_tagged_load_balancers_under_other_names(
    parts: PlatformParts, settings: Settings, clients: AwsClients, base: dict[str, str]
) -> None:
    subnets = base["subnet_ids"].split(",")
    stray = clients.elbv2.create_load_balancer(
        Name=f"{settings.project_name}-copy",
        Subnets=subnets,
        Type="network",
        Scheme="internet-facing",
        Tags=TagSet(settings.project_name, "by-hand", "ops").elbv2(),
    )["LoadBalancers"][0]
    group = clients.elbv2.create_target_group(
        Name=f"{settings.project_name}-x",
        Protocol="TCP",
        Port=80,
        VpcId=base["vpc_id"],
        TargetType="ip",
        Tags=TagSet(settings.project_name).elbv2(),
    )["TargetGroups"][0]
    clients.elbv2.create_listener(
        LoadBalancerArn=stray["LoadBalancerArn"],
        Protocol="TCP",
        Port=80,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": group["TargetGroupArn"]}],
    )

    found = parts.audit.billable()
    assert {(r.kind, r.name) for r in found} == {
        (ResourceKind.LOAD_BALANCER, stray["LoadBalancerName"]),
        (ResourceKind.TARGET_GROUP, group["TargetGroupName"]),  # tagged: listed, not swept
    }
    assert parts.audit.sweep(found) == 1  # load balancers only, listeners with them
    parts.audit.sweep(found)  # gone already: no error (AWS's delete is idempotent too)
    assert {r.kind for r in parts.audit.billable()} == {ResourceKind.TARGET_GROUP}
    clients.elbv2.delete_target_group(TargetGroupArn=group["TargetGroupArn"])
    assert parts.audit.billable() == []
