"""The AWS parts other than the ingress (``EcsCompute``, ``Route53Dns``,
``SsmAdvertisedAddresses``, the ``Meter``) and ``aws_parts`` as the lifecycle reads
them, against a real AWS API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.config import Settings
from bot.cost import CostModel
from bot.job import Deps
from bot.lifecycle import Lifecycle
from bot.model import AddressTarget, AliasTarget, SessionTags
from bot.ports import PlatformParts
from infra.aws.compute import EcsCompute
from infra.aws.elb import LoadBalancer
from infra.aws.nlb import NlbIngress
from infra.aws.parts import aws_parts
from infra.aws.session import AwsClients
from infra.clock import SystemClock
from infra.pricing import load_prices
from tests.support.aws import Endpoint, nlb_interfaces, running_task, stop_tasks
from tests.support.memory import MemoryLedger, MemoryStore, RecordingSink

TAGS = SessionTags(session="job-1", requested_by="slack:U1")


def _ignore(message: str, data: dict[str, Any]) -> None:
    pass


def _up(parts: PlatformParts) -> tuple[NlbIngress, LoadBalancer]:
    ingress = parts.ingress
    assert isinstance(ingress, NlbIngress)
    ingress.bring_up(TAGS, _ignore)
    lb = ingress.load_balancer()
    assert lb is not None
    return ingress, lb


def test_compute_scales_the_service_and_lists_its_tasks(
    parts: PlatformParts, aws_endpoint: Endpoint
) -> None:
    compute = parts.compute
    assert isinstance(compute, EcsCompute)
    service = compute.service()
    assert service is not None and service.desired_count == 0
    assert compute.tasks() == [] and compute.tasks(include_stopped=True) == []
    task = running_task(aws_endpoint, compute)
    service = compute.service()
    assert service is not None and service.desired_count == 1
    assert task.desired_status == "RUNNING"
    if aws_endpoint.emulated:  # the service's subnets assign public IPs
        assert task.public_ip
    stop_tasks(aws_endpoint, compute)
    assert compute.tasks() == []
    # Told to stop, and stopped: listed only when asked for.
    assert {t.arn for t in compute.tasks(include_stopped=True)} <= {task.arn}


def test_advertised_addresses_round_trip_through_ssm(
    parts: PlatformParts, settings: Settings, clients: AwsClients
) -> None:
    parts.advertised.publish(["203.0.113.7", "203.0.113.8"])
    value = clients.ssm.get_parameter(Name=settings.advertise_ips_parameter)
    assert value["Parameter"]["Value"] == "203.0.113.7,203.0.113.8"
    assert parts.advertised.current() == ["203.0.113.7", "203.0.113.8"]
    clients.ssm.delete_parameter(Name=settings.advertise_ips_parameter)
    assert parts.advertised.current() == []  # no parameter: nothing advertised


def _hosted_zone(make_settings: Callable[..., Settings]) -> str:
    plain = make_settings()
    zone = AwsClients(plain).route53.create_hosted_zone(
        Name="meet.example.com", CallerReference=plain.project_name
    )
    return str(zone["HostedZone"]["Id"]).rsplit("/", 1)[-1]


def _a_records(clients: AwsClients, settings: Settings) -> list[dict[str, Any]]:
    assert settings.hosted_zone_id
    records = clients.route53.list_resource_record_sets(HostedZoneId=settings.hosted_zone_id)
    return [
        r
        for r in records["ResourceRecordSets"]
        if r["Name"] == settings.domain + "." and r["Type"] == "A"
    ]


def test_dns_alias_upserted_and_deleted(
    make_settings: Callable[..., Settings], make_parts: Callable[..., PlatformParts]
) -> None:
    zone_id = _hosted_zone(make_settings)
    parts = make_parts(hosted_zone_id=zone_id)
    ingress, lb = _up(parts)
    settings, clients = ingress.settings, ingress.clients
    assert parts.dns.enabled
    target = ingress.dns_target([])
    assert isinstance(target, AliasTarget)
    parts.dns.upsert(target)
    parts.dns.upsert(target)  # UPSERT: a second call changes nothing
    (record,) = _a_records(clients, settings)
    assert record["AliasTarget"]["DNSName"].rstrip(".") == lb.dns_name
    assert record["AliasTarget"]["HostedZoneId"] == lb.zone_id
    parts.dns.delete()
    assert _a_records(clients, settings) == []
    parts.dns.delete()  # already gone


def test_dns_address_records_replace_an_alias(
    make_settings: Callable[..., Settings], make_parts: Callable[..., PlatformParts]
) -> None:
    zone_id = _hosted_zone(make_settings)
    parts = make_parts(hosted_zone_id=zone_id)
    ingress, _ = _up(parts)
    settings, clients = ingress.settings, ingress.clients
    target = ingress.dns_target([])
    assert target is not None
    parts.dns.upsert(target)
    parts.dns.upsert(AddressTarget(("203.0.113.9",), ttl=30))
    (record,) = _a_records(clients, settings)
    assert record["TTL"] == 30 and record["ResourceRecords"] == [{"Value": "203.0.113.9"}]
    assert "AliasTarget" not in record
    parts.dns.delete()  # Route 53 wants the record whole: read back, then deleted
    assert _a_records(clients, settings) == []


def test_dns_skipped_without_a_hosted_zone(parts: PlatformParts) -> None:
    ingress, _ = _up(parts)
    assert not parts.dns.enabled
    target = ingress.dns_target([])
    assert target is not None
    parts.dns.upsert(target)
    parts.dns.delete()
    assert not any(k.startswith("route53.") for k in parts.meter.calls())


class _CountingProvisioner:
    """A provisioner that made nothing but reports runs of another tool."""

    def create(self, tags: SessionTags, note: Any) -> LoadBalancer:
        raise AssertionError("not used")

    def destroy(self, note: Any) -> None:
        pass

    def calls(self) -> dict[str, int]:
        return {"terraform.apply": 2}


def test_meter_counts_boto3_calls_and_the_provisioners_runs(
    base: dict[str, str], settings: Settings, clients: AwsClients
) -> None:
    parts, ingress = aws_parts(settings, clients, _CountingProvisioner())
    assert parts.ingress is ingress
    parts.compute.service()
    calls = parts.meter.calls()
    assert calls["terraform.apply"] == 2
    assert calls["ecs.DescribeServices"] == clients.counter.snapshot()["ecs.DescribeServices"]


def test_observe_reads_every_part(
    parts: PlatformParts, settings: Settings, clients: AwsClients, aws_endpoint: Endpoint
) -> None:
    ingress, lb = _up(parts)
    ips = ingress.advertised_addresses() or []
    if not ips:
        nlb_interfaces(aws_endpoint, clients, lb)
        ips = ingress.advertised_addresses()
    parts.advertised.publish(ips)
    task = running_task(aws_endpoint, parts.compute)  # type: ignore[arg-type]
    ingress.attach([task])
    deps = Deps(
        settings,
        parts,
        MemoryStore(),
        RecordingSink(),
        SystemClock(),
        MemoryLedger(),
        CostModel(settings, load_prices(settings.price_region)),
    )
    seen = Lifecycle(deps).observe()
    assert seen.ingress is not None and seen.service is not None
    assert seen.ingress.name == lb.name and seen.ingress.dns_name == lb.dns_name
    assert seen.service.desired_count == 1
    assert [t.arn for t in seen.tasks] == [task.arn]
    assert len(seen.ingress.targets) == 3  # UDP 10000, TLS 443, TCP 80
    assert seen.advertise_ips == tuple(ips) and len(ips) == 2
    assert seen.calls["ecs.DescribeServices"] >= 1
