"""The base infrastructure: everything created once, nothing the second time."""

from __future__ import annotations

from bot.config import Settings
from infra.aws.bootstrap import bootstrap
from infra.aws.session import AwsClients
from tests.support.aws import mutations


def test_bootstrap_creates_everything_then_nothing(settings: Settings) -> None:
    clients = AwsClients(settings)
    messages: list[str] = []
    first = bootstrap(settings, clients, messages.append)
    created = first["created"].split(",")
    for what in (
        "VPC",
        "Internet gateway",
        "Subnet",
        "Route table",
        "Security group",
        "Log group",
        "SSM parameter",
        "IAM role",
        "Task definition",
        "ECS cluster",
        "S3 bucket",
        "ECS service",
    ):
        assert what in created, what
    assert created.count("Subnet") == 2

    ec2, ecs = clients.ec2, clients.ecs
    vpc = ec2.describe_vpcs(VpcIds=[first["vpc_id"]])["Vpcs"][0]
    assert vpc["CidrBlock"] == "10.0.0.0/16"
    for attr, key in (
        ("enableDnsSupport", "EnableDnsSupport"),
        ("enableDnsHostnames", "EnableDnsHostnames"),
    ):
        assert ec2.describe_vpc_attribute(VpcId=vpc["VpcId"], Attribute=attr)[key]["Value"]
    subnets = ec2.describe_subnets(SubnetIds=first["subnet_ids"].split(","))["Subnets"]
    assert len({s["AvailabilityZone"] for s in subnets}) == 2
    assert all(s["MapPublicIpOnLaunch"] for s in subnets)
    sg = ec2.describe_security_groups(GroupIds=[first["security_group_id"]])["SecurityGroups"][0]
    rules = {
        (p["IpProtocol"], p["FromPort"], r["CidrIp"])
        for p in sg["IpPermissions"]
        for r in p["IpRanges"]
    }
    assert {
        ("udp", 10000, "0.0.0.0/0"),
        ("tcp", 443, "0.0.0.0/0"),
        ("tcp", 8080, "10.0.0.0/16"),
    } <= rules
    rtb = ec2.describe_route_tables(RouteTableIds=[first["route_table_id"]])["RouteTables"][0]
    assert any(
        r.get("DestinationCidrBlock") == "0.0.0.0/0"
        and r.get("GatewayId") == first["internet_gateway_id"]
        for r in rtb["Routes"]
    )

    service = ecs.describe_services(
        cluster=settings.cluster_name, services=[settings.service_name]
    )["services"][0]
    assert service["desiredCount"] == 0
    assert service["launchType"] == "FARGATE"
    awsvpc = service["networkConfiguration"]["awsvpcConfiguration"]
    assert awsvpc["assignPublicIp"] == "ENABLED"
    assert awsvpc["securityGroups"] == [first["security_group_id"]]
    td = ecs.describe_task_definition(taskDefinition=f"{settings.project_name}-jitsi")[
        "taskDefinition"
    ]
    assert (td["cpu"], td["memory"], td["networkMode"]) == ("4096", "8192", "awsvpc")
    jvb = next(c for c in td["containerDefinitions"] if c["name"] == "jvb")
    assert jvb["secrets"] == [
        {"name": "JVB_AUTH_PASSWORD", "valueFrom": first["jvb_password_parameter_arn"]},
        {"name": "JVB_ADVERTISE_IPS", "valueFrom": first["advertise_ips_parameter_arn"]},
    ]
    assert {c["name"] for c in td["containerDefinitions"]} == {
        "web",
        "prosody",
        "jicofo",
        "jvb",
        "participants",
    }
    # The XMPP passwords: random SecureStrings the execution role (and only it) may read.
    for who in ("jicofo", "jvb"):
        param = clients.ssm.get_parameter(
            Name=f"/{settings.project_name}/xmpp/{who}-auth-password", WithDecryption=True
        )["Parameter"]
        assert param["Type"] == "SecureString"
        assert len(param["Value"]) == 64
    iam = clients.client("iam")
    role = f"{settings.project_name}-task-execution"
    doc = iam.get_role_policy(RoleName=role, PolicyName="read-task-parameters")["PolicyDocument"]
    assert set(doc["Statement"][0]["Resource"]) == {
        first["advertise_ips_parameter_arn"],
        first["jicofo_password_parameter_arn"],
        first["jvb_password_parameter_arn"],
        # The direct ingress's certificate (written by `infra certificate`), not the
        # ACME account key: the task never needs that.
        first["tls_fullchain_parameter_arn"],
        first["tls_privkey_parameter_arn"],
        first["jwt_secret_parameter_arn"],  # JWT_APP_SECRET (jwt on by default)
    }
    jwt_secret = clients.ssm.get_parameter(Name=settings.jwt.secret_parameter, WithDecryption=True)
    assert jwt_secret["Parameter"]["Type"] == "SecureString"
    assert len(jwt_secret["Parameter"]["Value"]) >= 32
    assert (
        clients.ssm.get_parameter(Name=settings.advertise_ips_parameter)["Parameter"]["Value"]
        == "0.0.0.0"
    )
    logs = clients.client("logs").describe_log_groups(logGroupNamePrefix=first["log_group"])
    assert logs["logGroups"][0]["retentionInDays"] == 14
    tagging = clients.client("s3").get_bucket_tagging(Bucket=first["bucket"])["TagSet"]
    assert {"Key": "jitsi:project", "Value": settings.project_name} in tagging
    assert first["bucket"].startswith(f"{settings.project_name}-recordings-")

    again_clients = AwsClients(settings)
    messages.clear()
    second = bootstrap(settings, again_clients, messages.append)
    assert second["created"] == ""
    assert mutations(again_clients.counter.snapshot()) == {}
    assert messages[-1].startswith("Nothing to create")
    assert {k: v for k, v in second.items() if k != "created"} == {
        k: v for k, v in first.items() if k != "created"
    }
