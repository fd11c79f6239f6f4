"""The stored certificate as browsers meet it: the readiness probe, trusting Pebble's
root, validates it when presented by an HTTPS server (the web container's nginx here);
and ``jitsi-bot infra certificate`` issues once, then only says when it expires."""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from bot.config import Settings
from infra.acme_cert import AcmeIssuer, Route53Challenge
from infra.aws.session import AwsClients
from infra.jitsi_web import INDEX_HTML
from infra.probe import HttpsProbe
from infra.tls_store import CertificateManager, SsmTlsStore
from tests.support.services import ROOT


class _Page(BaseHTTPRequestHandler):
    domain = ""

    def do_GET(self) -> None:
        body = INDEX_HTML.replace("{domain}", self.domain).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_args: object) -> None:
        pass


@contextmanager
def https_server(folder: Path, fullchain: str, privkey: str, domain: str) -> Iterator[str]:
    """Serves the Jitsi page with ``fullchain``/``privkey``, as nginx does from
    /config/keys; yields host:port."""
    (folder / "cert.crt").write_text(fullchain)
    (folder / "cert.key").write_text(privkey)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(folder / "cert.crt", folder / "cert.key")
    handler = type("Page", (_Page,), {"domain": domain})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_the_probe_validates_the_stored_certificate(
    settings: Settings, root_ca: Path, tmp_path: Path
) -> None:
    clients = AwsClients(settings)
    store = SsmTlsStore(settings, clients)
    CertificateManager(
        settings, store, AcmeIssuer(settings, Route53Challenge(settings, clients))
    ).ensure()
    fullchain, privkey = store.get("fullchain"), store.get("privkey")
    assert fullchain and privkey
    with https_server(tmp_path, fullchain, privkey, settings.domain) as address:
        trusted = settings.model_copy(
            update={"https_check_ca_file": str(root_ca), "https_check_connect_to": address}
        )
        result = HttpsProbe(trusted).check(settings.meeting_base_url)
        assert result.ok, result.detail
        assert "certificate valid until" in result.detail
        # Without Pebble's root the same certificate is not trusted: the check is real.
        untrusted = settings.model_copy(update={"https_check_connect_to": address})
        result = HttpsProbe(untrusted).check(settings.meeting_base_url)
        assert not result.ok and "not trusted" in result.detail


def _cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JITSI_")}
    env.update(
        JITSI_PROJECT_NAME=settings.project_name,
        JITSI_DOMAIN=settings.domain,
        JITSI_AWS_ENDPOINT_URL=settings.aws_endpoint_url or "",
        JITSI_HOSTED_ZONE_ID=settings.hosted_zone_id or "",
        **{
            f"JITSI_ACME_{key.upper()}": str(value)
            for key, value in settings.acme.model_dump().items()
            if value is not None
        },
        JITSI_TLS_RENEW_DAYS=str(settings.tls_renew_days),
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
    )
    return subprocess.run(
        [sys.executable, "-m", "adapters.cli", "infra", "certificate", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_issues_once_then_says_when_it_expires(settings: Settings) -> None:
    calm = settings.model_copy(update={"tls_renew_days": 10})  # 20-day certificates
    first = _cli(calm, "--json")
    assert first.returncode == 0, first.stderr
    issued = json.loads(first.stdout)
    assert issued["action"] == "issued" and issued["state"] == "valid"
    again = _cli(calm)
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith(f"Kept the certificate for {settings.domain}: valid until")
    assert "the worker renews it from" in again.stdout
    forced = json.loads(_cli(calm, "--renew", "--json").stdout)
    assert forced["action"] == "renewed" and forced["not_after"] >= issued["not_after"]


def test_cli_without_a_hosted_zone_says_what_is_missing(settings: Settings) -> None:
    done = _cli(settings.model_copy(update={"hosted_zone_id": None}))
    assert done.returncode == 1
    assert "hosted_zone_id is not set" in done.stderr
