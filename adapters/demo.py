"""``jitsi-bot demo``: everything on this machine, on embedded defaults.

A private redis-server, the AWS emulator (in this process), the base
infrastructure bootstrapped into it, one worker subprocess, and the terminal
chat. It never reads JITSI_* variables or a config file: a demo must not
touch a real AWS account by accident.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from adapters.console import translate
from adapters.console.term import terminal
from adapters.wiring import App
from bot.config import Settings
from infra.local_redis import private_redis, stop_process

DEMO_ZONE = "demo.example"


def demo_settings(
    redis_url: str, endpoint: str, time_scale: float, front: dict[str, str] | None = None
) -> Settings:
    """``front``: the hosted zone and the emulator's HTTPS front (``https_check_*``)."""
    # Poll about as often as the emulator's scaled delays change state, so the
    # demo's time-to-URL stays close to its lower bound.
    poll = max(min(1.0, 10 * time_scale), 0.05)
    return Settings(
        project_name="jitsi-demo",
        domain=f"meet.{DEMO_ZONE}",
        redis_url=redis_url,
        aws_endpoint_url=endpoint,
        poll_min_seconds=poll,
        poll_max_seconds=poll * 4,
        lock_lease_seconds=10,
        worker_pickup_seconds=20,
        **(front or {}),
    )


def run_demo(profile: str, time_scale: float, script: str | None) -> int:
    from infra.aws import certificate
    from infra.aws.bootstrap import bootstrap
    from infra.aws.session import AwsClients
    from infra.emulator.server import EmulatorServer

    # werkzeug logs every request at INFO unless its logger has a level.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    console = terminal(soft_wrap=not sys.stdout.isatty())
    with contextlib.ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="jitsi-demo-")))
        with console.status("Starting Redis, the AWS emulator and a worker…"):
            redis_url = stack.enter_context(private_redis(workdir))
            emulator = stack.enter_context(
                EmulatorServer(
                    port=0,
                    profile=profile,
                    time_scale=time_scale,
                    ca_file=str(workdir / "emulator-ca.pem"),
                )
            )
            # The documented path: a hosted zone for the domain, so the bootstrap's
            # certificate request is validated through it, and the start's HTTPS
            # check reaches the emulator's front with its CA.
            plain = demo_settings(redis_url, emulator.url, time_scale)
            zone = AwsClients(plain).route53.create_hosted_zone(
                Name=DEMO_ZONE, CallerReference="jitsi-demo"
            )["HostedZone"]["Id"]
            front = {
                "hosted_zone_id": str(zone).rsplit("/", 1)[-1],
                "https_check_connect_to": emulator.front.address,
                "https_check_ca_file": emulator.front.ca_file,
            }
            settings = demo_settings(redis_url, emulator.url, time_scale, front)
            clients = AwsClients(settings)
            bootstrap(settings, clients)
            worker = _start_worker(settings, workdir)
            stack.callback(stop_process, worker)
        with console.status("Waiting for ACM to issue the meeting's certificate…"):
            deadline = time.monotonic() + 120 * max(time_scale, 0.01) + 30
            while certificate.find(settings, clients) is None and time.monotonic() < deadline:
                time.sleep(0.2)  # polling ACM as the doctor would, with a deadline
        console.print(
            f"Ready. Emulated AWS at {emulator.url} (profile {profile}, "
            f"time scale {time_scale:g}); Redis at {redis_url}; "
            f"https://{settings.domain} served at {emulator.front.address}."
        )
        chat = App(settings).console_chat(translate.actor(), console)
        lines = script.split(";") if script is not None else None
        return chat.repl(lines)


def _start_worker(settings: Settings, workdir: Path) -> subprocess.Popen[bytes]:
    # The worker reads its configuration like any deployment would: from a
    # config file, with every other JITSI_* variable of this shell removed.
    config = workdir / "config.json"
    data = {
        k: v
        for k, v in settings.model_dump(mode="json").items()
        if k not in ("cluster_name", "service_name", "advertise_ips_parameter", "price_region")
    }
    data["redis_url"] = settings.redis_dsn
    config.write_text(json.dumps(data))
    config.chmod(0o600)
    env = {k: v for k, v in os.environ.items() if not k.startswith("JITSI_")}
    env["JITSI_CONFIG"] = str(config)
    log = open(workdir / "worker.log", "wb")  # noqa: SIM115 - lives as long as the worker
    return subprocess.Popen(
        [sys.executable, "-m", "adapters.cli", "worker"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
