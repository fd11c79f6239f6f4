"""The emulator's HTTPS front: what a browser gets at https://<meeting domain>.

One local TLS port stands for every emulated NLB's TLS listener. For the name a
client asks for (SNI) it finds the network load balancer whose TLS listener on
443 carries an ISSUED ACM certificate covering that name (or, failing that, the
one a Route 53 alias of the name points at) and answers as AWS and jitsi-web
would:

- no such load balancer, or its certificate not issued: the handshake fails
  (``unrecognized_name``), as nothing would answer for the name on AWS;
- a certificate that does not cover the name: it is served anyway, signed by
  the emulator's CA, so clients see a name mismatch as browsers do;
- no healthy target behind the listener: the connection closes after the
  handshake without an HTTP answer (the NLB resets it);
- else jitsi-web's answer: the Jitsi Meet page, or the status set with
  ``POST /_emulator/web {"status": 502}`` (nginx with its upstream down).

With no load balancer answering for the name, direct mode (``direct_front``): a
plain A record at a running task's public IP leads to that task's web container,
which presents the certificate stored in SSM; none stored: the handshake fails.

Certificates are signed by a CA the emulator makes at start and writes as PEM
to a file: clients trust it through ``https_check_ca_file``.
"""

from __future__ import annotations

import datetime
import logging
import socketserver
import ssl
import tempfile
import threading
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from moto.backends import get_backend

from infra.aws.certificate import name_covers
from infra.jitsi_web import index_html

from . import acm, direct_front, scheduler
from .state import EmulatorState, now

log = logging.getLogger("infra.emulator")

TLS_PORT = 443
_READ_TIMEOUT = 5.0
_MAX_REQUEST = 64 * 1024


@dataclass(frozen=True, slots=True)
class Route:
    """Where a name leads: the load balancer, its certificate's names, its targets."""

    lb_name: str
    cert_names: tuple[str, ...]
    healthy: bool


def _tls_listeners(lb: Any) -> list[Any]:
    return [
        listener
        for listener in lb.listeners.values()
        if listener.protocol == "TLS" and int(listener.port) == TLS_PORT and listener.certificate
    ]


def _healthy(state: EmulatorState, elbv2: Any, listener: Any) -> bool:
    t = now()
    for action in listener.default_actions:
        tg = elbv2.target_groups.get(action.data.get("TargetGroupArn", ""))
        if tg is None:
            continue
        for target_id in list(tg.targets):
            if scheduler.target_health(state, tg, target_id, t)[0] == "healthy":
                return True
    return False


def _aliases(account: str, host: str) -> set[str]:
    """DNS names the account's Route 53 aliases of ``host`` point at."""
    found: set[str] = set()
    for partition_backend in get_backend("route53").get(account, {}).values():
        for zone in list(partition_backend.zones.values()):
            for rrset in list(zone.rrsets):
                if rrset.name.lower().rstrip(".") == host and rrset.alias_target:
                    found.add(str(rrset.alias_target.get("DNSName", "")).lower().rstrip("."))
    return found


def route(state: EmulatorState, host: str) -> Route | None:
    """The load balancer that answers for ``host``, as DNS and its certificate decide."""
    host = host.lower().rstrip(".")
    aliased: Route | None = None
    with state.lock:
        for elbv2 in scheduler.backends("elbv2"):
            for lb in list(elbv2.load_balancers.values()):
                if lb.type != "network" or lb.state != "active":
                    continue
                for listener in _tls_listeners(lb):
                    arn = listener.certificate
                    cert = acm.certificate(elbv2.account_id, elbv2.region_name, arn)
                    if cert is None or cert.status != "ISSUED":
                        continue
                    found = Route(lb.name, cert.names, _healthy(state, elbv2, listener))
                    if any(name_covers(name, host) for name in cert.names):
                        return found
                    dns_name = str(lb.dns_name).lower().rstrip(".")
                    if aliased is None and dns_name in _aliases(elbv2.account_id, host):
                        aliased = found
    return aliased


class _CertificateAuthority:
    """The emulator's CA and the leaf certificates it signs, one per set of names."""

    def __init__(self) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "jitsi-chatops emulator CA")])
        start = datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=1)
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(start)
            .not_valid_after(start + datetime.timedelta(days=3650))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(self.key.public_key()), critical=False
            )
            .sign(self.key, hashes.SHA256())
        )
        self._contexts: dict[tuple[str, ...], ssl.SSLContext] = {}
        self._stored: dict[tuple[str, str], ssl.SSLContext] = {}
        self._leaves = 0
        self._lock = threading.Lock()
        self._dir = tempfile.TemporaryDirectory(prefix="jitsi-emulator-tls-")

    def pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    def issue(self, names: tuple[str, ...]) -> tuple[str, str]:
        """(fullchain, privkey) PEM for ``names``, signed by this CA: what an ACME
        issuance would store, for tests of direct mode."""
        with self._lock:
            chain, key = self._leaf(names)
        return chain.read_text(), key.read_text()

    def context_from_pem(self, chain: str, key: str) -> ssl.SSLContext | None:
        """A server context presenting a stored certificate; None when it cannot load."""
        with self._lock:
            cached = self._stored.get((chain, key))
            if cached is not None:
                return cached
            base = Path(self._dir.name) / f"stored{len(self._stored)}"
            chain_path, key_path = base.with_suffix(".pem"), base.with_suffix(".key")
            chain_path.write_text(chain)
            key_path.write_text(key)
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            try:
                context.load_cert_chain(chain_path, key_path)
            except (ssl.SSLError, OSError, ValueError):
                return None
            self._stored[(chain, key)] = context
            return context

    def context(self, names: tuple[str, ...]) -> ssl.SSLContext:
        """A server context presenting a certificate for ``names`` (made once)."""
        with self._lock:
            if names not in self._contexts:
                self._contexts[names] = self._make(names)
            return self._contexts[names]

    def _make(self, names: tuple[str, ...]) -> ssl.SSLContext:
        chain, private = self._leaf(names)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(chain, private)
        return context

    def _leaf(self, names: tuple[str, ...]) -> tuple[Path, Path]:
        key = ec.generate_private_key(ec.SECP256R1())
        start = datetime.datetime.now(datetime.UTC) - datetime.timedelta(hours=1)
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
            .issuer_name(self.cert.subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            # ACM's public certificates are valid for 395 days.
            .not_valid_before(start)
            .not_valid_after(start + datetime.timedelta(days=395))
            .add_extension(
                x509.SubjectAlternativeName([x509.DNSName(n) for n in names]), critical=False
            )
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()),
                critical=False,
            )
            .sign(self.key, hashes.SHA256())
        )
        self._leaves += 1
        base = Path(self._dir.name) / f"leaf{self._leaves}"
        chain, private = base.with_suffix(".pem"), base.with_suffix(".key")
        chain.write_bytes(cert.public_bytes(serialization.Encoding.PEM) + self.pem())
        private.write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        )
        return chain, private

    def close(self) -> None:
        self._dir.cleanup()


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    front: HttpsFront


class _Handler(socketserver.BaseRequestHandler):
    server: _Server

    def handle(self) -> None:
        front = self.server.front
        self.request.settimeout(_READ_TIMEOUT)
        try:
            tls = front.context.wrap_socket(self.request, server_side=True)
        except (ssl.SSLError, OSError):
            return  # the client saw the alert (or went away)
        with tls:
            front.serve(tls)


class HttpsFront:
    """The local TLS server that stands for every NLB's TLS listener."""

    def __init__(
        self,
        state: EmulatorState,
        host: str = "127.0.0.1",
        port: int = 0,
        ca_file: str | Path | None = None,
    ) -> None:
        self.state = state
        self._host = host
        self._port = port
        self._ca = _CertificateAuthority()
        self._ca_path = Path(ca_file) if ca_file else Path(self._ca._dir.name) / "ca.pem"
        self._sni = threading.local()  # the name the current thread's client asked for
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.context.sni_callback = self._on_sni
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        state.tls_issuer = self._ca.issue  # POST /_emulator/tls

    @property
    def address(self) -> str:
        """``host:port`` once started."""
        if self._server is None:
            raise RuntimeError("the HTTPS front is not started")
        return f"{self._host}:{self._server.server_address[1]}"

    @property
    def ca_file(self) -> str:
        return str(self._ca_path)

    def start(self) -> None:
        self._ca_path.parent.mkdir(parents=True, exist_ok=True)
        self._ca_path.write_bytes(self._ca.pem())
        self._server = _Server((self._host, self._port), _Handler)
        self._server.front = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="emulator-https", daemon=True
        )
        self._thread.start()
        log.debug("HTTPS front on %s (CA in %s)", self.address, self.ca_file)

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self._ca.close()

    def _on_sni(self, sock: Any, server_name: str | None, _context: ssl.SSLContext) -> int | None:
        self._sni.name = server_name or ""
        found = route(self.state, server_name) if server_name else None
        if found is not None:
            sock.context = self._ca.context(found.cert_names)
            return None
        direct = direct_front.route(self.state, server_name) if server_name else None
        if direct is None:
            log.info("https: nothing answers for %r", server_name)
            return ssl.ALERT_DESCRIPTION_UNRECOGNIZED_NAME
        stored = self._ca.context_from_pem(*direct.pems) if direct.pems else None
        if stored is None:
            # nginx with no certificate to present: the handshake fails.
            log.info("https %s: task %s has no stored certificate", server_name, direct.address)
            return ssl.ALERT_DESCRIPTION_HANDSHAKE_FAILURE
        sock.context = stored
        return None

    def serve(self, tls: ssl.SSLSocket) -> None:
        """After the handshake: read one request, answer as jitsi-web (or not at all)."""
        host = getattr(self._sni, "name", "")
        request = _read_request(tls)
        found = route(self.state, host) if host else None
        healthy = found.healthy if found is not None else _direct_healthy(self.state, host)
        if request is None or not healthy:
            log.info("https %s: no healthy target, connection closed", host)
            return
        status = self.state.web_status
        if status == 200:
            body = index_html(host).encode()
        else:
            phrase = HTTPStatus(status).phrase
            body = (
                f"<html>\r\n<head><title>{status} {phrase}</title></head>\r\n<body>\r\n"
                f"<center><h1>{status} {phrase}</h1></center>\r\n<hr><center>nginx</center>\r\n"
                "</body>\r\n</html>\r\n"
            ).encode()
        head = (
            f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\nServer: nginx\r\n"
            f"Content-Type: text/html; charset=utf-8\r\nContent-Length: {len(body)}\r\n"
            "Strict-Transport-Security: max-age=31536000\r\nConnection: close\r\n\r\n"
        )
        tls.sendall(head.encode() + body)


def _direct_healthy(state: EmulatorState, host: str) -> bool:
    direct = direct_front.route(state, host) if host else None
    return direct is not None and direct.healthy


def _read_request(tls: ssl.SSLSocket) -> bytes | None:
    data = b""
    try:
        while b"\r\n\r\n" not in data and len(data) < _MAX_REQUEST:
            chunk = tls.recv(4096)
            if not chunk:
                return None
            data += chunk
    except (OSError, ssl.SSLError):
        return None
    return data
