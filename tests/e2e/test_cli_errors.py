"""Bad input and unreachable services: clear errors and exit codes, never a traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.conftest import Platform
from tests.support.services import ROOT, free_port

pytestmark = pytest.mark.e2e


def run(*args: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "adapters.cli", *args],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_no_worker_is_reported_instead_of_hanging(platform: Platform) -> None:
    result = platform.say("start", extra_env={"JITSI_WORKER_PICKUP_SECONDS": "1"})
    assert result.code == 1
    [problem] = [x for x in result.lines if x["type"] == "problem"]
    assert "No worker picked up" in problem["text"] and "jitsi-bot worker" in problem["text"]


def test_malformed_and_denied_commands_exit_2(platform: Platform) -> None:
    bad = platform.say("frobnicate")
    assert bad.code == 2 and "Unknown command" in bad.lines[0]["text"]
    room = platform.say("start a/b")
    assert room.code == 2 and "not a valid room name" in room.lines[0]["text"]
    env = {"JITSI_ALLOWED_USERS": json.dumps({"stop": ["console:alice"]})}
    denied = platform.say("stop", user="mallory", extra_env=env)
    assert denied.code == 2 and "may not run `stop`" in denied.lines[0]["text"]


def test_unreachable_redis(platform: Platform) -> None:
    env = {**platform.env, "JITSI_REDIS_URL": f"redis://:s3cret@127.0.0.1:{free_port()}/0"}
    result = run("say", "status", env=env)
    assert result.returncode == 1
    assert "Cannot reach Redis" in result.stderr and "Traceback" not in result.stderr
    assert "s3cret" not in result.stderr + result.stdout


def test_unreachable_aws_endpoint(platform: Platform) -> None:
    env = {**platform.env, "JITSI_AWS_ENDPOINT_URL": f"http://127.0.0.1:{free_port()}"}
    result = run("infra", "audit", env=env)
    assert result.returncode == 1
    assert "aws_endpoint_url" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        ("{oops", "not valid JSON"),
        ('{"aws_region": "moon-1"}', "aws_region in"),
        ('{"colour": "blue"}', "Unknown key 'colour'"),
    ],
)
def test_bad_config_file(platform: Platform, tmp_path: Path, content: str, needle: str) -> None:
    path = tmp_path / "config.json"
    path.write_text(content)
    result = run("say", "status", env={**platform.env, "JITSI_CONFIG": str(path)})
    assert result.returncode == 2 and needle in result.stderr
    assert "Traceback" not in result.stderr


def test_usage_error_of_the_cli_itself(platform: Platform) -> None:
    result = run("frobnicate", env=platform.env)
    assert result.returncode == 2 and "invalid choice" in result.stderr


def test_cost_table(platform: Platform) -> None:
    table = run("cost", "--hours", "25", env=platform.env)
    assert table.returncode == 0 and "Break-even" in table.stdout and "Yours" in table.stdout
    data = json.loads(run("cost", "--json", env=platform.env).stdout)
    assert data["running_per_hour"] == pytest.approx(0.235, abs=1e-3)
    assert data["scenarios"][0]["label"] == "Idle"
