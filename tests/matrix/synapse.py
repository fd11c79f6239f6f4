"""A real Synapse homeserver on loopback for the Matrix tests, and a tiny client.

The homeserver runs as a subprocess of the venv's ``synapse.app.homeserver``
with SQLite, no federation and a generated signing key; users are registered
through the shared-secret admin API. The client is plain HTTP (urllib): the
test users must not share code with the bot they are testing.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.support import services

SERVER_NAME = "synapse.test"
SHARED_SECRET = "test-registration-secret"


class MatrixHTTPError(Exception):
    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(f"HTTP {status}: {body}")
        self.status = status
        self.body = body


def request(
    base: str,
    method: str,
    path: str,
    body: dict[str, Any] | None = None,
    token: str | None = None,
    timeout: float = 10,
) -> dict[str, Any]:
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + path, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return json.loads(resp.read() or b"{}")  # type: ignore[no-any-return]
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        try:
            parsed = json.loads(raw)
        except ValueError:
            parsed = {"raw": raw.decode(errors="replace")}
        raise MatrixHTTPError(exc.code, parsed) from None


def _config(tmp: Path, port: int) -> str:
    log_config = tmp / "log.yaml"
    log_config.write_text(
        "version: 1\n"
        "formatters: {plain: {format: '%(asctime)s %(name)s %(levelname)s %(message)s'}}\n"
        "handlers: {file: {class: logging.FileHandler, formatter: plain, "
        f"filename: {tmp / 'homeserver.log'}}}}}\n"
        "root: {level: WARNING, handlers: [file]}\n"
        "disable_existing_loggers: false\n"
    )
    relaxed = {"per_second": 1000, "burst_count": 1000}
    config = {
        "server_name": SERVER_NAME,
        "pid_file": str(tmp / "homeserver.pid"),
        "listeners": [
            {
                "port": port,
                "bind_addresses": ["127.0.0.1"],
                "type": "http",
                "tls": False,
                "x_forwarded": False,
                "resources": [{"names": ["client"], "compress": False}],
            }
        ],
        "database": {"name": "sqlite3", "args": {"database": str(tmp / "homeserver.db")}},
        "log_config": str(log_config),
        "media_store_path": str(tmp / "media"),
        "signing_key_path": str(tmp / "signing.key"),
        "registration_shared_secret": SHARED_SECRET,
        "enable_registration": False,
        "report_stats": False,
        "trusted_key_servers": [],
        "suppress_key_server_warning": True,
        "federation_domain_whitelist": [],
        "bcrypt_rounds": 4,
        "default_room_version": "12",
        "enable_metrics": False,
        "url_preview_enabled": False,
        # Relaxed for the session; a test wanting real limits overrides them per
        # user through the admin API (POST .../override_ratelimit).
        "rc_message": relaxed,
        "rc_login": {"address": relaxed, "account": relaxed, "failed_attempts": relaxed},
        "rc_joins": {"local": relaxed, "remote": relaxed},
        "rc_invites": {"per_room": relaxed, "per_user": relaxed, "per_issuer": relaxed},
        "rc_registration": relaxed,
        "rc_admin_redaction": relaxed,
        "rc_room_creation": relaxed,
        "rc_key_requests": relaxed,
        # Small enough that a test can use up a user's day (and see an upload refused
        # for real), large enough for every chart the other tests post.
        "media_upload_limits": [{"time_period": "1d", "max_size": "2M"}],
    }
    path = tmp / "homeserver.yaml"
    path.write_text(json.dumps(config, indent=1))  # JSON is YAML
    return str(path)


def _signing_key(tmp: Path) -> None:
    from signedjson.key import generate_signing_key, write_signing_keys

    with open(tmp / "signing.key", "w") as fh:
        write_signing_keys(fh, [generate_signing_key("a_test")])


@dataclass
class Synapse:
    """The running homeserver: its URL, and stop/start for the restart test."""

    tmp: Path
    port: int
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60) -> None:
        log = open(self.tmp / "stdout.log", "ab")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "synapse.app.homeserver",
                "--config-path",
                str(self.tmp / "homeserver.yaml"),
            ],
            cwd=self.tmp,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        services.wait_for(self._ready, timeout, "Synapse /_matrix/client/versions")

    def _ready(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise RuntimeError(f"Synapse exited: see {self.tmp / 'homeserver.log'}")
        return "versions" in request(self.url, "GET", "/_matrix/client/versions", timeout=1)

    def stop(self) -> None:
        if self.proc is not None:
            services.stop_process(self.proc)  # type: ignore[arg-type]
            self.proc = None

    def register(self, localpart: str | None = None, admin: bool = False) -> User:
        """A fresh user through the shared-secret admin API."""
        name = localpart or f"u{uuid.uuid4().hex[:10]}"
        password = uuid.uuid4().hex
        nonce = request(self.url, "GET", "/_synapse/admin/v1/register")["nonce"]
        digest = hmac.new(
            SHARED_SECRET.encode(),
            b"\x00".join(
                p.encode() for p in (nonce, name, password, "admin" if admin else "notadmin")
            ),
            hashlib.sha1,
        ).hexdigest()
        body = request(
            self.url,
            "POST",
            "/_synapse/admin/v1/register",
            {"nonce": nonce, "username": name, "password": password, "admin": admin, "mac": digest},
        )
        return User(self, body["user_id"], body["access_token"], body["device_id"], password)


@dataclass
class User:
    """A test user speaking the Client-Server API over plain HTTP."""

    hs: Synapse
    user_id: str
    token: str
    device_id: str
    password: str

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
        return request(self.hs.url, method, path, body, self.token)

    def create_room(self, **extra: Any) -> str:
        body = {"preset": "private_chat", "room_version": "12", **extra}
        return str(self.call("POST", "/_matrix/client/v3/createRoom", body)["room_id"])

    def invite(self, room_id: str, user_id: str) -> None:
        self.call("POST", f"/_matrix/client/v3/rooms/{q(room_id)}/invite", {"user_id": user_id})

    def join(self, room_id: str) -> None:
        self.call("POST", f"/_matrix/client/v3/join/{q(room_id)}", {})

    def send(self, room_id: str, content: dict[str, Any], kind: str = "m.room.message") -> str:
        txn = uuid.uuid4().hex
        path = f"/_matrix/client/v3/rooms/{q(room_id)}/send/{kind}/{txn}"
        return str(self.call("PUT", path, content)["event_id"])

    def say(self, room_id: str, text: str) -> str:
        return self.send(room_id, {"msgtype": "m.text", "body": text})

    def set_state(self, room_id: str, kind: str, content: dict[str, Any], key: str = "") -> None:
        path = f"/_matrix/client/v3/rooms/{q(room_id)}/state/{kind}/{q(key)}"
        self.call("PUT", path, content)

    def state(self, room_id: str, kind: str, key: str = "") -> dict[str, Any]:
        return self.call("GET", f"/_matrix/client/v3/rooms/{q(room_id)}/state/{kind}/{q(key)}")

    def messages(self, room_id: str, limit: int = 200) -> list[dict[str, Any]]:
        """The room's timeline events, oldest first."""
        path = f"/_matrix/client/v3/rooms/{q(room_id)}/messages?dir=b&limit={limit}"
        return list(reversed(self.call("GET", path)["chunk"]))

    def override_ratelimit(self, user_id: str, per_second: int, burst: int) -> None:
        """Synapse takes whole numbers only (0 = unlimited)."""
        path = f"/_synapse/admin/v1/users/{q(user_id)}/override_ratelimit"
        self.call("POST", path, {"messages_per_second": per_second, "burst_count": burst})


def q(part: str) -> str:
    return urllib.parse.quote(part, safe="")


@contextmanager
def homeserver(tmp: Path) -> Iterator[Synapse]:
    port = services.free_port()
    _config(tmp, port)
    _signing_key(tmp)
    hs = Synapse(tmp, port)
    t0 = time.monotonic()
    hs.start()
    hs.startup_seconds = time.monotonic() - t0  # type: ignore[attr-defined]
    try:
        yield hs
    finally:
        hs.stop()
