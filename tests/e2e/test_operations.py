"""The operators' view with real processes: `jitsi-bot health` beside a live worker and
serve (and after they are gone, or with Redis unreachable), /metrics scraped from both
after a start and a stop, and JSON log lines."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from infra.local_redis import free_port
from tests.e2e.conftest import Platform
from tests.support import services
from tests.support.certificates import prerequisites
from tests.support.services import control, wait_for

pytestmark = pytest.mark.e2e


def _health(platform: Platform, process: str, **env: str) -> tuple[int, str]:
    res = platform.cli("health", "--process", process, timeout=30, extra_env=env)
    return res.code, res.stdout + res.stderr


def _start_serve(platform: Platform, env: dict[str, str]) -> subprocess.Popen[bytes]:
    """`serve` with no chat adapter: the terminal chat, kept waiting on an open stdin."""
    log = open(platform.tmp / "serve.log", "wb")  # noqa: SIM115
    return subprocess.Popen(
        [sys.executable, "-m", "adapters.cli", "serve"],
        env={**platform.env, **env},
        cwd=services.ROOT,
        stdin=subprocess.PIPE,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


@pytest.fixture
def serve_env() -> dict[str, str]:
    return {"JITSI_METRICS_PORT": str(free_port()), "JITSI_METRICS_HOST": "127.0.0.1"}


@pytest.fixture
def serve(platform: Platform, serve_env: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    proc = _start_serve(platform, serve_env)
    yield proc
    if proc.poll() is None:
        proc.kill()
        proc.wait(timeout=10)


def test_health_follows_the_worker_and_serve_and_redis(
    platform: Platform, serve: subprocess.Popen[bytes]
) -> None:
    assert _health(platform, "worker")[0] == 1  # none yet
    worker = platform.start_worker()
    wait_for(lambda: _health(platform, "worker")[0] == 0, 60, "a healthy worker")
    code, out = _health(platform, "worker")
    assert f"worker pid {worker.pid}" in out, out
    wait_for(lambda: _health(platform, "serve")[0] == 0, 60, "a healthy serve")

    platform.kill_worker(worker)  # SIGKILL: its record stays until the TTL, its pid is gone
    code, out = _health(platform, "worker")
    assert code == 1 and "no live worker" in out and str(worker.pid) in out, out

    # Redis away: unhealthy at once, the URL's password never printed.
    port = free_port()
    code, out = _health(platform, "serve", JITSI_REDIS_URL=f"redis://:hunter22@127.0.0.1:{port}/0")
    assert code == 1 and "does not answer" in out and "hunter22" not in out, out

    assert serve.stdin is not None
    serve.stdin.close()  # EOF ends the terminal chat: a clean exit removes its record
    assert serve.wait(timeout=30) == 0
    code, out = _health(platform, "serve")
    assert code == 1 and "no live serve" in out, out


def _scrape(port: int) -> dict[str, Any]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as resp:
        text = resp.read().decode()
    return {f.name: f for f in text_string_to_metric_families(text)}


def _value(families: dict[str, Any], sample_name: str, **labels: str) -> float | None:
    for family in families.values():
        for s in family.samples:
            if s.name == sample_name and all(s.labels.get(k) == v for k, v in labels.items()):
                return float(s.value)
    return None


def test_metrics_after_a_start_and_a_stop(
    platform: Platform, serve: subprocess.Popen[bytes], serve_env: dict[str, str], redis_url: str
) -> None:
    worker_port = free_port()
    metrics_env = {
        "JITSI_METRICS_PORT": str(worker_port),
        "JITSI_METRICS_HOST": "127.0.0.1",
        "JITSI_LOG_FORMAT": "json",
    }
    platform.env.update(metrics_env)  # the worker and every `say` count into Redis
    # What a start's preflight wants: a certificate and a hosted zone for the domain.
    platform.env.update(prerequisites(platform.clients, platform.settings.domain))
    platform.start_worker()
    wait_for(lambda: _scrape(worker_port), 60, "the worker's /metrics")

    res = platform.say("start")
    assert res.code == 0, res.stdout + res.stderr + platform.worker_log()
    running = _scrape(worker_port)
    assert _value(running, "jitsi_platform_state", state="running") == 1
    assert (_value(running, "jitsi_running_cost_dollars_per_hour") or 0) > 0
    assert platform.say("stop").code == 0
    assert platform.say("stat").code == 2  # a usage error is counted too
    # A CLI process counts too: `status`, whose first DescribeLoadBalancers is throttled
    # on both of its attempts (the interactive retry budget), is one AWS error.
    control(
        platform.emulator,
        "faults",
        {"throttle": {"operation": "DescribeLoadBalancers", "count": 2}},
    )
    try:
        platform.cli("status", "--json", timeout=60)
    finally:
        control(platform.emulator, "faults", {"clear": True})

    m = _scrape(worker_port)
    assert _value(m, "jitsi_redis_up") == 1
    assert _value(m, "jitsi_commands_total", command="start", outcome="job") == 1
    assert _value(m, "jitsi_commands_total", command="stop", outcome="job") == 1
    assert _value(m, "jitsi_commands_total", command="invalid", outcome="usage") == 1
    for kind in ("start", "stop"):
        assert _value(m, "jitsi_jobs_total", kind=kind, outcome="ok") == 1
        assert _value(m, "jitsi_job_duration_seconds_count", kind=kind, outcome="ok") == 1
        inf = _value(m, "jitsi_job_duration_seconds_bucket", kind=kind, outcome="ok", le="+Inf")
        assert inf == 1
    assert _value(m, "jitsi_time_to_url_seconds_count") == 1
    assert (_value(m, "jitsi_time_to_url_seconds_sum") or 0) > 0
    steps = {
        s.labels["step"]
        for s in m["jitsi_step_duration_seconds"].samples
        if s.name.endswith("_count")
    }
    assert {"ingress", "scale-up", "register", "healthy", "scale-down", "audit"} <= steps, steps
    assert (_value(m, "jitsi_aws_calls_total", operation="elbv2.CreateLoadBalancer") or 0) >= 1
    assert (_value(m, "jitsi_aws_calls_total", operation="ecs.UpdateService") or 0) >= 2
    throttled = _value(
        m, "jitsi_aws_errors_total", operation="elbv2.DescribeLoadBalancers", code="Throttling"
    )
    assert throttled == 1, m["jitsi_aws_errors"].samples
    assert _value(m, "jitsi_platform_state", state="stopped") == 1
    assert _value(m, "jitsi_platform_state", state="running") == 0
    assert _value(m, "jitsi_platform_desired", state="stopped") == 1
    assert _value(m, "jitsi_running_cost_dollars_per_hour") == 0
    assert _value(m, "jitsi_leftovers_billing") == 0

    # serve's /metrics shows the same deployment-wide counts.
    s = _scrape(int(serve_env["JITSI_METRICS_PORT"]))
    assert _value(s, "jitsi_jobs_total", kind="start", outcome="ok") == 1

    # JSON logs: every line of the worker's output is one object with the fields.
    lines = [x for x in platform.worker_log().splitlines() if x.strip()]
    assert lines
    records = [json.loads(x) for x in lines]
    assert all({"time", "level", "logger", "message"} <= set(x) for x in records)
    assert any(x.get("job_id") for x in records), records[:5]
