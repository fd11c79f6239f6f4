"""AWS trouble end to end: throttled polls, a rollback that cannot finish, a hung endpoint.

The worker and the CLI are real subprocesses; AWS is the emulator with its fault
injection (``/_emulator/faults``), or a TCP server that accepts and never answers."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator

import pytest

from infra.keys import Keys
from tests.e2e.conftest import Platform
from tests.e2e.outage_support import (
    DELETE_NLB_UNAVAILABLE,
    PlatformRedis,
    SwitchableEndpoint,
    doubled_dots,
    fast_reconcile_env,
    hung_endpoint,
    json_lines,
    outage_client,
    throttled,
)
from tests.support.services import control, wait_for

pytestmark = pytest.mark.e2e


def _view(p: Platform, redis_url: str) -> PlatformRedis:
    return PlatformRedis(outage_client(redis_url), Keys(p.settings.project_name))


def test_throttled_target_health_polls_do_not_fail_the_start(
    platform: Platform, redis_url: str
) -> None:
    # Once: six throttled DescribeTargetHealth calls in 10.6 s rolled the start back.
    platform.start_worker()
    view = _view(platform, redis_url)
    follower = platform.say_async("start")
    try:
        wait_for(
            lambda: view.step_seen("register", "step_finished"), 60, "the task to be registered"
        )
        # 8 polls' worth: each call is 3 botocore attempts, all throttled.
        control(platform.emulator, "faults", throttled("DescribeTargetHealth", 24))
        out, err = follower.communicate(timeout=120)
    finally:
        control(platform.emulator, "faults", {"clear": True})
    assert follower.returncode == 0, out + err + platform.worker_log()
    lines = json_lines(out)
    assert any(x.get("kind") == "url_ready" for x in lines)
    waits = [x.get("message", "") for x in lines if x.get("kind") == "waiting"]
    assert any("AWS is not answering yet" in w and "throttling" in w for w in waits), waits
    assert platform.say("stop").code == 0


def test_a_rollback_that_cannot_finish_is_cleaned_by_the_fast_reconciler(
    platform: Platform, redis_url: str
) -> None:
    fast = 2.0
    platform.env.update(fast_reconcile_env(fast, teardown_retry=3))
    platform.start_worker()
    view = _view(platform, redis_url)
    control(platform.emulator, "targets", {"mode": "unhealthy"})  # the start fails
    # The rollback cannot delete the NLB: AWS answers 503 to every attempt.
    control(platform.emulator, "faults", DELETE_NLB_UNAVAILABLE)
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
        assert not doubled_dots(result.lines)
        leftovers = view.notices("leftovers")
        assert len(leftovers) == 1 and "per hour" in leftovers[0].text
        # Failed, or already being stopped again by the fast reconciler.
        assert view.state() in ("failed", "stopping")
    finally:
        control(platform.emulator, "faults", {"clear": True})

    # AWS answers again: within two fast intervals (plus the run itself) all is gone.
    began = time.monotonic()
    wait_for(lambda: platform.cli("infra", "audit").code == 0, 60, "a clean audit")
    wait_for(lambda: view.state() == "stopped", 30, "the stopped state")
    took = time.monotonic() - began
    assert took < 2 * fast + 20, took  # the run itself: the teardown's waits
    assert len(view.notices("leftovers")) == 1
    wait_for(lambda: view.notices("leftovers-gone"), 30, "the all-clear")
    assert "Traceback" not in platform.worker_log()


@pytest.fixture(name="hung_endpoint")
def hung_endpoint_url() -> Iterator[str]:
    with hung_endpoint() as url:
        yield url


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


def test_aws_unreachable_during_a_rollback_then_back(platform: Platform, redis_url: str) -> None:
    """The issue's case: the start fails, its rollback cannot reach AWS (connections
    refused), and nothing may keep billing once AWS is back."""
    fast = 3.0
    endpoint = SwitchableEndpoint(platform.emulator)
    platform.env.update(
        {
            "JITSI_AWS_ENDPOINT_URL": endpoint.url,
            "JITSI_START_TIMEOUT_SECONDS": "6",
            **fast_reconcile_env(fast, teardown_retry=2),
        }
    )
    platform.start_worker()
    view = _view(platform, redis_url)
    r, keys = view.r, view.keys
    follower = platform.say_async("start")
    try:
        wait_for(lambda: view.step_seen("healthy"), 60, "the health wait")
        endpoint.down()  # AWS unreachable: the wait times out, the rollback cannot run
        out, err = follower.communicate(timeout=120)
        assert follower.returncode == 1, out + err
        assert "Traceback" not in out + err and "crashed" not in out
        lines = json_lines(out)
        finished = [x for x in lines if x.get("kind") == "finished"][-1]
        assert "rollback could not finish" in finished["message"]
        audit = [x for x in lines if x.get("kind") == "audit"][-1]
        assert audit["data"]["clean"] is False and audit["data"]["per_hour"] > 0.2
        assert "could not be reached" in audit["message"]
        assert not doubled_dots(lines)
        wait_for(lambda: view.notices("leftovers"), 30, "the leftover notice")
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
    wait_for(lambda: view.state() == "stopped", 30, "the stopped state")
    took = time.monotonic() - began
    # Within two fast intervals, plus the audit CLI's own start (2-3 s here).
    assert took < 2 * fast + 5, took
    leftovers = view.notices("leftovers")
    assert len(leftovers) == 1, [n.text for n in view.notices()]
    assert "not answering" in leftovers[0].text and "$0.235 per hour" in leftovers[0].text
    assert "Traceback" not in platform.worker_log()
