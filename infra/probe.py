"""The readiness check's last step: one HTTPS GET to the meeting URL, as a browser makes it.

SNI and certificate verification use the meeting domain; the certificate must
chain to the system's CAs (or, for the emulator, ``https_check_ca_file``). With
``https_check_connect_to`` the TCP connection goes to that address instead of
the domain's, like curl's ``--connect-to``: the emulator's HTTPS front.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import time
from urllib.parse import urlsplit

from bot.config import Settings
from bot.model import ProbeResult
from infra.jitsi_web import is_jitsi_page

TIMEOUT_SECONDS = 5.0
MAX_BODY = 1 << 20  # the real page is about 30 KB; more than this is not it
_USER_AGENT = "jitsi-chatops-probe/1 (like a browser opening the meeting URL)"


class HttpsProbe:
    """``bot.ports.MeetingProbe`` over the standard library's TLS: never raises."""

    def __init__(self, settings: Settings, timeout: float = TIMEOUT_SECONDS) -> None:
        self.settings = settings
        self.timeout = timeout
        self._context: ssl.SSLContext | None = None

    def _tls_context(self) -> ssl.SSLContext:
        # Made at the first check, not at wiring: a bad CA file is a failed check.
        if self._context is None:
            context = ssl.create_default_context()  # system CAs, hostname check, TLS >= 1.2
            if self.settings.https_check_ca_file:
                context.load_verify_locations(cafile=self.settings.https_check_ca_file)
            self._context = context
        return self._context

    def check(self, url: str) -> ProbeResult:
        parts = urlsplit(url)
        host = parts.hostname or ""
        if parts.scheme != "https" or not host:
            return ProbeResult(False, f"{url!r} is not an https:// URL")
        path = parts.path or "/"
        if parts.query:
            path += f"?{parts.query}"
        address = self._address(host, parts.port or 443)
        try:
            context = self._tls_context()
        except (OSError, ssl.SSLError) as exc:
            ca = self.settings.https_check_ca_file
            return ProbeResult(False, f"https_check_ca_file {ca!r} cannot be used ({exc})")
        try:
            return self._get(context, host, address, path)
        except ssl.SSLCertVerificationError as exc:
            return ProbeResult(False, _certificate_problem(exc, host))
        except ssl.SSLError as exc:
            if exc.reason == "TLSV1_UNRECOGNIZED_NAME":
                return ProbeResult(False, f"nothing serves HTTPS for {host} (unrecognized name)")
            return ProbeResult(False, f"TLS handshake with {host} failed ({exc.reason or exc})")
        except ConnectionRefusedError:
            return ProbeResult(False, f"connection refused ({address[0]}:{address[1]})")
        except socket.gaierror:
            return ProbeResult(False, f"{host} does not resolve")
        except TimeoutError:
            return ProbeResult(False, f"no answer from {host} within {self.timeout:g} s")
        except (ConnectionError, http.client.HTTPException, EOFError):
            return ProbeResult(False, f"{host} closed the connection without an answer")
        except OSError as exc:
            return ProbeResult(False, f"cannot reach {host}: {exc.strerror or exc}")

    def _address(self, host: str, port: int) -> tuple[str, int]:
        if self.settings.https_check_connect_to:
            other, _, other_port = self.settings.https_check_connect_to.rpartition(":")
            return other, int(other_port)
        return host, port

    def _get(
        self, context: ssl.SSLContext, host: str, address: tuple[str, int], path: str
    ) -> ProbeResult:
        deadline = time.monotonic() + self.timeout
        with (
            socket.create_connection(address, timeout=self.timeout) as raw,
            context.wrap_socket(raw, server_hostname=host) as tls,
        ):
            peer = tls.getpeercert() or {}
            not_after = _not_after(str(peer.get("notAfter", "")))
            tls.settimeout(max(deadline - time.monotonic(), 0.1))
            request = (
                f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: {_USER_AGENT}\r\n"
                "Accept: text/html\r\nConnection: close\r\n\r\n"
            )
            tls.sendall(request.encode("ascii"))
            response = http.client.HTTPResponse(tls)
            response.begin()
            body = response.read(MAX_BODY).decode("utf-8", "replace")
        if response.status != 200:
            return ProbeResult(False, f"HTTP {response.status} from {host}")
        if not is_jitsi_page(body):
            return ProbeResult(False, f"HTTP 200 from {host}, but not the Jitsi Meet page")
        return ProbeResult(
            True, f"HTTP 200, the Jitsi Meet page, certificate valid until {not_after}"
        )


def _not_after(text: str) -> str:
    if not text:
        return "an unknown date"
    return time.strftime("%Y-%m-%d", time.gmtime(ssl.cert_time_to_seconds(text)))


def _certificate_problem(exc: ssl.SSLCertVerificationError, host: str) -> str:
    # OpenSSL's X509_V_ERR_* codes: what a browser would show, in words.
    code = exc.verify_code
    if code == 62:  # X509_V_ERR_HOSTNAME_MISMATCH
        return f"certificate not valid for {host}"
    if code in (18, 19, 20, 21):  # self-signed, or no trusted issuer in the chain
        return f"certificate for {host} not trusted (issuer unknown: {exc.verify_message})"
    if code == 10:  # X509_V_ERR_CERT_HAS_EXPIRED
        return f"certificate for {host} has expired"
    return f"certificate for {host} rejected ({exc.verify_message})"
