"""A bot process killed while it shows a job resumes from the stream on restart:
every event is shown once, none lost, none twice."""

from __future__ import annotations

import subprocess
import sys

import redis

from infra.keys import Keys
from tests.e2e.conftest import Platform
from tests.support.services import ROOT, wait_for


def serve(platform: Platform) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "adapters.cli", "serve"],
        env=platform.env,
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_restarted_serve_resumes_rendering(platform: Platform, redis_url: str) -> None:
    platform.start_worker()
    r = redis.Redis.from_url(redis_url)
    keys = Keys(platform.settings.project_name)
    first = serve(platform)
    assert first.stdin is not None
    first.stdin.write("start resume-room\n")
    first.stdin.flush()

    def registering() -> bool:
        job = r.hget(keys.platform, "job_id")
        return bool(job) and b"register" in b"".join(
            f[b"event"] for _, f in r.xrange(keys.job_events(job.decode()))
        )

    wait_for(registering, 60, "the start to reach registration")
    first.kill()  # SIGKILL: no goodbye, no flush beyond what was rendered
    shown_before, _ = first.communicate(timeout=10)

    second = serve(platform)
    shown_after, err = second.communicate("", timeout=120)  # EOF after resuming
    assert second.returncode == 0, err
    assert "Resuming job" in shown_after and "Platform running" in shown_after

    lines = [x for x in (shown_before + shown_after).splitlines() if x.startswith("[")]
    started = [x for x in lines if not x.split("] ", 1)[1].startswith(("done", "FAILED"))]
    steps = [x.split("]")[0] for x in started]
    assert steps == [
        "[preflight",
        "[ingress",
        "[advertise-ips",
        "[scale-up",
        "[register",
        "[dns",
        "[dns-sync",
        "[containers",
        "[healthy",
        "[https",
    ], lines  # each step shown exactly once
    assert platform.say("stop").code == 0
