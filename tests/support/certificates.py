"""Self-signed certificates imported into the emulator's ACM: an imported certificate
is ISSUED at once (moto's requested ones wait for validation). moto refuses to import
one that has expired."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID


def import_certificate(acm: Any, names: list[str], *, days: int = 90) -> str:
    """Import a certificate for ``names`` (the first is the subject) valid for ``days``
    from now; returns its ARN."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    start, end = now - timedelta(days=1), now + timedelta(days=days)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])])
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), False)
        .sign(key, hashes.SHA256())
    )
    pem = cert.public_bytes(serialization.Encoding.PEM)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return str(acm.import_certificate(Certificate=pem, PrivateKey=private)["CertificateArn"])


def prerequisites(clients: Any, domain: str) -> dict[str, str]:
    """What a start's preflight wants besides the base infrastructure: an ISSUED
    certificate for ``domain`` in the clients' region and a hosted zone holding it.
    Returns the settings to pass as ``JITSI_*`` variables."""
    arn = import_certificate(clients.client("acm"), [domain])
    parent = domain.partition(".")[2]
    zone = clients.route53.create_hosted_zone(Name=parent, CallerReference=f"{domain}-{arn}")
    return {
        "JITSI_ACM_CERTIFICATE_ARN": arn,
        "JITSI_HOSTED_ZONE_ID": str(zone["HostedZone"]["Id"]).rsplit("/", 1)[-1],
    }
