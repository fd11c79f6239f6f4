"""The orphan audit finds every billable thing of the project, and nothing after a stop."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable

from bot.config import Settings
from bot.model import ResourceKind
from infra.aws.audit import audit
from infra.aws.platform import Boto3Platform
from infra.aws.session import AwsClients
from tests.aws.conftest import Endpoint
from tests.aws.helpers import (
    forget_nlb_interfaces,
    make_interface,
    nlb_interfaces,
    remove_interface,
    running_task,
    stop_tasks,
)
from tests.support.services import wait_for


def test_audit_lists_everything_then_nothing(
    platform: Boto3Platform, settings: Settings, aws_endpoint: Endpoint, base: dict[str, str]
) -> None:
    clients = platform.clients
    assert platform.audit() == []  # bootstrapped but idle: nothing billable

    groups = platform.ensure_target_groups("u", "s")
    lb = platform.ensure_load_balancer("u", "s")
    platform.ensure_listeners(lb, groups)
    nlb_interfaces(aws_endpoint, clients, lb)
    task = running_task(aws_endpoint, platform)
    eip = clients.ec2.allocate_address(
        Domain="vpc",
        TagSpecifications=[
            {
                "ResourceType": "elastic-ip",
                "Tags": [{"Key": "jitsi:project", "Value": settings.project_name}],
            }
        ],
    )

    found = platform.audit()
    kinds = Counter(r.kind for r in found)
    assert kinds == {
        ResourceKind.LOAD_BALANCER: 1,
        ResourceKind.TARGET_GROUP: 2,
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

    # Stop: tasks, listeners, NLB, groups.
    stop_tasks(aws_endpoint, platform)
    platform.delete_listeners(lb)
    platform.delete_load_balancer(lb)
    wait_for(lambda: platform.describe_load_balancer() is None, 30, "the NLB to go")
    forget_nlb_interfaces(aws_endpoint, clients, lb)
    platform.delete_target_groups()

    # An interface AWS left behind when the NLB went (it happens, and it bills).
    subnet = base["subnet_ids"].split(",")[0]
    orphan = make_interface(clients, subnet, f"ELB net/{settings.project_name}-nlb/0123abcd")
    leftovers = audit(settings, clients)
    assert sorted((r.kind, r.resource_id, r.public_ipv4) for r in leftovers) == sorted(
        [
            (ResourceKind.ELASTIC_IP, eip["AllocationId"], 1),
            (ResourceKind.NETWORK_INTERFACE, orphan["eni"], 1),
        ]
    )

    eni = clients.ec2.describe_network_interfaces(NetworkInterfaceIds=[orphan["eni"]])
    remove_interface(clients, eni["NetworkInterfaces"][0])
    clients.ec2.release_address(AllocationId=eip["AllocationId"])
    assert audit(settings, clients) == []


def test_audit_ignores_other_projects(
    platform: Boto3Platform, settings: Settings, make_settings: Callable[..., Settings]
) -> None:
    groups = platform.ensure_target_groups("u", "s")
    lb = platform.ensure_load_balancer("u", "s")
    # A project whose name starts with ours owns none of our resources, and the reverse.
    other = make_settings(project_name=f"{settings.project_name}-o")
    assert audit(other, AwsClients(other)) == []
    assert {r.name for r in platform.audit()} == {lb.name, *(g.name for g in groups)}
    platform.delete_load_balancer(lb)
