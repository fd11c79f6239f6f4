"""One certificate for the meeting domain from an ACME CA (Let's Encrypt), by DNS-01.

The direct ingress has no load balancer to hold an ACM certificate, and
issuing at every start would hit Let's Encrypt's limit of 5 certificates for
the same names per 7 days (letsencrypt.org/docs/rate-limits, "New Certificates
per Exact Set of Identifiers"). So the certificate is issued once, kept in SSM
(``infra.tls_store``) and renewed well before it expires.

DNS-01 needs nothing reachable from the internet: the challenge is a TXT record
``_acme-challenge.<domain>`` written to the hosted zone (UPSERT, wait INSYNC, as
certbot-dns-route53 does), answered, and deleted whatever happens.
"""

from __future__ import annotations

import datetime
import logging
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any

from acme import challenges, client, crypto_util, errors, messages
from botocore.exceptions import BotoCoreError, ClientError
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from dnslib import QTYPE, DNSRecord
from josepy.jwk import JWKRSA

from bot.config import Settings
from bot.errors import BotError
from infra.aws.session import AwsClients

log = logging.getLogger("jitsi.acme")

USER_AGENT = "jitsi-chatops-acme/1"
CHALLENGE_TTL = 60  # seconds; the record lives only while the CA looks at it


class CertificateError(BotError):
    """The certificate could not be obtained; the message says which step failed."""


@dataclass(frozen=True, slots=True)
class Issued:
    """A certificate and its key, PEM text."""

    fullchain: str
    privkey: str


def new_account_key() -> str:
    """A fresh ACME account key (RSA 2048, what certbot makes), PEM."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return _pem(key)


def new_certificate_key() -> str:
    """A fresh certificate key: ECDSA P-256 keeps the chain under SSM's 4 KB standard tier."""
    return _pem(ec.generate_private_key(ec.SECP256R1()))


def _pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode("ascii")


class Route53Challenge:
    """The ``_acme-challenge`` TXT record in the meeting domain's hosted zone."""

    def __init__(self, settings: Settings, clients: AwsClients) -> None:
        if not settings.hosted_zone_id:
            raise CertificateError(
                "DNS-01 needs the meeting domain's hosted zone: hosted_zone_id is not set."
            )
        self.settings = settings
        self.zone = settings.hosted_zone_id
        self.clients = clients

    def _change(self, action: str, name: str, value: str) -> str:
        record = {
            "Name": name,
            "Type": "TXT",
            "TTL": CHALLENGE_TTL,
            # TXT values are quoted strings in Route 53's API.
            "ResourceRecords": [{"Value": f'"{value}"'}],
        }
        resp = self.clients.route53.change_resource_record_sets(
            HostedZoneId=self.zone,
            ChangeBatch={"Changes": [{"Action": action, "ResourceRecordSet": record}]},
        )
        return str(resp["ChangeInfo"]["Id"])

    def _insync(self, change_id: str) -> None:
        deadline = time.monotonic() + self.settings.acme.propagation_timeout_seconds
        delay = 1.0
        while True:
            status = self.clients.route53.get_change(Id=change_id)["ChangeInfo"]["Status"]
            if status == "INSYNC":
                return
            if time.monotonic() + delay > deadline:
                raise CertificateError(f"Route 53 change {change_id} still {status}: timed out.")
            time.sleep(delay)
            delay = min(delay * 2, 10.0)

    @contextmanager
    def published(self, name: str, value: str) -> Iterator[None]:
        """The TXT record exists, INSYNC (and seen by ``acme.dns_resolver``), inside the block."""
        try:
            self._insync(self._change("UPSERT", name, value))
        except (ClientError, BotoCoreError) as exc:
            raise CertificateError(
                f"Cannot write the TXT record {name} to Route 53: {exc}"
            ) from exc
        try:
            if self.settings.acme.dns_resolver:
                self._seen(name, value, self.settings.acme.dns_resolver)
            yield
        finally:
            try:
                self._change("DELETE", name, value)
            except (ClientError, BotoCoreError) as exc:  # a stale TXT record bills nothing
                log.warning("could not delete the challenge record %s: %s", name, exc)

    def _seen(self, name: str, value: str, resolver: str) -> None:
        host, _, port = resolver.rpartition(":")
        deadline = time.monotonic() + self.settings.acme.propagation_timeout_seconds
        delay = 0.2
        while True:
            try:
                raw = DNSRecord.question(name, "TXT").send(host, int(port), timeout=2)
                answers = DNSRecord.parse(raw).rr
                if any(r.rtype == QTYPE.TXT and _txt(r.rdata) == value for r in answers):
                    return
            except OSError as exc:
                log.info("resolver %s: %s", resolver, exc)
            if time.monotonic() + delay > deadline:
                raise CertificateError(f"The resolver {resolver} never answered {name} TXT.")
            time.sleep(delay)
            delay = min(delay * 2, 5.0)


def _txt(rdata: Any) -> str:
    return b"".join(rdata.data).decode("ascii", "replace")


class AcmeIssuer:
    """Runs one ACME order for ``settings.domain`` with DNS-01 answered in Route 53."""

    def __init__(
        self,
        settings: Settings,
        challenge: Route53Challenge,
    ) -> None:
        self.settings = settings
        self.challenge = challenge

    def issue(self, account_key_pem: str) -> Issued:
        """A new certificate (and key) for the meeting domain; raises ``CertificateError``."""
        try:
            return self._issue(account_key_pem)
        except CertificateError:
            raise
        except errors.ValidationError as exc:
            problems = "; ".join(_authz_problem(a) for a in exc.failed_authzrs)
            raise CertificateError(f"DNS-01 challenge rejected: {problems}") from exc
        except errors.TimeoutError as exc:
            raise CertificateError(f"The ACME order did not finish in time ({exc}).") from exc
        except messages.Error as exc:
            raise CertificateError(f"The ACME server refused: {exc}") from exc
        except (errors.Error, OSError) as exc:
            url = self.settings.acme.directory_url
            raise CertificateError(f"Cannot talk to the ACME server {url}: {exc}") from exc

    def _client(self, account_key_pem: str) -> client.ClientV2:
        key = JWKRSA.load(account_key_pem.encode("ascii"))
        net = client.ClientNetwork(key, user_agent=USER_AGENT)
        if self.settings.acme.ca_file:
            # requests takes a CA bundle path where acme's signature says bool.
            net.verify_ssl = self.settings.acme.ca_file  # type: ignore[assignment]
        directory = client.ClientV2.get_directory(self.settings.acme.directory_url, net)
        acme = client.ClientV2(directory, net)
        registration = messages.NewRegistration.from_data(
            email=self.settings.acme.email, terms_of_service_agreed=True
        )
        try:
            acme.new_account(registration)
        except errors.ConflictError as exc:  # the key already has an account: use it
            acme.net.account = messages.RegistrationResource(
                uri=exc.location, body=messages.Registration()
            )
        return acme

    def _issue(self, account_key_pem: str) -> Issued:
        acme = self._client(account_key_pem)
        privkey = new_certificate_key()
        csr = crypto_util.make_csr(privkey.encode("ascii"), [self.settings.domain])
        order = acme.new_order(csr)
        key = acme.net.key
        # Every record stays published until the order is final: the CA may check again.
        with ExitStack() as records:
            for authz in order.authorizations:
                if authz.body.status == messages.STATUS_VALID:
                    continue  # the CA remembers a recent validation by this account
                chall = next(
                    (c for c in authz.body.challenges if isinstance(c.chall, challenges.DNS01)),
                    None,
                )
                if chall is None:
                    raise CertificateError("The ACME server offers no DNS-01 challenge.")
                dns01 = chall.chall
                assert isinstance(dns01, challenges.DNS01)
                name = dns01.validation_domain_name(authz.body.identifier.value)
                records.enter_context(self.challenge.published(name, dns01.validation(key)))
                acme.answer_challenge(chall, dns01.response(key))
            deadline = datetime.datetime.now() + datetime.timedelta(
                seconds=self.settings.acme.order_timeout_seconds
            )
            order = acme.poll_and_finalize(order, deadline=deadline)
        if order.fullchain_pem is None:
            raise CertificateError("The ACME server finalized the order without a certificate.")
        return Issued(order.fullchain_pem, privkey)


def _authz_problem(authz: messages.AuthorizationResource) -> str:
    for chall in authz.body.challenges:
        if chall.error is not None:
            return f"{authz.body.identifier.value}: {chall.error.detail or chall.error.typ}"
    return f"{authz.body.identifier.value}: {authz.body.status}"
