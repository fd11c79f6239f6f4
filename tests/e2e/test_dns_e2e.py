"""A start with a hosted zone, through `jitsi-bot say` and a worker process: the URL
comes only after Route 53 reports the domain's change INSYNC (the emulator holds it
PENDING for the field profile's 60 s, scaled), and bootstrap lowered the zone SOA."""

from __future__ import annotations

import pytest

from infra.aws.bootstrap import bootstrap
from infra.aws.dns_zone import read_soa
from infra.aws.session import AwsClients
from tests.e2e.conftest import Platform

pytestmark = pytest.mark.e2e


def test_start_announces_the_url_after_dns_is_insync(platform: Platform) -> None:
    clients = platform.clients
    zone = clients.route53.create_hosted_zone(
        Name="e2e.example", CallerReference=platform.settings.project_name
    )
    zone_id = str(zone["HostedZone"]["Id"]).rsplit("/", 1)[-1]
    settings = platform.settings.model_copy(update={"hosted_zone_id": zone_id})
    bootstrap(settings, AwsClients(settings))  # what an operator runs once
    soa = read_soa(settings, clients)
    assert soa.negative_cache_seconds == 60

    platform.env["JITSI_HOSTED_ZONE_ID"] = zone_id
    platform.start_worker()
    start = platform.say("start")
    assert start.code == 0, start.stdout + start.stderr
    order = [(e["kind"], e.get("step")) for e in start.lines if e.get("type") == "event"]
    synced = order.index(("step_finished", "dns-sync"))
    assert order.index(("step_finished", "dns")) < synced
    assert synced < next(i for i, (kind, _) in enumerate(order) if kind == "url_ready")

    records = clients.route53.list_resource_record_sets(HostedZoneId=zone_id)
    (alias,) = [r for r in records["ResourceRecordSets"] if r["Type"] == "A"]
    assert alias["Name"] == "meet.e2e.example." and "AliasTarget" in alias

    stop = platform.say("stop")
    assert stop.code == 0, stop.stdout + stop.stderr
    records = clients.route53.list_resource_record_sets(HostedZoneId=zone_id)
    assert not [r for r in records["ResourceRecordSets"] if r["Type"] == "A"]
