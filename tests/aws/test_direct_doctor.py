"""``jitsi-bot doctor`` in direct mode: the stored certificate (with a fix naming
``jitsi-bot infra certificate``), the task's public IP, the security group's open
ports, and a task definition whose JVB finds its own address."""

from __future__ import annotations

import pytest

from bot.model import Finding, IngressKind
from infra.aws.bootstrap import bootstrap
from infra.aws.doctor import diagnose
from infra.aws.preflight import AwsPreflight
from infra.aws.session import AwsClients
from tests.support.aws import Endpoint, settings_for
from tests.support.tls import store_certificate


def _findings(endpoint: Endpoint, project: str, *, bootstrap_mode: IngressKind, cert: bool):
    if not endpoint.emulated:
        pytest.skip("stores a certificate signed by the emulator's CA")
    settings = settings_for(endpoint, project, ingress=IngressKind.DIRECT)
    clients = AwsClients(settings)
    bootstrap(settings.model_copy(update={"ingress": bootstrap_mode}), clients)
    if cert:
        store_certificate(settings)
    found = diagnose(settings, clients, AwsPreflight(settings, clients))
    return {f.check: f for f in found}


def test_a_direct_deployment_passes_every_direct_check(
    aws_endpoint: Endpoint, project: str
) -> None:
    found: dict[str, Finding] = _findings(
        aws_endpoint, project, bootstrap_mode=IngressKind.DIRECT, cert=True
    )
    for check in ("certificate", "public IP", "security group", "JVB address"):
        assert found[check].ok, found[check]
    assert "valid until" in found["certificate"].detail


def test_missing_certificate_and_an_nlb_task_are_findings_with_fixes(
    aws_endpoint: Endpoint, project: str
) -> None:
    found: dict[str, Finding] = _findings(
        aws_endpoint, project, bootstrap_mode=IngressKind.NLB, cert=False
    )
    cert = found["certificate"]
    assert not cert.ok and cert.blocking and "`jitsi-bot infra certificate`" in cert.fix
    jvb = found["JVB address"]
    assert not jvb.ok and "STUN" in jvb.detail and "ingress=direct" in jvb.fix
    assert found["public IP"].ok and found["security group"].ok
