"""AWS trouble end to end: throttled polls, a rollback that cannot finish, a hung endpoint.

The worker and the CLI are real subprocesses; AWS is the emulator with its fault
injection (``/_emulator/faults``), or a TCP server that accepts and never answers."""

from __future__ import annotations

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
