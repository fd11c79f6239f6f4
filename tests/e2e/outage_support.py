"""What the outage tests (test_outages.py, test_aws_outages.py) and bench/outages.py
share: the platform's Redis read as they read it, a Redis outage of a set length, the
AWS faults they inject, and two endpoints that stand for an AWS in trouble."""

from __future__ import annotations

import contextlib
import json
import os
import select
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import redis

from bot.events import Notice
from infra.keys import Keys
from tests.support.services import RestartableRedis, wait_for

DELETE_NLB_UNAVAILABLE: dict[str, Any] = {
    "permanent": {
        "operation": "DeleteLoadBalancer",
        "code": "ServiceUnavailable",
        "status": 503,
        "count": 100000,
    }
}
"""An emulator fault: every DeleteLoadBalancer answers 503, so no rollback finishes."""


def throttled(operation: str, count: int) -> dict[str, Any]:
    """An emulator fault: the next ``count`` calls of ``operation`` are throttled
    (botocore tries each call 3 times)."""
    return {"throttle": {"operation": operation, "count": count}}


def fast_reconcile_env(fast: float, teardown_retry: float) -> dict[str, str]:
    """A worker whose slow reconcile never comes in a test's time, whose fast one runs
    every ``fast`` seconds while leftovers bill, and whose teardown retries after
    ``teardown_retry`` seconds."""
    return {
        "JITSI_RECONCILE_INTERVAL_SECONDS": "300",
        "JITSI_RECONCILE_FAST_INTERVAL_SECONDS": str(fast),
        "JITSI_TEARDOWN_RETRY_SECONDS": str(teardown_retry),
    }


def outage_client(url: str) -> redis.Redis:
    """A client that tries once per call: an outage must read as an outage at once."""
    return redis.Redis.from_url(url, socket_connect_timeout=1, retry=None)


@dataclass
class PlatformRedis:
    """What the bot keeps in Redis about one platform, decoded."""

    r: redis.Redis
    keys: Keys

    def state(self) -> str | None:
        v = self.r.hget(self.keys.platform, "state")
        return v.decode() if v else None

    def job(self) -> str | None:
        v = self.r.hget(self.keys.platform, "job_id")
        return v.decode() if v else None

    def events(self, job_id: str) -> list[dict[str, Any]]:
        return [json.loads(f[b"event"]) for _, f in self.r.xrange(self.keys.job_events(job_id))]

    def step_seen(self, step: str, kind: str = "step_started") -> str | None:
        """The current job's id once its ``step`` has an event of ``kind``."""
        job = self.job()
        if job and any(e.get("step") == step and e.get("kind") == kind for e in self.events(job)):
            return job
        return None

    def running_step(self, job_id: str) -> str | None:
        """The step the job was in the middle of, if any."""
        started: list[str] = []
        for e in self.events(job_id):
            if e.get("kind") == "step_started":
                started.append(str(e["step"]))
            elif e.get("kind") == "step_finished" and e.get("step") in started:
                started.remove(str(e["step"]))
        return started[-1] if started else None

    def notices(self, repair: str | None = None) -> list[Notice]:
        """The notices stream (those of ``repair`` only, when given)."""
        rows = self.r.xrange(self.keys.notices)
        found = [
            Notice.from_fields({k.decode(): v.decode() for k, v in f.items()}) for _, f in rows
        ]
        return [n for n in found if repair is None or n.data.get("repair") == repair]


def redis_away(server: RestartableRedis, seconds: float, worker: subprocess.Popen[bytes]) -> bool:
    """Redis stopped for ``seconds`` (the stimulus under test, so its one deliberate
    length; the wait ends early if the worker exits), then started again. Whether the
    worker lived through it."""
    server.stop()
    ends = time.monotonic() + seconds
    wait_for(
        lambda: worker.poll() is not None or time.monotonic() >= ends,
        seconds + 5,
        "the outage to last its length",
    )
    alive = worker.poll() is None
    server.start()
    return alive


def say_reply(say: subprocess.Popen[str], timeout: float) -> dict[str, Any]:
    """The first line a `say --json` prints: its reply, after the command went through
    (queued, audited); it follows the job after that. Waits up to ``timeout`` s; ``{}``
    when it exited without one. Read from the pipe a byte at a time, so that nothing
    after the line is buffered here and lost to a later ``communicate()``."""
    assert say.stdout is not None
    fd, line = say.stdout.fileno(), b""
    deadline = time.monotonic() + timeout
    while not line.endswith(b"\n"):
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            raise TimeoutError(f"`say` printed no reply in {timeout} s: {line!r}")
        byte = os.read(fd, 1)
        if not byte:
            break  # it exited
        line += byte
    return dict(json.loads(line or b"{}"))


def json_lines(out: str) -> list[dict[str, Any]]:
    """The JSON lines `say --json` printed."""
    return [json.loads(x) for x in out.splitlines() if x.startswith("{") and x.endswith("}")]


def doubled_dots(lines: list[dict[str, Any]]) -> list[str]:
    """Messages with ".." in them (an ellipsis aside): a sentence glued to a cut one."""
    messages = [str(line.get("message", "")) for line in lines]
    return [m for m in messages if ".." in m.replace("…", "")]


@contextlib.contextmanager
def hung_endpoint() -> Iterator[str]:
    """A TCP server that accepts every connection and never answers; yields its URL."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            held.append(conn)  # kept open, never read from or written to

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(timeout=5)
        for conn in held:
            conn.close()
        server.close()


class SwitchableEndpoint:
    """A TCP forwarder to the emulator that can be switched off (connections refused,
    open ones cut) and on again on the same port: AWS unreachable, then reachable."""

    def __init__(self, target: str) -> None:
        host, port = target.removeprefix("http://").split(":")
        self.target = (host, int(port))
        self._lock = threading.Lock()
        self._conns: list[socket.socket] = []
        self._server: socket.socket | None = None
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self.url = f"http://127.0.0.1:{self.port}"
        self.up()

    def up(self) -> None:
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", self.port))
        server.listen(64)
        self._server = server
        threading.Thread(target=self._accept, args=(server,), daemon=True).start()

    def down(self) -> None:
        with self._lock:
            if self._server is not None:
                self._server.close()
                self._server = None
            for conn in self._conns:
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
                conn.close()
            self._conns.clear()

    def _accept(self, server: socket.socket) -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:
                return  # switched off
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._conns += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                dst.sendall(data)
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)
