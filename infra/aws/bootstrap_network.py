"""The bootstrap's network part: VPC, internet gateway, public subnets, routes, security group.

Public subnets and an internet gateway only: a NAT gateway bills by the hour
and would end scale-to-zero.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bot.config import Settings
from infra.aws import naming
from infra.aws.session import AwsClients
from infra.aws.tags import TagSet, project_filter

VPC_CIDR = "10.0.0.0/16"
SUBNET_CIDRS = ("10.0.0.0/24", "10.0.1.0/24")


@dataclass
class Recorder:
    """What the bootstrap found and made; reports each step through ``progress``."""

    settings: Settings
    clients: AwsClients
    progress: Callable[[str], None]
    tags: TagSet
    created: list[str] = field(default_factory=list)
    result: dict[str, str] = field(default_factory=dict)

    def found(self, what: str, ident: str) -> None:
        self.progress(f"{what} {ident}: exists")

    def made(self, what: str, ident: str) -> None:
        self.created.append(what)
        self.progress(f"{what} {ident}: created")

    def named(self, suffix: str) -> list[dict[str, str]]:
        """The tags plus a ``Name`` tag, for the EC2 console."""
        return [
            *self.tags.elbv2(),
            {"Key": "Name", "Value": f"{self.settings.project_name}-{suffix}"},
        ]

    def ec2_tags(self, resource_type: str, suffix: str) -> list[dict[str, Any]]:
        return [{"ResourceType": resource_type, "Tags": self.named(suffix)}]


def ensure_network(rec: Recorder) -> None:
    """VPC, gateway, two public subnets in two zones, route table, security group."""
    vpc_id = _vpc(rec)
    igw_id = _internet_gateway(rec, vpc_id)
    subnet_ids = _subnets(rec, vpc_id)
    rtb_id = _route_table(rec, vpc_id, igw_id, subnet_ids)
    sg_id = _security_group(rec, vpc_id)
    rec.result.update(
        vpc_id=vpc_id,
        internet_gateway_id=igw_id,
        subnet_ids=",".join(subnet_ids),
        route_table_id=rtb_id,
        security_group_id=sg_id,
    )


def _project_and(rec: Recorder, *filters: dict[str, Any]) -> list[dict[str, Any]]:
    return [*project_filter(rec.settings.project_name), *filters]


def _vpc(rec: Recorder) -> str:
    ec2 = rec.clients.ec2
    vpcs = ec2.describe_vpcs(Filters=_project_and(rec))["Vpcs"]
    if vpcs:
        vpc_id = str(vpcs[0]["VpcId"])
        rec.found("VPC", vpc_id)
    else:
        vpc = ec2.create_vpc(CidrBlock=VPC_CIDR, TagSpecifications=rec.ec2_tags("vpc", "vpc"))
        vpc_id = str(vpc["Vpc"]["VpcId"])
        rec.made("VPC", vpc_id)
    # Fargate tasks need DNS; moto's run_task even fails without DNS hostnames.
    for attribute, key in (
        ("enableDnsSupport", "EnableDnsSupport"),
        ("enableDnsHostnames", "EnableDnsHostnames"),
    ):
        current = ec2.describe_vpc_attribute(VpcId=vpc_id, Attribute=attribute)
        if not current.get(key, {}).get("Value"):
            ec2.modify_vpc_attribute(VpcId=vpc_id, **{key: {"Value": True}})
    return vpc_id


def _internet_gateway(rec: Recorder, vpc_id: str) -> str:
    ec2 = rec.clients.ec2
    attached = ec2.describe_internet_gateways(
        Filters=[{"Name": "attachment.vpc-id", "Values": [vpc_id]}]
    )["InternetGateways"]
    if attached:
        igw_id = str(attached[0]["InternetGatewayId"])
        rec.found("Internet gateway", igw_id)
        return igw_id
    # A gateway made by a run that died before attaching it.
    loose = [
        g
        for g in ec2.describe_internet_gateways(Filters=_project_and(rec))["InternetGateways"]
        if not g.get("Attachments")
    ]
    if loose:
        igw_id = str(loose[0]["InternetGatewayId"])
        rec.found("Internet gateway", igw_id)
    else:
        igw = ec2.create_internet_gateway(TagSpecifications=rec.ec2_tags("internet-gateway", "igw"))
        igw_id = str(igw["InternetGateway"]["InternetGatewayId"])
        rec.made("Internet gateway", igw_id)
    ec2.attach_internet_gateway(InternetGatewayId=igw_id, VpcId=vpc_id)
    return igw_id


def _subnets(rec: Recorder, vpc_id: str) -> list[str]:
    ec2 = rec.clients.ec2
    existing = {
        s["CidrBlock"]: s
        for s in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])["Subnets"]
    }
    zones = sorted(
        z["ZoneName"]
        for z in ec2.describe_availability_zones(
            Filters=[{"Name": "state", "Values": ["available"]}]
        )["AvailabilityZones"]
        if z.get("ZoneType", "availability-zone") == "availability-zone"
    )
    ids = []
    for index, (cidr, zone) in enumerate(zip(SUBNET_CIDRS, zones, strict=False)):
        subnet = existing.get(cidr)
        if subnet is None:
            subnet = ec2.create_subnet(
                VpcId=vpc_id,
                CidrBlock=cidr,
                AvailabilityZone=zone,
                TagSpecifications=rec.ec2_tags("subnet", f"public-{index}"),
            )["Subnet"]
            rec.made("Subnet", f"{subnet['SubnetId']} ({zone})")
        else:
            rec.found("Subnet", f"{subnet['SubnetId']} ({subnet['AvailabilityZone']})")
        if not subnet.get("MapPublicIpOnLaunch"):
            ec2.modify_subnet_attribute(
                SubnetId=subnet["SubnetId"], MapPublicIpOnLaunch={"Value": True}
            )
        ids.append(str(subnet["SubnetId"]))
    return ids


def _route_table(rec: Recorder, vpc_id: str, igw_id: str, subnet_ids: list[str]) -> str:
    ec2 = rec.clients.ec2
    tables = ec2.describe_route_tables(
        Filters=_project_and(rec, {"Name": "vpc-id", "Values": [vpc_id]})
    )["RouteTables"]
    if tables:
        table = tables[0]
        rec.found("Route table", table["RouteTableId"])
    else:
        table = ec2.create_route_table(
            VpcId=vpc_id, TagSpecifications=rec.ec2_tags("route-table", "public")
        )["RouteTable"]
        rec.made("Route table", table["RouteTableId"])
    rtb_id = str(table["RouteTableId"])
    if not any(r.get("DestinationCidrBlock") == "0.0.0.0/0" for r in table.get("Routes", [])):
        ec2.create_route(RouteTableId=rtb_id, DestinationCidrBlock="0.0.0.0/0", GatewayId=igw_id)
    associated = {a.get("SubnetId") for a in table.get("Associations", [])}
    for subnet_id in subnet_ids:
        if subnet_id not in associated:
            ec2.associate_route_table(RouteTableId=rtb_id, SubnetId=subnet_id)
    return rtb_id


def _wanted_ingress() -> list[tuple[str, int, str, str]]:
    return [
        # The NLB preserves client IPs for UDP, so media arrives from anywhere.
        ("udp", naming.UDP_PORT, "0.0.0.0/0", "JVB media through the NLB"),
        ("tcp", naming.WEB_CONTAINER_HTTPS_PORT, "0.0.0.0/0", "jitsi-web HTTPS through the NLB"),
        ("tcp", naming.WEB_CONTAINER_HTTP_PORT, "0.0.0.0/0", "jitsi-web HTTP, redirects"),
        ("tcp", naming.HEALTH_PORT, VPC_CIDR, "NLB health checks"),
        ("tcp", naming.TCP_PORT, "0.0.0.0/0", "JVB TCP fallback (only used when enabled)"),
    ]


def _security_group(rec: Recorder, vpc_id: str) -> str:
    ec2 = rec.clients.ec2
    name = f"{rec.settings.project_name}-tasks"
    groups = ec2.describe_security_groups(
        Filters=[
            {"Name": "vpc-id", "Values": [vpc_id]},
            {"Name": "group-name", "Values": [name]},
        ]
    )["SecurityGroups"]
    if groups:
        group = groups[0]
        rec.found("Security group", group["GroupId"])
    else:
        group_id = ec2.create_security_group(
            GroupName=name,
            Description="Jitsi Meet task: media, web and NLB health checks",
            VpcId=vpc_id,
            TagSpecifications=rec.ec2_tags("security-group", "tasks"),
        )["GroupId"]
        group = {"GroupId": group_id, "IpPermissions": []}
        rec.made("Security group", group_id)
    have = {
        (p.get("IpProtocol"), p.get("FromPort"), r.get("CidrIp"))
        for p in group.get("IpPermissions", [])
        for r in p.get("IpRanges", [])
    }
    missing = [
        {
            "IpProtocol": proto,
            "FromPort": port,
            "ToPort": port,
            "IpRanges": [{"CidrIp": cidr, "Description": why}],
        }
        for proto, port, cidr, why in _wanted_ingress()
        if (proto, port, cidr) not in have
        and (port != naming.TCP_PORT or rec.settings.enable_tcp_4443)
    ]
    if missing:
        ec2.authorize_security_group_ingress(GroupId=group["GroupId"], IpPermissions=missing)
    return str(group["GroupId"])
