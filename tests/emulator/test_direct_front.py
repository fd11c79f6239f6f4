"""The HTTPS front in direct mode: an A record at a running task's public IP reaches its
jitsi-web, which presents the certificate stored in SSM; what a browser sees when the
certificate is missing or for another name, or the record points at no task."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.model import AddressTarget, IngressKind
from infra.aws.bootstrap import bootstrap
from infra.aws.nlb_boto3 import Boto3NlbProvisioner
from infra.aws.parts import aws_parts
from infra.aws.session import AwsClients
from infra.probe import HttpsProbe
from tests.emulator.test_https_front import _settings, _zone
from tests.support.services import emulator, wait_for
from tests.support.tls import certificate_parameters, store_certificate


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with emulator("instant") as found:
        yield found


def _direct(url: str):  # type: ignore[no-untyped-def]
    settings = _settings(url, ingress=IngressKind.DIRECT)
    settings = settings.model_copy(update={"hosted_zone_id": _zone(settings)})
    clients = AwsClients(settings)
    bootstrap(settings, clients)
    parts, _ = aws_parts(settings, clients, Boto3NlbProvisioner(settings, clients))
    return settings, parts


def _probe(settings) -> str:  # type: ignore[no-untyped-def]
    seen = HttpsProbe(settings, timeout=3).check(f"https://{settings.domain}/room")
    return "ok" if seen.ok else seen.detail


def _point_at_task(parts) -> str:  # type: ignore[no-untyped-def]
    parts.compute.scale(1)
    wait_for(lambda: parts.ingress.readiness().ready, 30, "a healthy task with a public IP")
    tasks = parts.compute.tasks()
    target = parts.ingress.dns_target(tasks)
    assert isinstance(target, AddressTarget)
    parts.dns.upsert(target)
    return target.addresses[0]


def test_the_stored_certificate_is_presented_at_the_tasks_address(url: str) -> None:
    settings, parts = _direct(url)
    store_certificate(settings)
    _point_at_task(parts)
    assert _probe(settings) == "ok"
    # The record goes, then the task: nothing answers for the name any more.
    parts.dns.delete()
    assert _probe(settings) != "ok"
    parts.compute.scale(0)


def test_no_stored_certificate_fails_the_handshake(url: str) -> None:
    settings, parts = _direct(url)
    store_certificate(settings)  # the task cannot start without it (its web secrets)
    _point_at_task(parts)
    ssm = AwsClients(settings).ssm
    for name in certificate_parameters(settings):  # then it goes, the task still running
        ssm.delete_parameter(Name=name)
    detail = _probe(settings)
    assert detail != "ok" and "handshake" in detail.lower(), detail
    parts.compute.scale(0)


def test_a_certificate_for_another_name_is_a_name_mismatch(url: str) -> None:
    settings, parts = _direct(url)
    store_certificate(settings, ["other.example"])
    _point_at_task(parts)
    detail = _probe(settings)
    assert detail == f"certificate not valid for {settings.domain}", detail
    parts.compute.scale(0)


def test_a_record_at_an_address_no_task_holds_reaches_nothing(url: str) -> None:
    settings, parts = _direct(url)
    store_certificate(settings)
    parts.dns.upsert(AddressTarget(("192.0.2.254",), 30))
    assert _probe(settings) != "ok"
