"""Real services for the tests: a private redis-server, the AWS emulator, processes.

Each helper starts a real process on a free loopback port and polls it with a
deadline until it answers; nothing sleeps a fixed time.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

from infra.local_redis import free_port, private_redis, stop_process, wait_port

ROOT = Path(__file__).resolve().parents[2]


def _pauses(timeout: float, step: float) -> Iterator[float]:
    """The pauses between a poller's checks until ``timeout`` passes: ``step``,
    growing to a quarter second, so a slow outcome costs few checks."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        yield step
        step = min(step * 1.5, 0.25)


def wait_for(
    predicate: Callable[[], object], timeout: float, what: str, step: float = 0.02
) -> object:
    """Poll ``predicate`` until it returns a truthy value or ``timeout`` passes."""
    last_exc: Exception | None = None
    for pause in _pauses(timeout, step):
        try:
            value = predicate()
            if value:
                return value
        except Exception as exc:  # the service is not up yet
            last_exc = exc
        time.sleep(pause)  # polling interval, not a fixed wait for an outcome
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}: {last_exc!r}")


async def until(
    predicate: Callable[[], object | Awaitable[object]],
    timeout: float,
    what: str,
    step: float = 0.02,
) -> object:
    """``wait_for`` for a test on an event loop: polls ``predicate`` (plain, or a
    coroutine function) without blocking the loop; an exception it raises is the
    test's, not a service still starting, so it propagates at once."""
    for pause in _pauses(timeout, step):
        value = predicate()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        await asyncio.sleep(pause)  # polling interval, not a fixed wait for an outcome
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}")


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


@contextmanager
def redis_server(tmp: Path) -> Iterator[str]:
    """A private redis-server on a free port; yields its URL."""
    with private_redis(tmp) as url:
        yield url


class RestartableRedis:
    """A private redis-server that a test stops and starts again on the same port, with
    its data kept in an append-only file (fsync on every write), as in production."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        workdir.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        argv = [
            "redis-server",
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "yes",
            "--appendfsync",
            "always",
            "--dir",
            str(self.workdir),
            "--loglevel",
            "warning",
        ]
        self.proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_port(self.port, self.proc, "redis-server")

    def stop(self) -> None:
        """SIGTERM: Redis closes every client's connection and exits."""
        if self.proc is not None:
            stop_process(self.proc)
            self.proc = None


@contextmanager
def restartable_redis(workdir: Path) -> Iterator[RestartableRedis]:
    server = RestartableRedis(workdir)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _emulator_ready(url: str) -> bool:
    with urllib.request.urlopen(f"{url}/_emulator/state", timeout=1) as resp:
        return bool(resp.status == 200)


@contextmanager
def emulator(
    profile: str = "instant", time_scale: float = 1.0, log: Path | None = None
) -> Iterator[str]:
    """The project's AWS emulator (moto server + scheduler) as a subprocess; yields its URL."""
    port = free_port()
    env = dict(os.environ, MOTO_IAM_LOAD_MANAGED_POLICIES="true")
    out = open(log, "wb") if log else subprocess.DEVNULL  # noqa: SIM115
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "infra.emulator",
            "--port",
            str(port),
            "--profile",
            profile,
            "--time-scale",
            str(time_scale),
        ],
        cwd=ROOT,
        env=env,
        stdout=out,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: _emulator_ready(url), 60, "the AWS emulator")
        yield url
    finally:
        stop_process(proc)
        if log:
            out.close()  # type: ignore[union-attr]


def control(url: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """The emulator's control API (``/_emulator/<path>``): GET without a body, else
    POST it as JSON; the JSON answer (an empty one reads as ``{}``)."""
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(
        f"{url}/_emulator/{path}", data=data, headers={"Content-Type": "application/json"}
    )
    with urllib.request.urlopen(req, timeout=5) as resp:
        return dict(json.loads(resp.read() or b"{}"))


def https_front(url: str) -> dict[str, str]:
    """The emulator's HTTPS front as the settings name it: ``https_check_connect_to``
    (its host:port) and ``https_check_ca_file`` (the PEM of the CA it signs with)."""

    def known() -> dict[str, str] | None:
        front: dict[str, str] = control(url, "state")["https_front"]
        # The front starts beside the API: right after the emulator answers, it may
        # not have said where it listens yet.
        return front if "address" in front and "ca_file" in front else None

    front = cast("dict[str, str]", wait_for(known, 15, "the emulator's HTTPS front"))
    return {"https_check_connect_to": front["address"], "https_check_ca_file": front["ca_file"]}
