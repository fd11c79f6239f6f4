"""End-to-end fixtures: the emulator and workers as real subprocesses, and `jitsi-bot say`."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psutil
import pytest

from bot.config import Settings
from infra.aws.bootstrap import bootstrap
from infra.aws.session import AwsClients
from tests.support import services
from tests.support.aws import account_env, ready_account

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="session")
def emulator_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("emulator") / "emulator.log"
    # "field" delays scaled to a few seconds: the start's waits really overlap.
    with services.emulator("field", 0.02, log=log) as url:
        yield url


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str
    lines: list[dict[str, Any]] = field(default_factory=list)

    def events(self, kind: str) -> list[dict[str, Any]]:
        return [x for x in self.lines if x.get("type") == "event" and x.get("kind") == kind]


@dataclass
class Platform:
    """One isolated platform: its own project name, Redis keys, AWS resources and workers."""

    env: dict[str, str]
    settings: Settings
    emulator: str
    tmp: Path
    workers: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def clients(self) -> AwsClients:
        return AwsClients(self.settings)

    def cli(
        self,
        *args: str,
        timeout: float = 120,
        extra_env: dict[str, str] | None = None,
        user: str | None = None,
    ) -> Result:
        argv = [sys.executable, "-m", "adapters.cli", *args]
        proc = subprocess.run(
            argv,
            env={**self.env, **(extra_env or {})},
            cwd=services.ROOT,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        lines = []
        for line in proc.stdout.splitlines():
            if line.startswith("{") and line.endswith("}"):  # `say --json` lines
                lines.append(json.loads(line))
        return Result(proc.returncode, proc.stdout, proc.stderr, lines)

    def say(self, text: str, user: str = "alice", **kw: Any) -> Result:
        return self.cli("say", "--json", "--user", user, *text.split(), **kw)

    def say_async(self, text: str, user: str = "alice") -> subprocess.Popen[str]:
        return subprocess.Popen(
            [sys.executable, "-m", "adapters.cli", "say", "--json", "--user", user, *text.split()],
            env=self.env,
            cwd=services.ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    def start_worker(self) -> subprocess.Popen[bytes]:
        log = open(self.tmp / f"worker-{len(self.workers)}.log", "wb")  # noqa: SIM115
        proc = subprocess.Popen(
            [sys.executable, "-m", "adapters.cli", "worker"],
            env=self.env,
            cwd=services.ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # its own group: kill takes the work horse too
        self.workers.append(proc)
        return proc

    def kill_worker(self, proc: subprocess.Popen[bytes]) -> None:
        """SIGKILL the worker and its work horse (RQ puts the horse in a session of its own)."""
        family = [proc.pid, *(c.pid for c in psutil.Process(proc.pid).children(recursive=True))]
        for pid in family:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        proc.wait(timeout=10)

    def worker_log(self) -> str:
        return "\n".join(p.read_text() for p in sorted(self.tmp.glob("worker-*.log")))


def platform_env(project: str, redis_url: str, emulator: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JITSI_")}
    # The start's HTTPS check reaches the emulator's front and trusts its CA.
    env.update({f"JITSI_{k.upper()}": v for k, v in services.https_front(emulator).items()})
    env.update(
        {
            "JITSI_PROJECT_NAME": project,
            "JITSI_DOMAIN": "meet.e2e.example",
            "JITSI_REDIS_URL": redis_url,
            "JITSI_AWS_ENDPOINT_URL": emulator,
            "JITSI_POLL_MIN_SECONDS": "0.05",
            "JITSI_POLL_MAX_SECONDS": "0.25",
            "JITSI_LOCK_LEASE_SECONDS": "2",
            "JITSI_WORKER_PICKUP_SECONDS": "30",
            "JITSI_START_TIMEOUT_SECONDS": "60",
            "JITSI_STOP_TIMEOUT_SECONDS": "60",
            "JITSI_UNHEALTHY_GRACE_SECONDS": "1",
            "JITSI_RECONCILE_INTERVAL_SECONDS": "0",
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "PYTHONPATH": str(services.ROOT),
        }
    )
    return env


@contextlib.contextmanager
def bootstrapped_platform(
    project: str, redis_url: str, emulator: str, tmp: Path, env: dict[str, str] | None = None
) -> Iterator[Platform]:
    """A platform on ``redis_url`` and ``emulator`` as an operator leaves it before the
    first start (a certificate, a hosted zone, the base bootstrapped); ``env`` adds to
    or overrides its ``JITSI_*`` variables. Its live workers are killed after."""
    settings = Settings(
        project_name=project,
        redis_url=redis_url,
        aws_endpoint_url=emulator,
        domain="meet.e2e.example",
        **services.https_front(emulator),
    )
    settings = ready_account(settings)  # a certificate and a hosted zone, made once
    bootstrap(settings, AwsClients(settings))
    full_env = {
        **platform_env(project, redis_url, emulator),
        **account_env(settings),
        **(env or {}),
    }
    p = Platform(full_env, settings, emulator, tmp)
    try:
        yield p
    finally:
        for proc in p.workers:  # the project is thrown away: no need for a warm shutdown
            if proc.poll() is None:
                p.kill_worker(proc)


@pytest.fixture
def platform(project: str, redis_url: str, emulator_url: str, tmp_path: Path) -> Iterator[Platform]:
    with bootstrapped_platform(project, redis_url, emulator_url, tmp_path) as p:
        yield p
