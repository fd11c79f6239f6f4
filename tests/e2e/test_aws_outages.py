"""AWS trouble end to end: throttled polls, a rollback that cannot finish, a hung endpoint.

The worker and the CLI are real subprocesses; AWS is the emulator with its fault
injection (``/_emulator/faults``), or a TCP server that accepts and never answers."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import redis

from bot.events import Notice
from infra.keys import Keys
from tests.e2e.conftest import Platform, control
from tests.support.services import wait_for

pytestmark = pytest.mark.e2e


def _step_finished(r: redis.Redis, keys: Keys, step: str) -> bool:
    job = r.hget(keys.platform, "job_id")
    if not job:
        return False
    return any(
        f'"step":"{step}"'.encode() in f[b"event"] and b"step_finished" in f[b"event"]
        for _, f in r.xrange(keys.job_events(job.decode()))
    )


def test_throttled_target_health_polls_do_not_fail_the_start(
    platform: Platform, redis_url: str
) -> None:
    # Once: six throttled DescribeTargetHealth calls in 10.6 s rolled the start back.
    platform.start_worker()
    r = redis.Redis.from_url(redis_url)
    keys = Keys(platform.settings.project_name)
    follower = platform.say_async("start")
    try:
        wait_for(lambda: _step_finished(r, keys, "register"), 60, "the task to be registered")
        # 8 polls' worth: each call is 3 botocore attempts, all throttled.
        control(
            platform.emulator,
            "faults",
            {"throttle": {"operation": "DescribeTargetHealth", "count": 24}},
        )
        out, err = follower.communicate(timeout=120)
    finally:
        control(platform.emulator, "faults", {"clear": True})
    assert follower.returncode == 0, out + err + platform.worker_log()
    lines = [json.loads(x) for x in out.splitlines() if x.startswith("{")]
    assert any(x.get("kind") == "url_ready" for x in lines)
    waits = [x.get("message", "") for x in lines if x.get("kind") == "waiting"]
    assert any("AWS is not answering yet" in w and "throttling" in w for w in waits), waits
    assert platform.say("stop").code == 0


def _notices(r: redis.Redis, keys: Keys) -> list[Notice]:
    rows = r.xrange(keys.notices)
    return [Notice.from_fields({k.decode(): v.decode() for k, v in f.items()}) for _, f in rows]


def test_a_rollback_that_cannot_finish_is_cleaned_by_the_fast_reconciler(
    platform: Platform, redis_url: str
) -> None:
    fast = 2.0
    platform.env.update(
        {
            "JITSI_RECONCILE_INTERVAL_SECONDS": "300",
            "JITSI_RECONCILE_FAST_INTERVAL_SECONDS": str(fast),
            "JITSI_TEARDOWN_RETRY_SECONDS": "3",
        }
    )
    platform.start_worker()
    r = redis.Redis.from_url(redis_url)
    keys = Keys(platform.settings.project_name)
    control(platform.emulator, "targets", {"mode": "unhealthy"})  # the start fails
    # The rollback cannot delete the NLB: AWS answers 503 to every attempt.
    control(
        platform.emulator,
        "faults",
        {
            "permanent": {
                "operation": "DeleteLoadBalancer",
                "code": "ServiceUnavailable",
                "status": 503,
                "count": 100000,
            }
        },
    )
    try:
        result = platform.say("start")
    finally:
        control(platform.emulator, "targets", {"mode": "auto"})
    try:
        assert result.code == 1
        text = result.stdout + result.stderr
        assert "Traceback" not in text and "crashed" not in text
        finished = [x for x in result.lines if x.get("kind") == "finished"][-1]
        assert "rollback could not finish" in finished["message"]
        audit = result.events("audit")[-1]
        assert audit["data"]["clean"] is False and audit["data"]["per_hour"] > 0
        for line in result.lines:
            assert ".." not in str(line.get("message", "")).replace("…", "")
        leftovers = [n for n in _notices(r, keys) if n.data.get("repair") == "leftovers"]
        assert len(leftovers) == 1 and "per hour" in leftovers[0].text
        # Failed, or already being stopped again by the fast reconciler.
        assert r.hget(keys.platform, "state") in (b"failed", b"stopping")
    finally:
        control(platform.emulator, "faults", {"clear": True})

    # AWS answers again: within two fast intervals (plus the run itself) all is gone.
    began = time.monotonic()
    wait_for(lambda: platform.cli("infra", "audit").code == 0, 60, "a clean audit")
    wait_for(lambda: r.hget(keys.platform, "state") == b"stopped", 30, "the stopped state")
    took = time.monotonic() - began
    assert took < 2 * fast + 20, took  # the run itself: the teardown's waits
    notices = _notices(r, keys)
    assert len([n for n in notices if n.data.get("repair") == "leftovers"]) == 1
    wait_for(
        lambda: any(n.data.get("repair") == "leftovers-gone" for n in _notices(r, keys)),
        30,
        "the all-clear",
    )
    assert "Traceback" not in platform.worker_log()


@pytest.fixture
def hung_endpoint() -> Iterator[str]:
    """A TCP server that accepts every connection and never answers."""
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
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join(timeout=5)
    for conn in held:
        conn.close()
    server.close()


@pytest.mark.parametrize("as_json", [False, True])
def test_status_answers_within_10_s_when_aws_hangs(
    platform: Platform, hung_endpoint: str, as_json: bool
) -> None:
    began = time.monotonic()
    args = ("status", "--json") if as_json else ("status",)
    result = platform.cli(*args, extra_env={"JITSI_AWS_ENDPOINT_URL": hung_endpoint}, timeout=30)
    took = time.monotonic() - began
    assert took < 10, took
    assert result.code == 1
    assert "Traceback" not in result.stderr
    if as_json:
        data = json.loads(result.stdout)
        assert data["actual"] == "unknown" and "did not answer" in data["aws_error"]
        assert data["desired"] == "stopped"
    else:
        assert "AWS did not answer" in result.stderr
        assert "desired stopped" in result.stdout


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


def _step_started(r: redis.Redis, keys: Keys, step: str) -> bool:
    job = r.hget(keys.platform, "job_id")
    if not job:
        return False
    return any(
        f'"step":"{step}"'.encode() in f[b"event"] and b"step_started" in f[b"event"]
        for _, f in r.xrange(keys.job_events(job.decode()))
    )


def test_aws_unreachable_during_a_rollback_then_back(platform: Platform, redis_url: str) -> None:
    """The issue's case: the start fails, its rollback cannot reach AWS (connections
    refused), and nothing may keep billing once AWS is back."""
    fast = 3.0
    endpoint = SwitchableEndpoint(platform.emulator)
    platform.env.update(
        {
            "JITSI_AWS_ENDPOINT_URL": endpoint.url,
            "JITSI_START_TIMEOUT_SECONDS": "6",
            "JITSI_RECONCILE_INTERVAL_SECONDS": "300",
            "JITSI_RECONCILE_FAST_INTERVAL_SECONDS": str(fast),
            "JITSI_TEARDOWN_RETRY_SECONDS": "2",
        }
    )
    platform.start_worker()
    r = redis.Redis.from_url(redis_url)
    keys = Keys(platform.settings.project_name)
    follower = platform.say_async("start")
    try:
        wait_for(lambda: _step_started(r, keys, "healthy"), 60, "the health wait")
        endpoint.down()  # AWS unreachable: the wait times out, the rollback cannot run
        out, err = follower.communicate(timeout=120)
        assert follower.returncode == 1, out + err
        assert "Traceback" not in out + err and "crashed" not in out
        lines = [json.loads(x) for x in out.splitlines() if x.startswith("{")]
        finished = [x for x in lines if x.get("kind") == "finished"][-1]
        assert "rollback could not finish" in finished["message"]
        audit = [x for x in lines if x.get("kind") == "audit"][-1]
        assert audit["data"]["clean"] is False and audit["data"]["per_hour"] > 0.2
        assert "could not be reached" in audit["message"]
        for line in lines:
            assert ".." not in str(line.get("message", "")).replace("…", "")
        wait_for(
            lambda: [n for n in _notices(r, keys) if n.data.get("repair") == "leftovers"],
            30,
            "the leftover notice",
        )
        # Two more fast runs fail while AWS stays away: still one notice.
        seen: set[bytes] = set()

        def chain_moved_on() -> bool:
            current = r.get(keys.reconcile_scheduled)
            if current:
                seen.add(current)
            return len(seen) >= 3

        wait_for(chain_moved_on, 60, "two reconcile runs during the outage", step=0.2)
    finally:
        endpoint.up()
    began = time.monotonic()
    audit_ok = Platform(
        {**platform.env, "JITSI_AWS_ENDPOINT_URL": platform.emulator},
        platform.settings,
        platform.emulator,
        platform.tmp,
    )
    wait_for(lambda: audit_ok.cli("infra", "audit").code == 0, 90, "a clean audit")
    wait_for(lambda: r.hget(keys.platform, "state") == b"stopped", 30, "the stopped state")
    took = time.monotonic() - began
    # Within two fast intervals, plus the audit CLI's own start (2-3 s here).
    assert took < 2 * fast + 5, took
    notices = _notices(r, keys)
    leftovers = [n for n in notices if n.data.get("repair") == "leftovers"]
    assert len(leftovers) == 1, [n.text for n in notices]
    assert "not answering" in leftovers[0].text and "$0.235 per hour" in leftovers[0].text
    assert "Traceback" not in platform.worker_log()
