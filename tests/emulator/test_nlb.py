"""The emulator's network load balancers: provisioning, then active with a public
interface in every zone; target groups and their health, switched by the control API."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.emulator.network import Network, create_nlb, in_subnets, lb_enis, lb_state, target_health
from tests.support.services import control, wait_for

pytestmark = pytest.mark.usefixtures("instant")


def test_nlb_provisions_then_activates_with_public_interfaces(
    url: str, client: Any, net: Network
) -> None:
    elbv2, ec2 = client("elbv2"), client("ec2")
    control(url, "profile", {"profile": "field", "time_scale": 0.02})  # active after 2.4 s
    name = f"nlb-{uuid.uuid4().hex[:8]}"
    arn = create_nlb(elbv2, net, name)
    assert ":loadbalancer/net/" in arn
    assert lb_state(elbv2, arn) == "provisioning"
    assert lb_state(elbv2, arn) == "provisioning", "describing does not activate it"
    assert create_nlb(elbv2, net, name) == arn, "same name returns the existing NLB"

    # One zone's interface after the other (tests/aws/test_drift.py times them).
    enis = wait_for(
        lambda: (found := lb_enis(ec2, arn, name)) and len(found) == 2 and found,
        5,
        "the NLB's interface in every zone",
    )
    assert isinstance(enis, list) and len(enis) == 2
    assert {e["SubnetId"] for e in enis} == set(net.subnets)
    public = {e["Association"]["PublicIp"] for e in enis}
    assert len(public) == 2
    for eni in enis:
        assert eni["InterfaceType"] == "network_load_balancer"
        assert in_subnets(eni["PrivateIpAddress"], net)
    if lb_state(elbv2, arn) == "provisioning":  # interfaces come long before activation
        wait_for(lambda: lb_state(elbv2, arn) == "active", 10, "NLB active")
    lbs = control(url, "state")["load_balancers"]
    assert {"name": name, "state": "active"}.items() <= next(
        lb for lb in lbs if lb["name"] == name
    ).items()

    elbv2.delete_load_balancer(LoadBalancerArn=arn)
    wait_for(lambda: not lb_enis(ec2, arn, name), 5, "the NLB's interfaces deleted")


def test_identical_target_group_returns_the_existing_one(client: Any, net: Network) -> None:
    elbv2 = client("elbv2")
    spec = dict(
        Name=f"tg-{uuid.uuid4().hex[:8]}",
        Protocol="UDP",
        Port=10000,
        VpcId=net.vpc_id,
        TargetType="ip",
    )
    first = elbv2.create_target_group(**spec)["TargetGroups"][0]["TargetGroupArn"]
    assert elbv2.create_target_group(**spec)["TargetGroups"][0]["TargetGroupArn"] == first
    with pytest.raises(ClientError) as err:
        elbv2.create_target_group(**{**spec, "Port": 10001})
    assert err.value.response["Error"]["Code"] == "DuplicateTargetGroupName"


def test_target_health_follows_nlb_and_switches(url: str, client: Any, net: Network) -> None:
    elbv2 = client("elbv2")
    control(url, "profile", {"profile": "field", "time_scale": 0.02})  # active 2.4 s, +0.6 s
    name = f"nlb-{uuid.uuid4().hex[:8]}"
    arn = create_nlb(elbv2, net, name)
    tg = elbv2.create_target_group(
        Name=name,
        Protocol="UDP",
        Port=10000,
        VpcId=net.vpc_id,
        TargetType="ip",
        HealthCheckProtocol="HTTP",
        HealthCheckPort="8080",
        HealthCheckPath="/about/health",
    )["TargetGroups"][0]["TargetGroupArn"]
    elbv2.create_listener(
        LoadBalancerArn=arn,
        Protocol="UDP",
        Port=10000,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": tg}],
    )
    elbv2.register_targets(TargetGroupArn=tg, Targets=[{"Id": "10.20.1.10", "Port": 10000}])
    first = target_health(elbv2, tg)[0]["TargetHealth"]
    assert first["State"] == "initial"

    wait_for(
        lambda: target_health(elbv2, tg)[0]["TargetHealth"]["State"] == "healthy", 10, "healthy"
    )
    assert lb_state(elbv2, arn) == "active"

    control(url, "targets", {"mode": "unhealthy"})
    health = target_health(elbv2, tg)[0]["TargetHealth"]
    assert (health["State"], health["Reason"]) == ("unhealthy", "Target.FailedHealthChecks")
    assert control(url, "state")["target_health_mode"] == "unhealthy"
    control(url, "targets", {"mode": "initial"})
    assert target_health(elbv2, tg)[0]["TargetHealth"]["State"] == "initial"

    elbv2.deregister_targets(TargetGroupArn=tg, Targets=[{"Id": "10.20.1.10", "Port": 10000}])
    assert target_health(elbv2, tg) == []
