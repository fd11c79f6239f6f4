"""Route 53 as the emulator runs it (a change PENDING, then INSYNC), the zone SOA that
bootstrap lowers, and the NLB's addresses read only once every zone has one."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from bot.config import Settings
from bot.model import AliasTarget, SessionTags
from bot.ports import PlatformParts
from infra.aws.bootstrap import bootstrap
from infra.aws.dns import Route53Dns
from infra.aws.dns_zone import read_soa
from infra.aws.elb import find_load_balancer, interface_ips
from infra.aws.nlb import NlbIngress
from infra.aws.session import AwsClients
from tests.support.aws import Endpoint
from tests.support.services import wait_for

TARGET = AliasTarget("Z26RNL4JYFTOTI", "jitsi-nlb-0123456789.elb.us-east-1.amazonaws.com")


@pytest.fixture
def field(aws_endpoint: Endpoint) -> Iterator[Callable[[float], None]]:
    """Switch the emulator to field delays times ``scale``; back to instant afterwards."""
    if not aws_endpoint.emulated:
        pytest.skip("needs the project's emulator (latency profiles)")
    yield lambda scale: aws_endpoint.control("profile", {"profile": "field", "time_scale": scale})
    aws_endpoint.control("profile", {"profile": "instant", "time_scale": 1.0})


@pytest.fixture
def zoned(make_settings: Callable[..., Settings], project: str) -> Settings:
    """Settings with a fresh hosted zone for the meeting domain."""
    route53 = AwsClients(make_settings()).route53
    zone = route53.create_hosted_zone(Name="sync.example.com", CallerReference=project)
    return make_settings(
        hosted_zone_id=str(zone["HostedZone"]["Id"]).rsplit("/", 1)[-1],
        domain="meet.sync.example.com",
    )


def test_a_change_is_pending_then_insync(zoned: Settings, field: Any) -> None:
    field(0.02)  # INSYNC 1.2 s after the change
    clients = AwsClients(zoned)
    dns = Route53Dns(zoned, clients)
    dns.upsert(TARGET)
    assert dns.in_sync() is False
    wait_for(dns.in_sync, 10, "the change INSYNC")
    assert dns.in_sync()  # stays so


def test_a_restarted_worker_can_still_wait(zoned: Settings, field: Any) -> None:
    """A job resumed by another worker knows no change id: it submits the record as it
    stands again and waits for that change, leaving the record as it was."""
    field(0.02)
    Route53Dns(zoned, AwsClients(zoned)).upsert(TARGET)
    resumed = Route53Dns(zoned, AwsClients(zoned))
    before = resumed.current()
    assert resumed.in_sync() is False
    wait_for(resumed.in_sync, 10, "the re-submitted change INSYNC")
    assert resumed.current() == before


def test_without_a_record_or_a_zone_there_is_nothing_to_wait_for(
    zoned: Settings, settings: Settings
) -> None:
    assert Route53Dns(zoned, AwsClients(zoned)).in_sync()
    assert Route53Dns(settings, AwsClients(settings)).in_sync()  # no zone configured


def test_bootstrap_lowers_the_soa_once_and_keeps_its_other_fields(zoned: Settings) -> None:
    clients = AwsClients(zoned)
    default = read_soa(zoned, clients)
    assert (default.ttl, default.minimum) == (900, 86400)  # Route 53's defaults
    assert default.negative_cache_seconds == 900
    lines: list[str] = []
    bootstrap(zoned, clients, lines.append)
    soa = read_soa(zoned, clients)
    assert (soa.ttl, soa.minimum, soa.negative_cache_seconds) == (60, 60, 60)
    assert (soa.mname, soa.rname, soa.serial, soa.refresh, soa.retry, soa.expire) == (
        default.mname,
        default.rname,
        default.serial,
        default.refresh,
        default.retry,
        default.expire,
    )
    assert any("SOA TTL and minimum lowered to 60 s" in line for line in lines)
    again: list[str] = []
    bootstrap(zoned, clients, again.append)
    assert read_soa(zoned, clients) == soa
    assert not any("lowered" in line for line in again)


def test_the_advertised_addresses_wait_for_every_zone(
    make_parts: Callable[..., PlatformParts], make_settings: Callable[..., Settings], field: Any
) -> None:
    parts = make_parts()
    ingress = parts.ingress
    assert isinstance(ingress, NlbIngress)
    settings = make_settings()
    clients = AwsClients(settings)
    field(0.1)  # first interface after 0.5 s, the second zone's 0.5 s later
    try:
        ingress.bring_up(SessionTags("s", "u"), lambda _m, _d: None)
        lb = find_load_balancer(settings, clients)
        assert lb is not None and lb.availability_zones == 2
        seen: list[tuple[int, int, int]] = []  # interfaces before, addresses, interfaces after

        def addresses() -> list[str]:
            before = interface_ips(clients, lb.interface_description)
            found = ingress.advertised_addresses()
            after = interface_ips(clients, lb.interface_description)
            seen.append((len(before), len(found), len(after)))
            return found

        found = wait_for(addresses, 20, "an address for every zone")
        assert isinstance(found, list) and len(found) == 2
        # Never one zone's address alone: interfaces only appear, so while the later
        # read still shows one zone's, what was advertised before it must be nothing.
        assert all(n in (0, 2) for _, n, _ in seen), seen
        assert all(n == 0 for _, n, after in seen if after < 2), seen
    finally:
        ingress.remove(lambda _m, _d: None)
