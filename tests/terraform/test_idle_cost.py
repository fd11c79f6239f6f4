"""What the platform costs while nobody meets: the plan of the emulator example.

With ``nlb_enabled = false`` (the default: the bot creates the NLB on demand)
nothing in the plan may bill by the hour. The plan runs against a moto server
because the root module reads a few data sources (zones, account, region).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.terraform.conftest import Moto, Terraform

EXAMPLE = "examples/emulator"
PROJECT = "jitsi-emu"

# Free while idle (or billed only per request / per GB stored, never per hour).
IDLE_FREE = {
    "aws_acm_certificate",  # ACM public certificates are free
    "aws_vpc",
    "aws_subnet",
    "aws_internet_gateway",
    "aws_route_table",
    "aws_route",
    "aws_route_table_association",
    "aws_security_group",
    "aws_default_security_group",
    "aws_ecs_cluster",
    "aws_ecs_task_definition",
    "aws_ecs_service",
    "aws_iam_role",
    "aws_iam_role_policy",
    "aws_iam_policy",
    "aws_ssm_parameter",
    "aws_cloudwatch_log_group",
    "aws_s3_bucket",
    "aws_s3_bucket_public_access_block",
    "aws_s3_bucket_ownership_controls",
    "aws_s3_bucket_versioning",
    "aws_s3_bucket_server_side_encryption_configuration",
    "aws_s3_bucket_lifecycle_configuration",
    "aws_route53_record",
}
# Named so a failure says plainly what went wrong.
HOURLY = {
    "aws_lb",
    "aws_alb",
    "aws_lb_listener",
    "aws_lb_target_group",
    "aws_nat_gateway",
    "aws_eip",
    "aws_instance",
    "aws_vpc_endpoint",
    "aws_kms_key",
    "aws_ec2_transit_gateway",
    "aws_route53_zone",
    "aws_db_instance",
    "aws_elasticache_cluster",
}


def planned(plan: dict[str, Any]) -> list[dict[str, Any]]:
    """Resources the plan creates or keeps (data sources excluded)."""
    return [
        rc
        for rc in plan.get("resource_changes", [])
        if rc["mode"] == "managed" and rc["change"]["actions"] != ["delete"]
    ]


@pytest.fixture(scope="module")
def idle_plan(terraform: Terraform, moto: Moto) -> dict[str, Any]:
    workdir = terraform.dir(EXAMPLE)
    return terraform.plan_json(
        workdir,
        {
            "aws_endpoint_url": moto.url,
            "project_name": PROJECT,
            "nlb_enabled": "false",
            "jwt_enabled": "true",
        },
    )


def test_idle_plan_bills_nothing_by_the_hour(idle_plan: dict[str, Any]) -> None:
    types = {rc["type"] for rc in planned(idle_plan)}
    assert types, "the plan is empty"
    assert not types & HOURLY, f"hourly-billed resources while idle: {sorted(types & HOURLY)}"
    assert types <= IDLE_FREE, f"not on the idle-free allow list: {sorted(types - IDLE_FREE)}"


def test_idle_plan_scales_to_zero(idle_plan: dict[str, Any]) -> None:
    by_type: dict[str, list[dict[str, Any]]] = {}
    for rc in planned(idle_plan):
        by_type.setdefault(rc["type"], []).append(rc["change"]["after"])
    services = by_type["aws_ecs_service"]
    assert [s["desired_count"] for s in services] == [0]
    assert services[0]["network_configuration"][0]["assign_public_ip"] is True
    # Standard parameters are free; advanced ones bill per parameter-month.
    assert {p["tier"] for p in by_type["aws_ssm_parameter"]} == {"Standard"}
    assert not any(s.get("map_public_ip_on_launch") for s in by_type["aws_subnet"])


def test_idle_plan_tags_everything(idle_plan: dict[str, Any]) -> None:
    for rc in planned(idle_plan):
        after = rc["change"]["after"] or {}
        if "tags_all" not in after:
            continue  # sub-resources without tags (policies, routes, associations)
        # tags_all is unknown at plan time only when a tag value is; ours are all known.
        tags = after.get("tags_all") or {}
        assert tags.get("jitsi:project") == PROJECT, rc["address"]
        assert tags.get("jitsi:managed-by") == "jitsi-chatops", rc["address"]


@pytest.fixture(scope="module")
def nlb_plan(terraform: Terraform, moto: Moto) -> dict[str, Any]:
    workdir = terraform.dir(EXAMPLE)
    return terraform.plan_json(
        workdir,
        {
            "aws_endpoint_url": moto.url,
            "project_name": PROJECT,
            "nlb_enabled": "true",
            "enable_tcp_4443": "true",
        },
    )


def test_nlb_matches_the_boto3_driver(nlb_plan: dict[str, Any]) -> None:
    """Both drivers must find each other's resources: same names, ports, health checks."""
    pytest.importorskip("infra.aws.naming", reason="the Python AWS driver is not present")
    from bot.config import Settings
    from infra.aws import naming

    settings = Settings(project_name=PROJECT, enable_tcp_4443=True)
    resources = planned(nlb_plan)
    lbs = [rc["change"]["after"] for rc in resources if rc["type"] == "aws_lb"]
    assert [lb["name"] for lb in lbs] == [naming.nlb_name(settings)]
    assert lbs[0]["load_balancer_type"] == "network"
    assert lbs[0]["internal"] is False

    groups = {
        rc["change"]["after"]["name"]: rc["change"]["after"]
        for rc in resources
        if rc["type"] == "aws_lb_target_group"
    }
    specs = {spec.name: spec for spec in naming.group_specs(settings)}
    assert set(groups) == set(specs)
    for name, spec in specs.items():
        group = groups[name]
        assert (group["protocol"], group["port"], group["target_type"]) == (
            spec.protocol,
            spec.port,
            "ip",
        )
        assert group["deregistration_delay"] == str(settings.deregistration_delay_seconds)
        check = group["health_check"][0]
        assert (check["protocol"], check["port"]) == (spec.health_protocol, spec.health_port), name
        if spec.health_path:
            assert check["path"] == spec.health_path
        assert (check["interval"], check["healthy_threshold"]) == (10, 2)

    listeners = sorted(
        rc["change"]["after"]["port"] for rc in resources if rc["type"] == "aws_lb_listener"
    )
    assert listeners == sorted(spec.front_port for spec in specs.values())


def test_dns_and_tls_when_configured(terraform: Terraform, moto: Moto) -> None:
    """With a zone and a certificate: TLS on 443, an alias record, DNS rights for the bot."""
    import json

    zone = (
        moto.client("route53")
        .create_hosted_zone(Name="example.test", CallerReference="tf-dns-tls-test")["HostedZone"][
            "Id"
        ]
        .split("/")[-1]
    )
    cert = "arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"
    plan = terraform.plan_json(
        terraform.dir(EXAMPLE),
        {
            "aws_endpoint_url": moto.url,
            "project_name": PROJECT,
            "nlb_enabled": "true",
            "hosted_zone_id": zone,
            "acm_certificate_arn": cert,
        },
    )
    resources = planned(plan)
    records = [rc["change"]["after"] for rc in resources if rc["type"] == "aws_route53_record"]
    # The alias, and the zone's SOA lowered so "no such name" is forgotten in a minute.
    assert sorted((r["name"], r["type"], r["zone_id"]) for r in records) == [
        ("example.test", "SOA", zone),
        ("meet.example.test", "A", zone),
    ]

    listeners = {
        rc["change"]["after"]["port"]: rc["change"]["after"]
        for rc in resources
        if rc["type"] == "aws_lb_listener"
    }
    assert listeners[443]["protocol"] == "TLS"
    assert listeners[443]["certificate_arn"] == cert
    assert listeners[443]["ssl_policy"].startswith("ELBSecurityPolicy-TLS13")
    assert listeners[10000]["protocol"] == "UDP"
    groups = {
        rc["change"]["after"]["name"]: rc["change"]["after"]
        for rc in resources
        if rc["type"] == "aws_lb_target_group"
    }
    # TLS to the target as well: jitsi-web's port 443 speaks TLS, never plain HTTP.
    assert groups[f"{PROJECT}-web443"]["protocol"] == "TLS"

    policy = json.loads(plan["planned_values"]["outputs"]["bot_policy_json"]["value"])
    sids = {s["Sid"]: s for s in policy["Statement"]}
    assert sids["MeetingDnsRecord"]["Resource"] == f"arn:aws:route53:::hostedzone/{zone}"


def test_bot_policy_is_scoped_to_the_project(idle_plan: dict[str, Any]) -> None:
    import json

    policy = json.loads(idle_plan["planned_values"]["outputs"]["bot_policy_json"]["value"])
    sids = {s["Sid"]: s for s in policy["Statement"]}
    lb_resources = sids["OnDemandLoadBalancer"]["Resource"]
    assert all(f"/{PROJECT}-" in arn for arn in lb_resources), lb_resources
    assert sids["ScaleService"]["Resource"].endswith(
        f":service/{PROJECT}-cluster/{PROJECT}-service"
    )
    assert set(sids["AdvertiseIps"]["Action"]) == {"ssm:GetParameter", "ssm:PutParameter"}
    assert "SignMeetingLinks" in sids  # jwt_enabled in the idle plan
    assert "MeetingDnsRecord" not in sids  # no zone configured
    # Wildcard resources only for actions AWS cannot scope.
    read_only = ("Describe", "Get", "List")
    for sid, statement in sids.items():
        if "*" in _as_list(statement["Resource"]):
            actions = _as_list(statement["Action"])
            assert all(a.split(":")[1].startswith(read_only) for a in actions), sid


def _as_list(value: str | list[str]) -> list[str]:
    return value if isinstance(value, list) else [value]
