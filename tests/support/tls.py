"""A certificate for direct mode, stored where the ``acme`` part stores what ACME issues:
SSM SecureStrings ``/{project}/tls/fullchain`` and ``/{project}/tls/privkey`` (PEM).
Signed by the emulator's HTTPS front CA, which the bot's HTTPS probe trusts in tests."""

from __future__ import annotations

import json
import urllib.request

from bot.config import Settings
from infra.aws.direct_checks import certificate_parameters
from infra.aws.session import AwsClients


def emulator_certificate(emulator_url: str, names: list[str]) -> tuple[str, str]:
    """(fullchain, privkey) PEM for ``names`` from the emulator (``POST /_emulator/tls``)."""
    req = urllib.request.Request(
        f"{emulator_url}/_emulator/tls",
        data=json.dumps({"names": names}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(req, timeout=5) as resp:
        body = json.loads(resp.read())
    return str(body["fullchain"]), str(body["privkey"])


def store_certificate(settings: Settings, names: list[str] | None = None) -> None:
    """Store a certificate for the domain (or ``names``) as an ACME issuance would."""
    assert settings.aws_endpoint_url, "needs the emulator"
    chain, key = emulator_certificate(settings.aws_endpoint_url, names or [settings.domain])
    ssm = AwsClients(settings).ssm
    for name, value in zip(certificate_parameters(settings), (chain, key), strict=True):
        ssm.put_parameter(Name=name, Value=value, Type="SecureString", Overwrite=True)
