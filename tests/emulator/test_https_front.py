"""HTTPS as a browser sees it, against the emulator: ACM's DNS validation, the HTTPS
front that stands for the NLB's TLS listener and jitsi-web, and the bot's probe."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from bot.config import Settings
from bot.model import ProbeResult, SessionTags
from bot.ports import PlatformParts
from infra.aws import certificate
from infra.aws.bootstrap import bootstrap
from infra.aws.nlb_boto3 import Boto3NlbProvisioner
from infra.aws.parts import aws_parts
from infra.aws.session import AwsClients
from infra.probe import HttpsProbe
from tests.support.services import control, emulator, free_port, https_front, wait_for

ZONE = "front.example"


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with emulator("instant") as found:
        yield found


def _settings(url: str, **values: Any) -> Settings:
    project = f"h{uuid.uuid4().hex[:8]}"
    base: dict[str, Any] = {
        "project_name": project,
        "aws_endpoint_url": url,
        "domain": f"{project}.{ZONE}",
        **https_front(url),
    }
    return Settings(**{**base, **values})


def _zone(settings: Settings) -> str:
    route53 = AwsClients(settings).route53
    zone = route53.create_hosted_zone(Name=ZONE, CallerReference=uuid.uuid4().hex)
    return str(zone["HostedZone"]["Id"]).rsplit("/", 1)[-1]


@dataclass
class Meeting:
    settings: Settings
    clients: AwsClients
    parts: PlatformParts

    def probe(self, url: str = "", **overrides: Any) -> ProbeResult:
        settings = self.settings.model_copy(update=overrides)
        return HttpsProbe(settings, timeout=3).check(url or f"https://{settings.domain}/room")


def _meeting(url: str) -> Meeting:
    """The documented path: a hosted zone, bootstrap (certificate validated through the
    zone), an NLB with the task registered and healthy."""
    settings = _settings(url)
    settings = settings.model_copy(update={"hosted_zone_id": _zone(settings)})
    clients = AwsClients(settings)
    bootstrap(settings, clients)
    parts, _ = aws_parts(settings, clients, Boto3NlbProvisioner(settings, clients))
    wait_for(lambda: certificate.find(settings, clients), 10, "the certificate to be issued")
    parts.ingress.bring_up(SessionTags("s1", "alice"), lambda _m, _d: None)
    parts.compute.scale(1)
    tasks = wait_for(lambda: [t for t in parts.compute.tasks() if t.private_ip], 30, "a task")
    parts.ingress.attach(tasks)  # type: ignore[arg-type]
    wait_for(lambda: parts.ingress.readiness().ready, 30, "healthy targets")
    return Meeting(settings, clients, parts)


@pytest.fixture(scope="module")
def meeting(url: str) -> Meeting:
    return _meeting(url)


# ---------------------------------------------------------------- ACM validation


def test_acm_issues_once_the_validation_record_is_in_the_zone(url: str) -> None:
    settings = _settings(url)
    clients = AwsClients(settings)
    acm = clients.client("acm")
    cert, requested = certificate.request(settings, clients, [])
    assert requested and cert.status == certificate.PENDING
    # Without the record nothing issues it (moto alone would, after 60 s).
    assert describe_status(acm, cert.arn) == certificate.PENDING
    again, requested_again = certificate.request(settings, clients, [])
    assert again.arn == cert.arn and not requested_again  # found, not asked twice
    records = certificate.validation_records(clients, cert.arn)
    assert records and all(r.name.endswith(f"{settings.domain}.") for r in records)
    zoned = settings.model_copy(update={"hosted_zone_id": _zone(settings)})
    certificate.write_validation_records(zoned, clients, records)
    wait_for(lambda: describe_status(acm, cert.arn) == certificate.ISSUED, 10, "ISSUED")
    assert certificate.listener_certificate(settings, clients) == cert.arn


def test_acm_takes_the_profiles_delay(url: str) -> None:
    control(url, "profile", {"profile": "field", "time_scale": 0.1})  # 60 s -> 6 s
    try:
        settings = _settings(url)
        settings = settings.model_copy(update={"hosted_zone_id": _zone(settings)})
        clients = AwsClients(settings)
        result = bootstrap(settings, clients)
        arn = result["certificate_arn"]
        assert result["certificate_status"] == certificate.PENDING
        acm = clients.client("acm")
        assert describe_status(acm, arn) == certificate.PENDING  # record seen, not yet issued
        wait_for(lambda: describe_status(acm, arn) == certificate.ISSUED, 30, "ISSUED")
    finally:
        control(url, "profile", {"profile": "instant", "time_scale": 1.0})


def describe_status(acm: Any, arn: str) -> str:
    return str(acm.describe_certificate(CertificateArn=arn)["Certificate"]["Status"])


# ---------------------------------------------------------------- the probe


def test_the_meeting_page_with_a_valid_certificate(meeting: Meeting) -> None:
    result = meeting.probe()
    assert result.ok, result.detail
    assert result.detail.startswith("HTTP 200, the Jitsi Meet page, certificate valid until ")


def test_a_name_the_certificate_does_not_cover(meeting: Meeting) -> None:
    # Another name in the zone pointing at the same NLB: the NLB serves its one
    # certificate, and a browser refuses it.
    other = f"other-{meeting.settings.domain}"
    target = meeting.parts.ingress.dns_target([])
    assert target is not None
    meeting.clients.route53.change_resource_record_sets(
        HostedZoneId=meeting.settings.hosted_zone_id,
        ChangeBatch={
            "Changes": [
                {
                    "Action": "UPSERT",
                    "ResourceRecordSet": {
                        "Name": other,
                        "Type": "A",
                        "AliasTarget": {
                            "HostedZoneId": target.zone_id,  # type: ignore[union-attr]
                            "DNSName": target.dns_name,  # type: ignore[union-attr]
                            "EvaluateTargetHealth": False,
                        },
                    },
                }
            ]
        },
    )
    result = meeting.probe(f"https://{other}/")
    assert not result.ok and result.detail == f"certificate not valid for {other}"


def test_a_certificate_from_an_untrusted_ca(meeting: Meeting) -> None:
    # Without the emulator's CA, as a browser that was never told about it.
    result = meeting.probe(https_check_ca_file=None)
    assert not result.ok
    assert result.detail.startswith(f"certificate for {meeting.settings.domain} not trusted")


def test_jitsi_web_answering_502(meeting: Meeting, url: str) -> None:
    control(url, "web", {"status": 502})
    try:
        result = meeting.probe()
    finally:
        control(url, "web", {"status": 200})
    assert not result.ok and result.detail == f"HTTP 502 from {meeting.settings.domain}"


def test_connection_refused(meeting: Meeting) -> None:
    result = meeting.probe(https_check_connect_to=f"127.0.0.1:{free_port()}")
    assert not result.ok and result.detail.startswith("connection refused (127.0.0.1:")


def test_no_healthy_target_closes_without_an_answer(meeting: Meeting, url: str) -> None:
    control(url, "targets", {"mode": "unhealthy"})
    try:
        result = meeting.probe()
    finally:
        control(url, "targets", {"mode": "auto"})
    assert not result.ok
    assert result.detail == f"{meeting.settings.domain} closed the connection without an answer"


def test_nothing_answers_before_the_nlb_exists(url: str) -> None:
    settings = _settings(url)
    result = HttpsProbe(settings, timeout=3).check(f"https://{settings.domain}/")
    assert not result.ok
    assert result.detail == f"nothing serves HTTPS for {settings.domain} (unrecognized name)"


def test_not_an_https_url(url: str) -> None:
    result = HttpsProbe(_settings(url)).check("http://meet.example.org/")
    assert not result.ok and "not an https:// URL" in result.detail


def test_a_ca_file_that_cannot_be_read(url: str, tmp_path: Any) -> None:
    missing = str(tmp_path / "no-such-ca.pem")
    result = HttpsProbe(_settings(url, https_check_ca_file=missing)).check("https://x.example/")
    assert not result.ok and result.detail.startswith(f"https_check_ca_file {missing!r} cannot")


def test_bootstrap_without_a_zone_shows_the_record_to_create(url: str) -> None:
    settings = _settings(url)
    messages: list[str] = []
    result = bootstrap(settings, AwsClients(settings), messages.append)
    assert result["certificate_status"] == certificate.PENDING
    [record] = [m for m in messages if m.startswith("Create this record")]
    assert f"where {settings.domain} is hosted: _" in record and " CNAME _" in record
    # A second run finds the same certificate and asks for no other.
    again = bootstrap(settings, AwsClients(settings), messages.append)
    assert again["certificate_arn"] == result["certificate_arn"]
    assert "ACM certificate" not in again["created"]
