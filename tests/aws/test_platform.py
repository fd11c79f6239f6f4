"""Boto3Platform against a real AWS API (moto server or the project's emulator)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bot.config import Settings
from bot.errors import CloudError
from bot.model import LoadBalancer, TargetGroup
from infra.aws.bootstrap import bootstrap
from infra.aws.platform import Boto3Platform
from infra.aws.session import AwsClients
from tests.aws.conftest import Endpoint
from tests.aws.helpers import mutations, nlb_interfaces, running_task
from tests.support.services import wait_for


def _start(platform: Boto3Platform) -> tuple[LoadBalancer, list[TargetGroup]]:
    groups = platform.ensure_target_groups("slack:U1", "job-1")
    lb = platform.ensure_load_balancer("slack:U1", "job-1")
    platform.ensure_listeners(lb, groups)
    return lb, groups


def _platform_for(settings: Settings) -> Boto3Platform:
    clients = AwsClients(settings)
    bootstrap(settings, clients)
    return Boto3Platform(settings, clients, sleep=lambda _s: None)


def test_ensure_is_idempotent(platform: Boto3Platform, settings: Settings) -> None:
    groups = platform.ensure_target_groups("slack:U1", "job-1")
    lb = platform.ensure_load_balancer("slack:U1", "job-1")
    assert platform.ensure_listeners(lb, groups) == 2

    before = platform.call_counts()
    assert platform.ensure_target_groups("slack:U1", "job-2") == groups
    assert platform.ensure_load_balancer("slack:U1", "job-2").arn == lb.arn
    assert platform.ensure_listeners(lb, groups) == 0
    after = platform.call_counts()
    made = {k: after[k] - before.get(k, 0) for k in mutations(after)}
    # Attributes are re-asserted on every ensure (a killed job may have missed
    # them); nothing is created twice.
    assert {k for k, v in made.items() if v and not k.endswith("Attributes")} == set()
    attrs = platform.clients.elbv2.describe_load_balancer_attributes(LoadBalancerArn=lb.arn)
    assert {"Key": "load_balancing.cross_zone.enabled", "Value": "true"} in attrs["Attributes"]

    elbv2 = platform.clients.elbv2
    lbs = elbv2.describe_load_balancers(Names=[f"{settings.project_name}-nlb"])["LoadBalancers"]
    assert len(lbs) == 1
    assert lbs[0]["Type"] == "network" and lbs[0]["Scheme"] == "internet-facing"
    assert {g.name for g in groups} == {
        f"{settings.project_name}-udp10000",
        f"{settings.project_name}-web443",
    }
    listeners = elbv2.describe_listeners(LoadBalancerArn=lb.arn)["Listeners"]
    assert sorted((x["Port"], x["Protocol"]) for x in listeners) == [(443, "TCP"), (10000, "UDP")]
    tags = elbv2.describe_tags(ResourceArns=[lb.arn, *(g.arn for g in groups)])
    for desc in tags["TagDescriptions"]:
        kv = {t["Key"]: t["Value"] for t in desc["Tags"]}
        assert kv["jitsi:project"] == settings.project_name
        assert kv["jitsi:managed-by"] == "jitsi-chatops"
        assert kv["jitsi:session"] == "job-1"
        assert kv["jitsi:requested-by"] == "slack:U1"
    # The NLB sits in the service's subnets.
    service = platform.clients.ecs.describe_services(
        cluster=settings.cluster_name, services=[settings.service_name]
    )["services"][0]
    subnets = service["networkConfiguration"]["awsvpcConfiguration"]["subnets"]
    assert sorted(z["SubnetId"] for z in lbs[0]["AvailabilityZones"]) == sorted(subnets)


def test_target_group_health_checks_and_delay(platform: Boto3Platform) -> None:
    groups = platform.ensure_target_groups("u", "s")
    elbv2 = platform.clients.elbv2
    by_name = {
        g["TargetGroupName"]: g
        for g in elbv2.describe_target_groups(TargetGroupArns=[g.arn for g in groups])[
            "TargetGroups"
        ]
    }
    udp = next(g for n, g in by_name.items() if n.endswith("-udp10000"))
    assert (udp["Protocol"], udp["Port"], udp["TargetType"]) == ("UDP", 10000, "ip")
    assert (udp["HealthCheckProtocol"], udp["HealthCheckPort"], udp["HealthCheckPath"]) == (
        "HTTP",
        "8080",
        "/about/health",
    )
    assert udp["HealthCheckIntervalSeconds"] == 10
    assert udp["HealthyThresholdCount"] == 2 and udp["UnhealthyThresholdCount"] == 2
    web = next(g for n, g in by_name.items() if n.endswith("-web443"))
    assert (web["Protocol"], web["Port"], web["HealthCheckProtocol"]) == ("TCP", 443, "TCP")
    for group in groups:
        attrs = elbv2.describe_target_group_attributes(TargetGroupArn=group.arn)["Attributes"]
        assert {"Key": "deregistration_delay.timeout_seconds", "Value": "5"} in attrs


def test_tcp_4443_only_with_the_flag(make_settings: Callable[..., Settings]) -> None:
    platform = _platform_for(make_settings(enable_tcp_4443=True))
    lb, groups = _start(platform)
    assert sorted(g.port for g in groups) == [443, 4443, 10000]
    listeners = platform.clients.elbv2.describe_listeners(LoadBalancerArn=lb.arn)["Listeners"]
    assert sorted((x["Port"], x["Protocol"]) for x in listeners) == [
        (443, "TCP"),
        (4443, "TCP"),
        (10000, "UDP"),
    ]


def test_tls_listener_with_a_certificate(
    make_settings: Callable[..., Settings], aws_endpoint: Endpoint
) -> None:
    plain = make_settings()
    acm = AwsClients(plain).client("acm")
    cert = acm.request_certificate(DomainName=plain.domain)["CertificateArn"]
    platform = _platform_for(make_settings(acm_certificate_arn=cert))
    lb, _ = _start(platform)
    listeners = platform.clients.elbv2.describe_listeners(LoadBalancerArn=lb.arn)["Listeners"]
    web = next(x for x in listeners if x["Port"] == 443)
    assert web["Protocol"] == "TLS"
    assert web["Certificates"] == [{"CertificateArn": cert}]
    # ...and re-encrypts to jitsi-web's HTTPS port, never plain text to it.
    [group] = platform.clients.elbv2.describe_target_groups(
        TargetGroupArns=[web["DefaultActions"][0]["TargetGroupArn"]]
    )["TargetGroups"]
    assert group["Protocol"] == "TLS"


def test_advertise_ips_from_the_nlb_interfaces(
    platform: Boto3Platform, settings: Settings, aws_endpoint: Endpoint
) -> None:
    lb, _ = _start(platform)
    if not aws_endpoint.emulated:
        assert platform.load_balancer_public_ips(lb) == []  # none until AWS makes them
    nlb_interfaces(aws_endpoint, platform.clients, lb)
    ips = platform.load_balancer_public_ips(lb)
    assert len(ips) == 2
    platform.publish_advertise_ips(ips)
    value = platform.clients.ssm.get_parameter(Name=settings.advertise_ips_parameter)
    assert value["Parameter"]["Value"] == ",".join(ips)
    assert platform.observe().advertise_ips == tuple(ips)


def test_dns_alias_upserted_and_deleted(make_settings: Callable[..., Settings]) -> None:
    plain = make_settings()
    route53 = AwsClients(plain).route53
    zone = route53.create_hosted_zone(Name="meet.example.com", CallerReference=plain.project_name)
    zone_id = zone["HostedZone"]["Id"].rsplit("/", 1)[-1]
    platform = _platform_for(make_settings(hosted_zone_id=zone_id))
    lb, _ = _start(platform)

    def alias() -> list[dict[str, object]]:
        records = route53.list_resource_record_sets(HostedZoneId=zone_id)["ResourceRecordSets"]
        return [r for r in records if r["Name"] == plain.domain + "." and r["Type"] == "A"]

    assert platform.upsert_dns(lb) is True
    assert platform.upsert_dns(lb) is True  # UPSERT: a second call changes nothing
    (record,) = alias()
    assert record["AliasTarget"]["DNSName"].rstrip(".") == lb.dns_name  # type: ignore[index]
    assert platform.delete_dns() is True
    assert alias() == []
    assert platform.delete_dns() is True  # already gone


def test_dns_skipped_without_a_hosted_zone(platform: Boto3Platform) -> None:
    lb, _ = _start(platform)
    assert platform.upsert_dns(lb) is False
    assert platform.delete_dns() is False
    assert not any(k.startswith("route53.") for k in platform.call_counts())


def test_tasks_targets_and_stale_targets(platform: Boto3Platform, aws_endpoint: Endpoint) -> None:
    _start(platform)
    assert platform.list_tasks() == []
    task = running_task(aws_endpoint, platform)
    assert task.private_ip and task.last_status in ("PROVISIONING", "PENDING", "RUNNING")
    assert platform.service_state() is not None
    platform.register_targets(["10.0.0.250"])  # a task that has gone
    platform.register_targets([task.private_ip])
    health = platform.target_health()
    assert sorted((h.target_group.rsplit("-", 1)[-1], h.target_id, h.port) for h in health) == [
        ("udp10000", task.private_ip, 10000),
        ("web443", task.private_ip, 443),
    ]
    # moto: healthy at once; the emulator: once the NLB is active and checks pass.
    wait_for(lambda: all(h.healthy for h in platform.target_health()), 30, "healthy targets")
    seen = platform.observe()
    assert seen.load_balancer is not None and seen.service is not None
    assert seen.service.desired_count == 1
    assert [t.arn for t in seen.tasks] == [task.arn]
    assert len(seen.targets) == 2
    assert seen.calls["ecs.DescribeServices"] >= 1


def test_teardown_removes_listeners_nlb_and_groups(platform: Boto3Platform) -> None:
    lb, _ = _start(platform)
    platform.register_targets(["10.0.0.10"])
    platform.set_desired_count(0)

    # Groups still behind a listener: a few short retries, then a retryable error.
    waited: list[float] = []
    eager = Boto3Platform(platform.settings, platform.clients, sleep=waited.append)
    with pytest.raises(CloudError) as err:
        eager.delete_target_groups()
    assert err.value.retryable and waited and sum(waited) < 10

    assert platform.delete_listeners(lb) == 2
    assert platform.delete_listeners(lb) == 0
    platform.delete_load_balancer(lb)
    wait_for(lambda: platform.describe_load_balancer() is None, 30, "the NLB to go")
    platform.delete_load_balancer(lb)  # gone already: no error
    assert platform.delete_target_groups() == 2
    assert platform.delete_target_groups() == 0
    assert platform.target_health() == []
    assert platform.audit() == []
