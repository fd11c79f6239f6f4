"""A small AWS network in the emulator for its ECS, NLB and fault tests, and the
describe calls those tests read it with (plain boto3 clients)."""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config

REGION = "us-east-1"
CPU, MEMORY = "4096", "8192"


def boto(url: str, service: str, region: str = REGION, **config: Any) -> Any:
    """A boto3 client of ``service`` on the emulator at ``url`` (``config``: botocore's)."""
    return boto3.client(
        service,
        endpoint_url=url,
        region_name=region,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=Config(**config) if config else None,
    )


@dataclass(frozen=True)
class Network:
    vpc_id: str
    subnets: list[str]
    cidrs: list[str]
    security_group: str
    cluster: str
    service: str
    task_definition: str


def make_network(client: Callable[..., Any]) -> Network:
    """A VPC with two subnets, a security group, and a cluster whose service runs a
    small non-Jitsi task (scaled to zero)."""
    ec2, ecs = client("ec2"), client("ecs")
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    ec2.modify_vpc_attribute(VpcId=vpc, EnableDnsHostnames={"Value": True})
    cidrs = ["10.20.1.0/24", "10.20.2.0/24"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=cidr, AvailabilityZone=f"{REGION}{az}")["Subnet"][
            "SubnetId"
        ]
        for cidr, az in zip(cidrs, "ab", strict=True)
    ]
    sg = ec2.create_security_group(GroupName="jvb", Description="jvb", VpcId=vpc)["GroupId"]
    ecs.create_cluster(clusterName="jitsi")
    td = ecs.register_task_definition(
        family="jitsi",
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu=CPU,
        memory=MEMORY,
        # Not a docker-jitsi-meet image: the emulator's contract leaves it alone
        # (tests/aws/test_task_contract.py covers the Jitsi containers).
        containerDefinitions=[
            {"name": "app", "image": "public.ecr.aws/docker/library/busybox:1.37.0", "memory": 4096}
        ],
    )["taskDefinition"]["taskDefinitionArn"]
    ecs.create_service(
        cluster="jitsi",
        serviceName="jitsi",
        taskDefinition=td,
        desiredCount=0,
        launchType="FARGATE",
        networkConfiguration={
            "awsvpcConfiguration": {
                "subnets": subnets,
                "securityGroups": [sg],
                "assignPublicIp": "ENABLED",
            }
        },
    )
    return Network(vpc, subnets, cidrs, sg, "jitsi", "jitsi", td)


def in_subnets(ip: str, net: Network) -> bool:
    return any(ipaddress.ip_address(ip) in ipaddress.ip_network(c) for c in net.cidrs)


def private_ip(task: dict[str, Any]) -> str | None:
    for attachment in task.get("attachments", []):
        for detail in attachment.get("details", []):
            if detail["name"] == "privateIPv4Address":
                return str(detail["value"])
    return None


def describe_service(ecs: Any, net: Network) -> dict[str, Any]:
    return dict(ecs.describe_services(cluster=net.cluster, services=[net.service])["services"][0])


def scale(ecs: Any, net: Network, count: int) -> None:
    ecs.update_service(cluster=net.cluster, service=net.service, desiredCount=count)


def service_tasks(ecs: Any, net: Network) -> list[dict[str, Any]]:
    arns = ecs.list_tasks(cluster=net.cluster, serviceName=net.service)["taskArns"]
    return list(ecs.describe_tasks(cluster=net.cluster, tasks=arns)["tasks"]) if arns else []


def lb_enis(ec2: Any, lb_arn: str, name: str) -> list[dict[str, Any]]:
    description = f"ELB net/{name}/{lb_arn.rsplit('/', 1)[-1]}"
    filters = [{"Name": "description", "Values": [description]}]
    return list(ec2.describe_network_interfaces(Filters=filters)["NetworkInterfaces"])


def create_nlb(elbv2: Any, net: Network, name: str) -> str:
    lb = elbv2.create_load_balancer(Name=name, Subnets=net.subnets, Type="network")
    return str(lb["LoadBalancers"][0]["LoadBalancerArn"])


def lb_state(elbv2: Any, arn: str) -> str:
    return str(
        elbv2.describe_load_balancers(LoadBalancerArns=[arn])["LoadBalancers"][0]["State"]["Code"]
    )


def target_health(elbv2: Any, tg: str) -> list[dict[str, Any]]:
    return list(elbv2.describe_target_health(TargetGroupArn=tg)["TargetHealthDescriptions"])
