"""The ACME DNS-01 flow for real: Pebble checks the TXT record through DNS that
answers from the emulator's Route 53."""

from __future__ import annotations

import datetime

from cryptography import x509

from bot.config import Settings
from infra.acme_cert import AcmeIssuer, Route53Challenge
from infra.aws.session import AwsClients
from infra.tls_store import (
    STANDARD_TIER_BYTES,
    CertificateManager,
    CertState,
    SsmTlsStore,
    parameter_names,
)
from tests.support.acme import Route53Resolver


def manager(settings: Settings) -> CertificateManager:
    clients = AwsClients(settings)
    return CertificateManager(
        settings,
        SsmTlsStore(settings, clients),
        AcmeIssuer(settings, Route53Challenge(settings, clients)),
    )


def test_issues_once_and_stores_encrypted(
    settings: Settings, clients: AwsClients, dns: tuple[str, Route53Resolver]
) -> None:
    outcome = manager(settings).ensure()
    assert outcome.action == "issued"
    names = parameter_names(settings.project_name)
    for role in ("fullchain", "privkey", "account-key"):
        param = clients.ssm.get_parameter(Name=names[role], WithDecryption=True)["Parameter"]
        assert param["Type"] == "SecureString"
    chain = clients.ssm.get_parameter(Name=names["fullchain"], WithDecryption=True)
    leaf = x509.load_pem_x509_certificates(chain["Parameter"]["Value"].encode())[0]
    san = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.DNSName) == [settings.domain]
    # An ECDSA leaf and one intermediate: well inside SSM's free standard tier.
    assert len(chain["Parameter"]["Value"].encode()) < STANDARD_TIER_BYTES
    # Pebble asked our DNS for the challenge record: the validation was real.
    assert (f"_acme-challenge.{settings.domain}.", "TXT") in dns[1].queries
    # The challenge record is gone from the zone.
    records = clients.route53.list_resource_record_sets(HostedZoneId=settings.hosted_zone_id)
    assert not [r for r in records["ResourceRecordSets"] if r["Type"] == "TXT"]
    assert outcome.status.state is CertState.DUE  # 20-day certificate, 30-day window
    now = datetime.datetime.now(datetime.UTC)
    assert 19 < (outcome.status.days_left(now) or 0) <= 20
