"""``NlbIngress`` with the boto3 provisioner against a real AWS API (the emulator, or
plain moto): what it makes, how it reads and attaches, and how it is removed."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from bot.config import Settings
from bot.errors import CloudError
from bot.model import AliasTarget, SessionTags, Task
from bot.ports import PlatformParts
from infra.aws import certificate, naming
from infra.aws.bootstrap import bootstrap
from infra.aws.elb import LoadBalancer, existing_groups
from infra.aws.nlb import NlbIngress
from infra.aws.nlb_boto3 import Boto3NlbProvisioner
from infra.aws.session import AwsClients
from infra.aws.tags import TagSet
from tests.support.aws import (
    Endpoint,
    forget_nlb_interfaces,
    issued_certificate,
    mutations,
    nlb_interfaces,
    running_task,
)
from tests.support.services import wait_for

TAGS = SessionTags(session="job-1", requested_by="slack:U1")


class Notes:
    """A ``ProgressNote`` that keeps what it was told."""

    def __init__(self) -> None:
        self.seen: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, message: str, data: dict[str, Any]) -> None:
        self.seen.append((message, data))


def _up(ingress: NlbIngress, tags: SessionTags = TAGS) -> LoadBalancer:
    ingress.bring_up(tags, Notes())
    lb = ingress.load_balancer()
    assert lb is not None
    return lb


def _listeners(clients: AwsClients, lb: LoadBalancer) -> list[tuple[int, str]]:
    found = clients.elbv2.describe_listeners(LoadBalancerArn=lb.arn)["Listeners"]
    return sorted((x["Port"], x["Protocol"]) for x in found)


def _ingress(parts: PlatformParts) -> NlbIngress:
    assert isinstance(parts.ingress, NlbIngress)
    return parts.ingress


def test_bring_up_is_idempotent(
    ingress: NlbIngress, settings: Settings, clients: AwsClients
) -> None:
    lb = _up(ingress)
    assert _listeners(clients, lb) == [(80, "TCP"), (443, "TLS"), (10000, "UDP")]

    def calls_of_a_bring_up(session: str) -> dict[str, int]:
        before = clients.counter.snapshot()
        ingress.bring_up(SessionTags(session, "slack:U2"), Notes())
        after = clients.counter.snapshot()
        return {k: n - before.get(k, 0) for k, n in after.items() if n != before.get(k, 0)}

    second = calls_of_a_bring_up("job-2")
    # Attributes are re-asserted on every bring-up (a killed job may have missed
    # them); nothing is created twice, and the service's network is not even read.
    assert {k for k in mutations(second) if not k.endswith("Attributes")} == set()
    assert not any(k.startswith(("ecs.", "ec2.")) for k in second), second
    assert calls_of_a_bring_up("job-3") == second  # a converged bring-up costs the same
    assert ingress.load_balancer() == lb
    attrs = clients.elbv2.describe_load_balancer_attributes(LoadBalancerArn=lb.arn)
    assert {"Key": "load_balancing.cross_zone.enabled", "Value": "true"} in attrs["Attributes"]

    lbs = clients.elbv2.describe_load_balancers(Names=[naming.nlb_name(settings)])
    [only] = lbs["LoadBalancers"]
    assert only["Type"] == "network" and only["Scheme"] == "internet-facing"
    groups = existing_groups(settings, clients)
    assert {g["TargetGroupName"] for g in groups} == {
        f"{settings.project_name}-udp10000",
        f"{settings.project_name}-web443",
        f"{settings.project_name}-web80",
    }
    assert _listeners(clients, lb) == [(80, "TCP"), (443, "TLS"), (10000, "UDP")]
    tags = clients.elbv2.describe_tags(
        ResourceArns=[lb.arn, *(g["TargetGroupArn"] for g in groups)]
    )
    assert len(tags["TagDescriptions"]) == 4  # the NLB and its three groups
    for desc in tags["TagDescriptions"]:
        kv = {t["Key"]: t["Value"] for t in desc["Tags"]}
        assert kv["jitsi:project"] == settings.project_name
        assert kv["jitsi:managed-by"] == "jitsi-chatops"
        assert kv["jitsi:session"] == "job-1"  # the session that made it, not a later one
        assert kv["jitsi:requested-by"] == "slack:U1"
    # The NLB sits in the service's subnets.
    service = clients.ecs.describe_services(
        cluster=settings.cluster_name, services=[settings.service_name]
    )["services"][0]
    subnets = service["networkConfiguration"]["awsvpcConfiguration"]["subnets"]
    assert sorted(z["SubnetId"] for z in only["AvailabilityZones"]) == sorted(subnets)


def test_target_group_health_checks_and_delay(
    ingress: NlbIngress, settings: Settings, clients: AwsClients
) -> None:
    _up(ingress)
    by_name = {g["TargetGroupName"]: g for g in existing_groups(settings, clients)}
    udp = by_name[f"{settings.project_name}-udp10000"]
    assert (udp["Protocol"], udp["Port"], udp["TargetType"]) == ("UDP", 10000, "ip")
    assert (udp["HealthCheckProtocol"], udp["HealthCheckPort"], udp["HealthCheckPath"]) == (
        "HTTP",
        "8080",
        "/about/health",
    )
    assert udp["HealthCheckIntervalSeconds"] == 10
    assert udp["HealthyThresholdCount"] == 2 and udp["UnhealthyThresholdCount"] == 2
    web = by_name[f"{settings.project_name}-web443"]
    assert (web["Protocol"], web["Port"], web["HealthCheckProtocol"]) == ("TLS", 443, "TCP")
    http = by_name[f"{settings.project_name}-web80"]
    assert (http["Protocol"], http["Port"], http["HealthCheckProtocol"]) == ("TCP", 80, "TCP")
    for group in by_name.values():
        attrs = clients.elbv2.describe_target_group_attributes(
            TargetGroupArn=group["TargetGroupArn"]
        )["Attributes"]
        assert {"Key": "deregistration_delay.timeout_seconds", "Value": "5"} in attrs


def test_tcp_4443_only_with_the_flag(make_parts: Callable[..., PlatformParts]) -> None:
    ingress = _ingress(make_parts(enable_tcp_4443=True))
    lb = _up(ingress)
    groups = existing_groups(ingress.settings, ingress.clients)
    assert sorted(int(g["Port"]) for g in groups) == [80, 443, 4443, 10000]
    assert _listeners(ingress.clients, lb) == [
        (80, "TCP"),
        (443, "TLS"),
        (4443, "TCP"),
        (10000, "UDP"),
    ]


def _listener(ingress: NlbIngress, lb: LoadBalancer, port: int) -> dict[str, Any]:
    listeners = ingress.clients.elbv2.describe_listeners(LoadBalancerArn=lb.arn)["Listeners"]
    return next(x for x in listeners if x["Port"] == port)


def _group_of(ingress: NlbIngress, listener: dict[str, Any]) -> dict[str, Any]:
    arn = listener["DefaultActions"][0]["TargetGroupArn"]
    groups = ingress.clients.elbv2.describe_target_groups(TargetGroupArns=[arn])
    return dict(groups["TargetGroups"][0])


def test_tls_listener_carries_the_domains_issued_certificate(
    make_settings: Callable[..., Settings], make_parts: Callable[..., PlatformParts]
) -> None:
    """The default path: no acm_certificate_arn, the issued certificate for the domain."""
    plain = make_settings()
    other = issued_certificate(plain.model_copy(update={"domain": "elsewhere.example.com"}))
    ingress = _ingress(make_parts())  # issues one for the domain too
    lb = _up(ingress)
    web = _listener(ingress, lb, 443)
    assert web["Protocol"] == "TLS" and web["SslPolicy"].startswith("ELBSecurityPolicy-TLS13")
    [cert] = web["Certificates"]
    assert cert["CertificateArn"] != other
    # ...and opens a new TLS connection to jitsi-web's HTTPS port, never plain text to it
    # (its HTTP port redirects everything to https://: a TCP group there would loop).
    group = _group_of(ingress, web)
    assert (group["Protocol"], group["Port"]) == ("TLS", naming.WEB_CONTAINER_HTTPS_PORT)


def test_http_listener_reaches_the_redirect(ingress: NlbIngress) -> None:
    """http:// goes to jitsi-web's HTTP port, where ENABLE_HTTP_REDIRECT answers 301."""
    lb = _up(ingress)
    http = _listener(ingress, lb, 80)
    assert http["Protocol"] == "TCP" and "Certificates" not in http
    group = _group_of(ingress, http)
    assert (group["Protocol"], group["Port"]) == ("TCP", naming.WEB_CONTAINER_HTTP_PORT)
    # The task's security group lets the NLB reach that port.
    sg = ingress.clients.ec2.describe_security_groups(
        Filters=[{"Name": "group-name", "Values": [f"{ingress.settings.project_name}-tasks"]}]
    )["SecurityGroups"][0]
    ports = {p.get("FromPort") for p in sg["IpPermissions"] if p.get("IpProtocol") == "tcp"}
    assert {naming.WEB_CONTAINER_HTTP_PORT, naming.WEB_CONTAINER_HTTPS_PORT} <= ports


def test_a_given_certificate_arn_is_used(
    make_settings: Callable[..., Settings], make_parts: Callable[..., PlatformParts]
) -> None:
    cert = issued_certificate(make_settings())
    ingress = _ingress(make_parts(acm_certificate_arn=cert))
    lb = _up(ingress)
    assert _listener(ingress, lb, 443)["Certificates"] == [{"CertificateArn": cert}]


def test_no_issued_certificate_refuses_before_anything_bills(
    make_settings: Callable[..., Settings], aws_endpoint: Endpoint
) -> None:
    settings = make_settings()
    clients = AwsClients(settings)
    bootstrap(settings, clients)  # requests it; no hosted zone: nobody validates it
    ingress = NlbIngress(settings, clients, Boto3NlbProvisioner(settings, clients))
    with pytest.raises(CloudError) as caught:
        ingress.bring_up(SessionTags("s1", "alice"), Notes())
    message = caught.value.user_message()
    assert f"No issued ACM certificate covers {settings.domain}" in message
    assert "waits for its DNS validation record" in message and "bootstrap" in message
    assert ingress.load_balancer() is None
    assert existing_groups(settings, clients) == []
    # A certificate given by ARN that is not issued is named too.
    pending = certificate.find(settings, clients, [certificate.PENDING])
    assert pending is not None
    given = settings.model_copy(update={"acm_certificate_arn": pending.arn})
    with pytest.raises(CloudError, match="is PENDING_VALIDATION, not ISSUED"):
        certificate.listener_certificate(given, clients)


def test_advertised_addresses_are_the_nlb_interfaces(
    ingress: NlbIngress, clients: AwsClients, aws_endpoint: Endpoint
) -> None:
    assert ingress.advertised_addresses() == []  # no NLB yet
    lb = _up(ingress)
    if not aws_endpoint.emulated:
        assert ingress.advertised_addresses() == []  # none until AWS makes them
    nlb_interfaces(aws_endpoint, clients, lb)
    ips = ingress.advertised_addresses()
    assert len(ips) == 2 and ips == sorted(ips)  # one per zone
    # A fresh ingress (another job) finds the same ones by the NLB's name.
    again = NlbIngress(ingress.settings, clients, Boto3NlbProvisioner(ingress.settings, clients))
    assert again.advertised_addresses() == ips
    view = ingress.describe()
    assert view is not None and view.addresses == tuple(ips)


def test_dns_target_is_an_alias_to_the_nlb(ingress: NlbIngress) -> None:
    assert ingress.dns_target([]) is None
    lb = _up(ingress)
    target = ingress.dns_target([])
    assert target == AliasTarget(lb.zone_id, lb.dns_name)
    assert lb.zone_id and lb.dns_name


def test_attach_registers_the_task_and_drops_stale_targets(
    parts: PlatformParts, ingress: NlbIngress, aws_endpoint: Endpoint
) -> None:
    _up(ingress)
    assert parts.compute.tasks() == []
    task = running_task(aws_endpoint, parts.compute)  # type: ignore[arg-type]
    assert task.private_ip and task.last_status in ("PROVISIONING", "PENDING", "RUNNING")
    assert parts.compute.service() is not None
    ingress.attach([Task("arn:gone", "STOPPED", "10.0.0.250")])  # a task that has gone
    ingress.attach([task])
    health = ingress.target_health()
    assert sorted((h.target_group.rsplit("-", 1)[-1], h.target_id, h.port) for h in health) == [
        ("udp10000", task.private_ip, 10000),
        ("web443", task.private_ip, 443),
        ("web80", task.private_ip, 80),
    ]
    # moto: healthy at once; the emulator: once the NLB is active and checks pass.
    wait_for(lambda: all(h.healthy for h in ingress.target_health()), 30, "healthy targets")
    wait_for(lambda: ingress.readiness().ready, 30, "the ingress to be ready")
    view = ingress.describe()
    assert view is not None and len(view.targets) == 3
    ingress.attach([])
    assert ingress.target_health() == []


def test_remove_takes_listeners_nlb_and_groups(
    parts: PlatformParts,
    ingress: NlbIngress,
    settings: Settings,
    clients: AwsClients,
    aws_endpoint: Endpoint,
    base: dict[str, str],
) -> None:
    lb = _up(ingress)
    ingress.attach([Task("arn:t", "RUNNING", "10.0.0.10")])
    parts.compute.scale(0)

    # A hand-made NLB forwards to our web group: the group stays "in use" after
    # ours is gone. A few short retries, then an error that says to retry.
    web = next(g for g in existing_groups(settings, clients) if g["Port"] == 443)
    stray = clients.elbv2.create_load_balancer(
        Name=f"{settings.project_name}-stray",
        Subnets=base["subnet_ids"].split(","),
        Type="network",
        Tags=TagSet(settings.project_name, "by-hand", "ops").elbv2(),
    )["LoadBalancers"][0]
    clients.elbv2.create_listener(
        LoadBalancerArn=stray["LoadBalancerArn"],
        Protocol="TCP",
        Port=443,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": web["TargetGroupArn"]}],
    )
    eager = NlbIngress(
        settings,
        clients,
        Boto3NlbProvisioner(settings, clients),
        in_use_attempts=3,
        in_use_wait=0.01,
    )
    before = clients.counter.snapshot().get("elbv2.DeleteTargetGroup", 0)
    began = time.monotonic()
    with pytest.raises(CloudError) as err:
        eager.remove(Notes())
    assert err.value.retryable and "in use" in str(err.value)
    assert time.monotonic() - began < 10
    attempts = clients.counter.snapshot()["elbv2.DeleteTargetGroup"] - before
    assert 3 <= attempts <= 4  # three on the web group (the UDP group may go first)
    clients.elbv2.delete_load_balancer(LoadBalancerArn=stray["LoadBalancerArn"])

    ingress.remove(Notes())
    forget_nlb_interfaces(aws_endpoint, clients, settings)
    wait_for(lambda: ingress.remaining() == [], 30, "the NLB and its parts to go")
    assert ingress.describe() is None
    ingress.remove(Notes())  # gone already: no error
    assert ingress.remaining() == []
    assert ingress.target_health() == []
    assert existing_groups(settings, clients) == []
    with pytest.raises(Exception, match="LoadBalancerNotFound"):
        clients.elbv2.describe_listeners(LoadBalancerArn=lb.arn)
    assert parts.audit.billable() == []
