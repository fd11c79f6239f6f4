"""Direct mode end to end: `jitsi-bot say start` with ``ingress: direct`` through a
worker process and the emulator (field profile, scaled): the URL comes once the A
record at the task's public IP is INSYNC and the HTTPS front presents the stored
certificate; no load balancer or its addresses ever exist; stop leaves nothing."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.model import IngressKind
from infra.aws.bootstrap import bootstrap
from infra.aws.session import AwsClients
from infra.probe import HttpsProbe
from tests.e2e.conftest import Platform
from tests.support.tls import store_certificate

pytestmark = pytest.mark.e2e


def _direct(platform: Platform, *, certificate: bool = True) -> Any:
    clients = platform.clients
    zone = clients.route53.create_hosted_zone(
        Name="e2e.example", CallerReference=platform.settings.project_name
    )
    zone_id = str(zone["HostedZone"]["Id"]).rsplit("/", 1)[-1]
    settings = platform.settings.model_copy(
        update={"hosted_zone_id": zone_id, "ingress": IngressKind.DIRECT}
    )
    bootstrap(settings, AwsClients(settings))  # registers the direct task (STUN on)
    if certificate:
        store_certificate(settings)
    platform.env["JITSI_HOSTED_ZONE_ID"] = zone_id
    platform.env["JITSI_INGRESS"] = "direct"
    return settings


def _a_records(platform: Platform, zone_id: str) -> list[dict[str, Any]]:
    found = platform.clients.route53.list_resource_record_sets(HostedZoneId=zone_id)
    return [r for r in found["ResourceRecordSets"] if r["Type"] == "A"]


def _no_load_balancer_anything(platform: Platform) -> None:
    """Nothing of a load balancer of this project (the emulator is shared by tests)."""
    clients, project = platform.clients, platform.settings.project_name
    lbs = clients.elbv2.describe_load_balancers()["LoadBalancers"]
    assert [lb for lb in lbs if lb["LoadBalancerName"].startswith(project)] == []
    groups = clients.elbv2.describe_target_groups()["TargetGroups"]
    assert [g for g in groups if g["TargetGroupName"].startswith(project)] == []
    enis = clients.ec2.describe_network_interfaces(
        Filters=[{"Name": "description", "Values": [f"ELB net/{project}*"]}]
    )["NetworkInterfaces"]
    assert enis == []
    tagged = [{"Name": "tag:jitsi:project", "Values": [project]}]
    assert clients.ec2.describe_addresses(Filters=tagged)["Addresses"] == []


def test_direct_start_posts_a_working_url_with_no_load_balancer(platform: Platform) -> None:
    settings = _direct(platform)
    platform.start_worker()
    start = platform.say("start standup")
    assert start.code == 0, start.stdout + start.stderr + platform.worker_log()
    assert start.events("url_ready")[0]["data"]["url"] == "https://meet.e2e.example/standup"
    cost = start.events("cost")[0]["data"]
    assert cost["running_hour"] == pytest.approx(0.20248, abs=1e-5)
    steps = [e["data"]["label"] for e in start.events("step_started")]
    assert "DNS A record at the task's public IP" in steps

    # The record is the task's own address, with the low TTL; the meeting page answers.
    (record,) = _a_records(platform, settings.hosted_zone_id)
    assert record["TTL"] == settings.direct_dns_ttl_seconds
    status = json.loads(platform.cli("status", "--json").stdout)
    assert status["ingress"] == "direct" and status["nlb_dns_name"] is None
    assert [r["Value"] for r in record["ResourceRecords"]] == [status["public_ip"]]
    assert HttpsProbe(settings, timeout=5).check("https://meet.e2e.example/standup").ok
    _no_load_balancer_anything(platform)

    stop = platform.say("stop")
    assert stop.code == 0, stop.stdout + stop.stderr
    assert stop.events("audit")[-1]["data"]["clean"] is True
    order = [e.get("step") for e in stop.events("step_started")]
    assert order.index("dns-delete") < order.index("scale-down")
    assert _a_records(platform, settings.hosted_zone_id) == []
    assert not HttpsProbe(settings, timeout=5).check("https://meet.e2e.example/").ok
    _no_load_balancer_anything(platform)


def test_direct_start_without_a_stored_certificate_is_refused(platform: Platform) -> None:
    settings = _direct(platform, certificate=False)
    # No certificate: the front fails the handshake, as a browser would see it.
    probe = HttpsProbe(settings, timeout=5).check("https://meet.e2e.example/")
    assert not probe.ok
    platform.start_worker()
    start = platform.say("start")
    assert start.code != 0
    text = start.stdout + start.stderr
    assert "jitsi-bot infra certificate" in text, text
    assert _a_records(platform, settings.hosted_zone_id) == []
    _no_load_balancer_anything(platform)
