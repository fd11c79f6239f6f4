"""What the guards cost and how fast they act, against the emulator and a real worker.

1. Orphan NLB survival: a real `jitsi-bot worker` runs with a short reconcile
   interval; an NLB is created by hand at a random moment of the interval and
   the audit is polled until it is gone. Target: under one interval.
2. The idle worker's footprint while the platform is stopped: Redis commands
   per hour (``INFO commandstats`` deltas of a private redis-server that only
   the worker talks to) and AWS calls per hour (the ``AwsClients`` counter of a
   reconcile run), projected to the default 300 s reconcile interval.

Usage: python bench/idle.py [--interval 10] [--rounds 5] [--idle-seconds 60]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import redis  # noqa: E402

from adapters.wiring import App  # noqa: E402
from bench._support import redis_server  # noqa: E402
from bot.config import Settings  # noqa: E402
from infra import jobs  # noqa: E402
from infra.aws import naming  # noqa: E402
from infra.aws.audit import AwsAudit  # noqa: E402
from infra.aws.bootstrap import bootstrap  # noqa: E402
from infra.aws.session import AwsClients  # noqa: E402
from infra.aws.tags import TagSet  # noqa: E402
from infra.emulator.server import EmulatorServer  # noqa: E402
from infra.local_redis import stop_process  # noqa: E402

DEFAULT_INTERVAL = 300.0


def commands(client: redis.Redis) -> int:
    stats = client.info("commandstats")
    return sum(int(v["calls"]) for v in stats.values())


def worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "adapters.cli", "worker"],
        cwd=ROOT,
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop(proc: subprocess.Popen[bytes]) -> None:
    stop_process(proc, timeout=20)


def make_orphan(settings: Settings, clients: AwsClients) -> None:
    service = clients.ecs.describe_services(
        cluster=settings.cluster_name, services=[settings.service_name]
    )["services"][0]
    clients.elbv2.create_load_balancer(
        Name=naming.nlb_name(settings),
        Subnets=service["networkConfiguration"]["awsvpcConfiguration"]["subnets"],
        Type="network",
        Scheme="internet-facing",
        Tags=TagSet(settings.project_name, "by-hand", "bench").elbv2(),
    )


def lbs(settings: Settings, clients: AwsClients) -> int:
    found = AwsAudit(settings, clients).billable()
    return sum(1 for r in found if r.kind.value == "load_balancer")


def env_for(settings: Settings, endpoint: str, interval: float) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JITSI_")}
    env.update(
        JITSI_PROJECT_NAME=settings.project_name,
        JITSI_REDIS_URL=settings.redis_dsn,
        JITSI_AWS_ENDPOINT_URL=endpoint,
        JITSI_POLL_MIN_SECONDS="0.05",
        JITSI_POLL_MAX_SECONDS="0.25",
        JITSI_LOCK_LEASE_SECONDS="2",
        JITSI_RECONCILE_INTERVAL_SECONDS=str(interval),
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        PYTHONPATH=str(ROOT),
    )
    return env


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--interval", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--idle-seconds", type=float, default=60.0)
    parser.add_argument("--time-scale", type=float, default=0.02)
    args = parser.parse_args()
    tmp = Path(os.environ.get("TMPDIR", "/tmp")) / f"bench-idle-{uuid.uuid4().hex[:6]}"
    tmp.mkdir(parents=True)
    with (
        redis_server() as redis_url,
        EmulatorServer(profile="field", time_scale=args.time_scale) as emu,
    ):
        settings = Settings(
            project_name=f"b{uuid.uuid4().hex[:8]}",
            redis_url=redis_url,
            aws_endpoint_url=emu.url,
            reconcile_interval_seconds=args.interval,
        )
        clients = AwsClients(settings)
        bootstrap(settings, clients)
        client = redis.Redis.from_url(redis_url)

        # 1. Orphan NLB survival under a real worker.
        proc = worker(env_for(settings, emu.url, args.interval), tmp / "worker-1.log")
        survival: list[float] = []
        try:
            time.sleep(2.0)  # the worker's first reconcile (at start) is not the one measured
            for _ in range(args.rounds):
                time.sleep(random.uniform(0, args.interval))  # a random phase of the interval
                make_orphan(settings, clients)
                born = time.monotonic()
                while lbs(settings, clients):
                    if time.monotonic() - born > 3 * args.interval + 60:
                        raise SystemExit("the orphan NLB was never removed: see " + str(tmp))
                    time.sleep(0.1)  # sampling, not waiting for an outcome
                survival.append(time.monotonic() - born)
        finally:
            stop(proc)
        repairs = client.xlen(f"jitsi:{settings.project_name}:notices")

        # 2a. Redis commands of an idle worker with no periodic reconcile (baseline).
        proc = worker(env_for(settings, emu.url, 0), tmp / "worker-2.log")
        try:
            time.sleep(5.0)  # start-up and its one reconcile
            before, began = commands(client), time.monotonic()
            time.sleep(args.idle_seconds)
            baseline = (commands(client) - before) / (time.monotonic() - began) * 3600
        finally:
            stop(proc)

        # 2b. One reconcile of a stopped platform, in process: Redis commands and AWS calls.
        quiet = settings.model_copy(update={"reconcile_interval_seconds": 0})
        app = App(quiet)
        jobs.install(app.job_context())
        try:
            jobs.reconcile()  # warm: clients built, scripts loaded
            runs = 5
            aws_before = sum(app.parts.meter.calls().values())
            before = commands(client)
            for _ in range(runs):
                jobs.reconcile()
            redis_per_run = (commands(client) - before - runs) / runs  # minus INFO itself
            aws_per_run = (sum(app.parts.meter.calls().values()) - aws_before) / runs
        finally:
            jobs.install(None)

    per_hour = 3600 / DEFAULT_INTERVAL
    print(f"orphan NLB survival, reconcile interval {args.interval:g} s, {args.rounds} rounds:")
    print(
        f"  min {min(survival):.1f} s, mean {statistics.mean(survival):.1f} s, "
        f"max {max(survival):.1f} s ({max(survival) / args.interval:.2f} intervals); "
        f"{repairs} REPAIR notices"
    )
    print("idle worker, platform stopped:")
    print(f"  Redis: {baseline:.0f} commands/hour without reconciles (RQ worker + scheduler)")
    print(f"  one reconcile: {redis_per_run:.0f} Redis commands, {aws_per_run:.0f} AWS calls")
    print(
        f"  at the default {DEFAULT_INTERVAL:g} s interval: "
        f"{baseline + per_hour * redis_per_run:.0f} Redis commands/hour, "
        f"{per_hour * aws_per_run:.0f} AWS calls/hour"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
