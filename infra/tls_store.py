"""The direct ingress's certificate kept in SSM Parameter Store, and when to renew it.

Three SecureString parameters (encrypted with the account's ``aws/ssm`` key):
``/{project}/tls/fullchain`` and ``/{project}/tls/privkey``, which the web container
gets as ECS secrets at start (infra/jitsi/task.json, feature ``direct_tls``), and
``/{project}/tls/account-key``, the ACME account's key. A value over 4 KB needs
the Advanced tier ($0.05 per parameter-month); the ECDSA key and Let's Encrypt's
chain stay under it (docs/decisions.md, "acme"), and Intelligent-Tiering picks the
tier per write.
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass
from enum import StrEnum

from botocore.exceptions import ClientError
from cryptography import x509

from bot.config import Settings
from infra.acme_cert import AcmeIssuer, CertificateError, Issued, new_account_key
from infra.aws import naming
from infra.aws.errors import access_denied, error_code, translated
from infra.aws.session import AwsClients

log = logging.getLogger("jitsi.tls")

STANDARD_TIER_BYTES = 4096  # SSM standard parameters hold up to 4 KB
# Standard (free) unless a value needs Advanced (over 4 KB, $0.05 a month), chosen by
# SSM per write; an explicit "Standard" would fail on a parameter once made Advanced,
# which cannot be reverted (AWS Systems Manager User Guide, "Managing parameter tiers").
TIER = "Intelligent-Tiering"


def parameter_names(project: str) -> dict[str, str]:
    """The three parameters by role (``fullchain``, ``privkey``, ``account-key``)."""
    return {role: naming.tls_parameter(project, role) for role in naming.TLS_ROLES}


class SsmTlsStore:
    """Reads and writes the parameters; a missing one reads as None."""

    def __init__(self, settings: Settings, clients: AwsClients) -> None:
        self.names = parameter_names(settings.project_name)
        self.clients = clients

    def get(self, role: str) -> str | None:
        try:
            resp = self.clients.ssm.get_parameter(Name=self.names[role], WithDecryption=True)
        except ClientError as exc:
            if error_code(exc) == "ParameterNotFound":
                return None
            raise
        return str(resp["Parameter"]["Value"])

    def put(self, role: str, value: str) -> None:
        self.clients.ssm.put_parameter(
            Name=self.names[role],
            Value=value,
            Type="SecureString",
            Overwrite=True,
            Tier=TIER,
        )

    def save(self, issued: Issued) -> None:
        # The key first: a task starting between the two writes gets the old chain with
        # the new key and fails its health check, and is replaced; the other order
        # would be the same. A start and a renewal meet once in 60 days at most.
        self.put("privkey", issued.privkey)
        self.put("fullchain", issued.fullchain)


class CertState(StrEnum):
    MISSING = "missing"  # nothing stored: issue
    VALID = "valid"  # stored, for this domain, not yet due
    DUE = "due"  # within tls_renew_days of expiry (or expired)
    OTHER_NAME = "other_name"  # stored, but not for the meeting domain: issue


@dataclass(frozen=True, slots=True)
class CertStatus:
    state: CertState
    not_after: datetime.datetime | None = None
    renew_after: datetime.datetime | None = None

    def days_left(self, now: datetime.datetime) -> float | None:
        if self.not_after is None:
            return None
        return (self.not_after - now).total_seconds() / 86400

    def to_dict(self, now: datetime.datetime) -> dict[str, object]:
        left = self.days_left(now)
        return {
            "state": self.state.value,
            "not_after": self.not_after.isoformat() if self.not_after else None,
            "renew_after": self.renew_after.isoformat() if self.renew_after else None,
            "days_left": round(left, 2) if left is not None else None,
        }


def _names(cert: x509.Certificate) -> set[str]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return set()
    return {n.lower() for n in san.value.get_values_for_type(x509.DNSName)}


def status_of(
    fullchain: str | None, domain: str, renew_days: int, now: datetime.datetime
) -> CertStatus:
    """Where the stored certificate stands for ``domain`` at ``now``."""
    if not fullchain:
        return CertStatus(CertState.MISSING)
    leaf = x509.load_pem_x509_certificates(fullchain.encode("ascii"))[0]
    not_after = leaf.not_valid_after_utc
    renew_after = not_after - datetime.timedelta(days=renew_days)
    if domain not in _names(leaf):
        return CertStatus(CertState.OTHER_NAME, not_after, renew_after)
    state = CertState.DUE if now >= renew_after else CertState.VALID
    return CertStatus(state, not_after, renew_after)


@dataclass(frozen=True, slots=True)
class Outcome:
    action: str  # "issued", "renewed" or "kept"
    status: CertStatus


class CertificateManager:
    """Issue when missing, renew when due, else keep: at most one order per renewal window."""

    def __init__(self, settings: Settings, store: SsmTlsStore, issuer: AcmeIssuer) -> None:
        self.settings = settings
        self.store = store
        self.issuer = issuer

    @translated("reading the certificate from SSM")
    def status(self, now: datetime.datetime | None = None) -> CertStatus:
        now = now or datetime.datetime.now(datetime.UTC)
        fullchain = self.store.get("fullchain")
        try:
            return status_of(fullchain, self.settings.domain, self.settings.tls_renew_days, now)
        except ValueError as exc:  # not PEM: the parameter was edited by hand
            log.warning("stored certificate unreadable (%s): issuing a new one", exc)
            return CertStatus(CertState.MISSING)

    def _readable(self) -> bool:
        """False when this role may not read the certificate: a deployment without the
        direct ingress (Terraform grants the read with ``direct_tls`` only)."""
        try:
            self.store.get("fullchain")
        except ClientError as exc:
            if access_denied(exc):
                log.info("certificate parameters not readable: no renewal check here")
                return False
            raise
        return True

    @translated("obtaining the certificate")
    def ensure(self, *, force: bool = False, only_renew: bool = False) -> Outcome:
        """Make the stored certificate current; ``only_renew`` never issues a first one
        (the worker renews what an operator issued), ``force`` renews even when not due."""
        if only_renew and not self._readable():
            return Outcome("kept", CertStatus(CertState.MISSING))
        before = self.status()
        if before.state is CertState.VALID and not force:
            return Outcome("kept", before)
        if before.state is CertState.MISSING and only_renew:
            return Outcome("kept", before)
        account = self.store.get("account-key")
        if account is None:
            account = new_account_key()
            self.store.put("account-key", account)
        issued = self.issuer.issue(account)
        self.store.save(issued)
        after = self.status()
        if after.state is CertState.MISSING:
            raise CertificateError("The new certificate was stored but does not read back.")
        return Outcome("issued" if before.state is CertState.MISSING else "renewed", after)
