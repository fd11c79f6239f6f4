"""A private, throw-away redis-server on a free loopback port.

The demo, the benchmarks and the tests each need one that never touches a
shared Redis: no persistence, its own directory, gone when the block ends.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bot.errors import BotError


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_port(port: int, proc: subprocess.Popen[bytes], what: str, timeout: float = 15) -> None:
    """Poll until ``port`` accepts connections; raise if ``proc`` dies or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise BotError(f"{what} exited at start (code {proc.returncode}).")
        with socket.socket() as sock:
            sock.settimeout(0.2)
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.02)  # polling a local port while the server starts
    raise BotError(f"{what} did not start within {timeout:g} s.")


def stop_process(proc: subprocess.Popen[bytes], timeout: float = 10) -> None:
    """SIGTERM, wait up to ``timeout``, then SIGKILL: a local helper process ends."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=timeout)


@contextmanager
def private_redis(workdir: Path | None = None) -> Iterator[str]:
    """Run a redis-server for the duration of the block; yields its URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise BotError(
            "redis-server is not installed.",
            "Install it (apt-get install redis-server); `make demo` and `make test` do.",
        )
    with tempfile.TemporaryDirectory(prefix="jitsi-redis-") as tmp:
        port = free_port()
        argv = [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir or tmp),
            "--loglevel",
            "warning",
        ]
        proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_port(port, proc, "redis-server")
            yield f"redis://127.0.0.1:{port}/0"
        finally:
            stop_process(proc)
