"""A real ACME server for the certificate tests: Pebble (Debian package ``pebble``, the
test CA Let's Encrypt publishes), validating DNS-01 for real against a small local
DNS server (dnslib) that answers from the emulator's Route 53 records.

Pebble runs with ``PEBBLE_VA_ALWAYS_VALID`` unset, so a challenge passes only when
the TXT record is really in the hosted zone. Its listener's TLS certificate is one
these helpers make (the Debian package ships none); ``ca_file`` trusts it.
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
import ssl
import subprocess
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from ipaddress import ip_address
from pathlib import Path
from typing import Any

import boto3
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from dnslib import QTYPE, RR, A, DNSRecord
from dnslib import TXT as TXTRecord
from dnslib.server import BaseResolver, DNSHandler, DNSServer

from infra.local_redis import free_port, stop_process
from tests.support.services import wait_for

PEBBLE = shutil.which("pebble")


class Route53Resolver(BaseResolver):  # type: ignore[misc]
    """Answers A and TXT queries from every hosted zone of the emulator (read over its
    HTTP API), as Route 53's name servers would once a change is INSYNC."""

    def __init__(self, endpoint: str) -> None:
        self.route53 = boto3.client(
            "route53",
            endpoint_url=endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        self.queries: list[tuple[str, str]] = []

    def _records(self, name: str, rtype: str) -> list[dict[str, Any]]:
        found = []
        for zone in self.route53.list_hosted_zones()["HostedZones"]:
            if not (name == zone["Name"] or name.endswith("." + zone["Name"])):
                continue
            pages = self.route53.get_paginator("list_resource_record_sets")
            for page in pages.paginate(HostedZoneId=zone["Id"]):
                for rrset in page["ResourceRecordSets"]:
                    if rrset["Name"].lower() == name and rrset["Type"] == rtype:
                        found.append(rrset)
        return found

    def resolve(self, request: DNSRecord, handler: DNSHandler) -> DNSRecord:
        reply = request.reply()
        name = str(request.q.qname).lower()
        rtype = QTYPE[request.q.qtype]
        self.queries.append((name, rtype))
        if rtype in ("TXT", "A"):
            for rrset in self._records(name, rtype):
                for value in rrset.get("ResourceRecords", []):
                    text = value["Value"]
                    rdata = TXTRecord(text.strip('"')) if rtype == "TXT" else A(text)
                    reply.add_answer(
                        RR(name, QTYPE.reverse[rtype], rdata=rdata, ttl=rrset.get("TTL", 60))
                    )
        return reply


@contextmanager
def dns_server(endpoint: str) -> Iterator[tuple[str, Route53Resolver]]:
    """A UDP DNS server on loopback answering from Route 53; yields ``host:port``."""
    resolver = Route53Resolver(endpoint)
    port = free_port()
    server = DNSServer(resolver, address="127.0.0.1", port=port)
    server.start_thread()
    try:
        yield f"127.0.0.1:{port}", resolver
    finally:
        server.stop()


@dataclass(frozen=True)
class Pebble:
    directory_url: str
    ca_file: str  # trusts Pebble's own HTTPS listener
    management_url: str
    process: subprocess.Popen[bytes]

    def root_pem(self) -> str:
        """The root that signs issued certificates (``/roots/0``; new at every start)."""
        context = ssl.create_default_context(cafile=self.ca_file)
        with urllib.request.urlopen(f"{self.management_url}/roots/0", context=context) as resp:
            return str(resp.read().decode("ascii"))


def _listener_certificate(folder: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "pebble test listener")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "listener.pem", folder / "listener.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def _answers(directory_url: str, ca_file: str) -> bool:
    context = ssl.create_default_context(cafile=ca_file)
    with urllib.request.urlopen(directory_url, context=context, timeout=2) as resp:
        return bool(resp.status == 200)


@contextmanager
def pebble(folder: Path, dns: str, validity_seconds: int) -> Iterator[Pebble]:
    """Pebble on loopback, resolving DNS-01 through ``dns``, issuing certificates valid for
    ``validity_seconds``."""
    assert PEBBLE is not None
    cert_path, key_path = _listener_certificate(folder)
    port, management = free_port(), free_port()
    config = {
        "pebble": {
            "listenAddress": f"127.0.0.1:{port}",
            "managementListenAddress": f"127.0.0.1:{management}",
            "certificate": str(cert_path),
            "privateKey": str(key_path),
            # HTTP-01 and TLS-ALPN-01 ports: unused by DNS-01, but required.
            "httpPort": free_port(),
            "tlsPort": free_port(),
            "ocspResponderURL": "",
            "externalAccountBindingRequired": False,
            "certificateValidityPeriod": validity_seconds,
        }
    }
    config_path = folder / "pebble-config.json"
    config_path.write_text(json.dumps(config))
    env = {k: v for k, v in os.environ.items() if not k.startswith("PEBBLE_")}
    # No random sleeps before validation, no nonce rejections, and every order validates
    # afresh (no reused authorizations): each issuance really asks DNS.
    env.update(PEBBLE_VA_NOSLEEP="1", PEBBLE_WFE_NONCEREJECT="0", PEBBLE_AUTHZREUSE="0")
    log = open(folder / "pebble.log", "wb")  # noqa: SIM115
    proc = subprocess.Popen(
        [PEBBLE, "-config", str(config_path), "-dnsserver", dns],
        cwd=folder,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    directory = f"https://127.0.0.1:{port}/dir"
    try:
        wait_for(lambda: _answers(directory, str(cert_path)), 30, "Pebble")
        yield Pebble(directory, str(cert_path), f"https://127.0.0.1:{management}", proc)
    finally:
        stop_process(proc)
        log.close()
