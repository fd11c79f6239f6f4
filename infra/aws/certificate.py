"""The meeting domain's ACM certificate: found for the NLB's TLS listener, requested once.

ACM public certificates are free and renew themselves while their DNS validation
record stays in the zone, so one certificate serves every start: nothing is
issued per start (Let's Encrypt would allow 5 identical certificates a week).
``jitsi-bot infra bootstrap`` requests it with DNS validation and, when a hosted
zone is configured, writes the validation records itself.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from bot.config import Settings
from bot.errors import CloudError
from infra.aws.session import AwsClients

ISSUED = "ISSUED"
PENDING = "PENDING_VALIDATION"
# Statuses of a certificate that is, or may still become, usable: a bootstrap that
# finds one of these requests no other (a second request would only wait again).
_LIVE = [ISSUED, PENDING]


@dataclass(frozen=True, slots=True)
class Certificate:
    arn: str
    domain: str  # the certificate's DomainName
    names: tuple[str, ...]  # every name it covers (DomainName and SANs)
    status: str  # ISSUED | PENDING_VALIDATION | FAILED | EXPIRED | ...

    def covers(self, host: str) -> bool:
        return any(name_covers(name, host) for name in self.names)


@dataclass(frozen=True, slots=True)
class ValidationRecord:
    """The CNAME ACM wants in the domain's zone before it issues the certificate."""

    name: str
    value: str


def name_covers(name: str, host: str) -> bool:
    """Does a certificate name (``meet.example.org`` or ``*.example.org``) match ``host``?
    A wildcard covers exactly one label (RFC 6125 6.4.3), as browsers check it."""
    name, host = name.lower().rstrip("."), host.lower().rstrip(".")
    if name.startswith("*."):
        head, _, rest = host.partition(".")
        return bool(head) and rest == name[2:]
    return name == host


def _summary(data: dict[str, Any]) -> Certificate:
    # AWS lists SubjectAlternativeNameSummaries; moto lists SubjectAlternativeNames.
    names = data.get("SubjectAlternativeNameSummaries") or data.get("SubjectAlternativeNames")
    domain = str(data.get("DomainName", ""))
    return Certificate(
        arn=str(data["CertificateArn"]),
        domain=domain,
        names=tuple(dict.fromkeys([domain, *(names or [])])),
        status=str(data.get("Status", "")),
    )


def certificates(clients: AwsClients, statuses: list[str]) -> list[Certificate]:
    """The region's certificates in ``statuses``, newest listing order kept."""
    found: list[Certificate] = []
    paginator = clients.client("acm").get_paginator("list_certificates")
    for page in paginator.paginate(CertificateStatuses=statuses):
        found.extend(_summary(c) for c in page.get("CertificateSummaryList", []))
    return found


def describe(clients: AwsClients, arn: str) -> Certificate:
    data = clients.client("acm").describe_certificate(CertificateArn=arn)["Certificate"]
    return _summary(data)


def find(
    settings: Settings, clients: AwsClients, statuses: list[str] | None = None
) -> Certificate | None:
    """The certificate for the meeting domain: ``acm_certificate_arn`` when set (whatever
    its status), else an ACM certificate in ``statuses`` (ISSUED) that covers the domain,
    issued ones first. None when there is none."""
    if settings.acm_certificate_arn:
        return describe(clients, settings.acm_certificate_arn)
    covering = [c for c in certificates(clients, statuses or [ISSUED]) if c.covers(settings.domain)]
    covering.sort(key=lambda c: (c.status != ISSUED, c.domain != settings.domain))
    return covering[0] if covering else None


def listener_certificate(settings: Settings, clients: AwsClients) -> str:
    """The ARN to put on the TLS listener; raises ``CloudError`` naming what to do when
    no ISSUED certificate covers the domain (checked before anything billable is made)."""
    cert = find(settings, clients)
    domain = settings.domain
    if cert is None:
        pending = find(settings, clients, [PENDING])
        waiting = (
            f" Certificate {pending.arn} waits for its DNS validation record."
            if pending is not None
            else ""
        )
        raise CloudError(
            f"No issued ACM certificate covers {domain} in {settings.aws_region}.{waiting}",
            "Run `jitsi-bot infra bootstrap` (with hosted_zone_id it adds the validation "
            "record itself), or set acm_certificate_arn; `jitsi-bot doctor` shows what is missing.",
        )
    if cert.status != ISSUED:
        raise CloudError(
            f"ACM certificate {cert.arn} for {domain} is {cert.status}, not ISSUED.",
            "Create its DNS validation record (shown by `jitsi-bot infra bootstrap`) and wait "
            "for ACM to issue it.",
        )
    if not cert.covers(domain):
        raise CloudError(
            f"ACM certificate {cert.arn} covers {', '.join(cert.names)}, not {domain}.",
            "Set acm_certificate_arn to a certificate for the meeting domain, or unset it.",
        )
    return cert.arn


def validation_records(clients: AwsClients, arn: str) -> list[ValidationRecord]:
    """The CNAMEs ACM asks for (it may take a few seconds after the request to show them)."""
    data = clients.client("acm").describe_certificate(CertificateArn=arn)["Certificate"]
    records: dict[str, ValidationRecord] = {}
    for option in data.get("DomainValidationOptions", []):
        rr = option.get("ResourceRecord")
        if rr and rr.get("Type", "CNAME") == "CNAME":
            records[rr["Name"]] = ValidationRecord(rr["Name"], rr["Value"])
    return list(records.values())


def request(
    settings: Settings, clients: AwsClients, tags: list[dict[str, str]]
) -> tuple[Certificate, bool]:
    """Find a live certificate for the domain or request one with DNS validation;
    the flag says whether this call requested it."""
    found = find(settings, clients, _LIVE)
    if found is not None:
        return found, False
    token = hashlib.sha256(f"{settings.project_name}/{settings.domain}".encode()).hexdigest()
    arn = clients.client("acm").request_certificate(
        DomainName=settings.domain,
        ValidationMethod="DNS",
        # Same token on a retry within the hour: ACM returns the same certificate.
        IdempotencyToken=token[:32],
        **({"Tags": tags} if tags else {}),
    )["CertificateArn"]
    return describe(clients, arn), True


def write_validation_records(
    settings: Settings, clients: AwsClients, records: list[ValidationRecord]
) -> None:
    """UPSERT the validation CNAMEs into the hosted zone. They stay: ACM renews the
    certificate with them, every year, with nothing to do."""
    if not settings.hosted_zone_id or not records:
        return
    changes = [
        {
            "Action": "UPSERT",
            "ResourceRecordSet": {
                "Name": r.name,
                "Type": "CNAME",
                "TTL": 300,
                "ResourceRecords": [{"Value": r.value}],
            },
        }
        for r in records
    ]
    clients.route53.change_resource_record_sets(
        HostedZoneId=settings.hosted_zone_id,
        ChangeBatch={"Comment": "ACM DNS validation (kept for renewals)", "Changes": changes},
    )
