"""The Jitsi task's stats sidecar, run for real: its shell command from the rendered task
definition, under busybox (the applets the image has) or the host's sh, against a local
HTTP server standing in for Jicofo's /stats and the ECS task metadata endpoint v4.

``ecs_metadata/container_stats.json`` has the shape of Docker's ContainerStats as
``${ECS_CONTAINER_METADATA_URI_V4}/stats`` returns it on Fargate (AWS, Amazon ECS
developer guide, task-metadata-endpoint-v4-fargate-examples.html, "Example task stats
response", read 2026-11-30: ``networks`` -> ``eth1`` -> cumulative ``rx_bytes`` /
``tx_bytes``, ``network_rate_stats`` per second), with numbers of our own; the server
swaps in the counters a test scripts, one reading per request.
"""

from __future__ import annotations

import json
import os
import queue
import shutil
import subprocess
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from copy import deepcopy
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from infra.jitsi.spec import TaskInputs, container_definitions

STATS_FILE = Path(__file__).with_name("ecs_metadata") / "container_stats.json"
APPLETS = ("sh", "wget", "sed", "date", "sleep")  # all the command may use

# The command before the sidecar read the network counters (Participants only).
PARTICIPANTS_ONLY = (
    "while true; do sleep 60; n=$(wget -q -O - http://127.0.0.1:8888/stats 2>/dev/null | sed -n "
    '\'s/.*"participants": *\\([0-9][0-9]*\\).*/\\1/p\'); [ -n "$n" ] && echo '
    '\'{"_aws":{"Timestamp":\'$(date +%s)\'000,"CloudWatchMetrics":[{"Namespace":'
    '"JitsiChatops","Dimensions":[["Project"]],"Metrics":[{"Name":"Participants",'
    '"Unit":"Count"}]}]},"Project":"p","Participants":\'$n\'}\'; done'
)

# A reading the endpoint answers: cumulative (rx, tx) counters, or a failure.
Reading = tuple[int, int] | str  # "500": HTTP 500; "garbage": not JSON; "empty": no networks


@dataclass
class Endpoints:
    """What the local server answers; ``readings`` are served in order, the last repeated."""

    readings: list[Reading]
    participants: int | None = 3
    pretty: bool = True  # the AWS example is indented; a live endpoint may not be
    iface: str = "eth1"
    served: list[Reading] = field(default_factory=list)

    def next_reading(self) -> Reading:
        reading = self.readings[min(len(self.served), len(self.readings) - 1)]
        self.served.append(reading)
        return reading


def rendered(project: str) -> dict[str, Any]:
    """The sidecar's container definition as both drivers render it for ``project``."""
    arn = "arn:aws:ssm:us-east-1:123456789012:parameter/p"
    inputs = TaskInputs(
        project=project,
        region="us-east-1",
        public_url="https://meet.example.com",
        log_group=f"/ecs/{project}",
        task_memory=8192,
        advertise_ips_arn=f"{arn}/jvb/advertise-ips",
        jicofo_password_arn=f"{arn}/xmpp/jicofo-auth-password",
        jvb_password_arn=f"{arn}/xmpp/jvb-auth-password",
    )
    return next(c for c in container_definitions(inputs) if c["name"] == "participants")


def environment(container: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container["environment"]}


def shell_path(tmp: Path) -> str:
    """busybox's applets when busybox is here, else the host's sh, wget and sed."""
    folder = busybox_bin(tmp)
    return str(folder) if folder is not None else "/usr/bin:/bin"


def container_stats(rx: int, tx: int, iface: str = "eth1") -> dict[str, Any]:
    doc: dict[str, Any] = deepcopy(json.loads(STATS_FILE.read_text()))
    counters = doc["networks"].pop("eth1")
    counters.update(rx_bytes=rx, tx_bytes=tx)
    doc["networks"][iface] = counters
    return doc


@contextmanager
def serving(endpoints: Endpoints) -> Iterator[str]:
    """A loopback server: ``/jicofo/stats`` and ``/v4/<id>/stats``; yields its base URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/jicofo/stats":
                if endpoints.participants is None:
                    return self._send(503, "jicofo is not up")
                body = {"conferences": 1, "participants": endpoints.participants}
                return self._send(200, json.dumps(body))
            if self.path == "/v4/task-1/stats":
                reading = endpoints.next_reading()
                if reading == "500":
                    return self._send(500, "internal error")
                if reading == "garbage":
                    return self._send(200, "<html>not stats</html>")
                if reading == "empty":
                    return self._send(200, json.dumps({"networks": {}}))
                assert isinstance(reading, tuple)
                doc = container_stats(*reading, iface=endpoints.iface)
                return self._send(200, json.dumps(doc, indent=4 if endpoints.pretty else None))
            self._send(404, "not found")

        def _send(self, code: int, body: str) -> None:
            data = body.encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def busybox_bin(tmp: Path) -> Path | None:
    """A folder holding only busybox's applets the command may use (None: no busybox)."""
    busybox = shutil.which("busybox")
    if busybox is None:
        return None
    folder = tmp / "busybox-bin"
    folder.mkdir(exist_ok=True)
    for applet in APPLETS:
        link = folder / applet
        if not link.exists():
            link.symlink_to(busybox)
    return folder


def run(
    command: Sequence[str],
    environment: dict[str, str],
    *,
    path: str,
    base_url: str,
    lines: int,
    metadata: bool = True,
    timeout: float = 20.0,
) -> list[str]:
    """Run the sidecar's ``command`` (``["sh", "-c", script]``) with the container's
    ``environment``, a zero interval and the local endpoints, until it has printed
    ``lines`` lines; then stop it. ``metadata=False``: no ECS_CONTAINER_METADATA_URI_V4,
    as off Fargate."""
    env = {
        **environment,
        "PATH": path,
        "STATS_INTERVAL": "0",  # one reading after another: the test waits on lines
        "JICOFO_STATS_URL": f"{base_url}/jicofo/stats",
    }
    if metadata:
        env["ECS_CONTAINER_METADATA_URI_V4"] = f"{base_url}/v4/task-1"
    shell = shutil.which(command[0], path=path)
    assert shell is not None, f"no {command[0]} on {path}"
    proc = subprocess.Popen(
        [shell, *command[1:]],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=os.sep,
    )
    out: queue.Queue[str | None] = queue.Queue()

    def pump() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            out.put(line.rstrip("\n"))
        out.put(None)

    threading.Thread(target=pump, daemon=True).start()
    got: list[str] = []
    try:
        while len(got) < lines:
            line = out.get(timeout=timeout)
            if line is None:
                err = proc.stderr.read() if proc.stderr else ""
                raise AssertionError(f"the sidecar exited ({proc.wait()}): {err}")
            got.append(line)
    finally:
        proc.kill()
        proc.wait()
    return got
