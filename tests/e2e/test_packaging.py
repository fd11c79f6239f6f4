"""The deployment files: Compose configuration renders, the demo runs from one command."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest
import yaml

from tests.support.services import ROOT

pytestmark = pytest.mark.e2e


def compose_command() -> list[str]:
    if subprocess.run(["docker", "compose", "version"], capture_output=True).returncode == 0:
        return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    pytest.fail(
        "No Compose CLI: `make test` installs docker-compose when docker compose is missing"
    )


def test_compose_config_is_valid() -> None:
    base = compose_command()
    rendered = subprocess.run(
        [*base, "--profile", "demo", "config"], cwd=ROOT, capture_output=True, text=True
    )
    assert rendered.returncode == 0, rendered.stderr
    config = yaml.safe_load(rendered.stdout)
    services = config["services"]
    assert {"redis", "bot", "worker", "emulator"} <= set(services)
    assert "--appendonly" in services["redis"]["command"]  # AOF persistence
    assert services["emulator"]["profiles"] == ["demo"]
    assert services["worker"]["command"] == ["worker"] and services["bot"]["command"] == ["serve"]
    for name, process in (("bot", "serve"), ("worker", "worker")):  # docs/operations.md
        check = services[name]["healthcheck"]
        assert check["test"] == ["CMD", "jitsi-bot", "health", "--process", process]


def test_demo_runs_a_whole_session_from_one_command() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "adapters.cli",
            "demo",
            "--profile",
            "instant",
            "--script",
            "help; start demo-room; status; stop; cost",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    out = result.stdout
    assert "Meeting ready: https://meet.demo.example/demo-room" in out
    assert "Audit clean" in out and "Session lasted" in out and "Break-even" in out
