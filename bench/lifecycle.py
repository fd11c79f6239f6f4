"""Time-to-URL and AWS calls of a start and a stop against the emulator's field profile.

Runs, side by side in one process and one emulator:
  * the project's start (NLB provisioning and task start overlap);
  * the original scripts' order (wait for the NLB to be active, then scale,
    then wait for the task, then register, then wait for health);
and compares both with the profile's lower bound
  max(NLB active, NLB interfaces + task running) + health checks.

Usage: python bench/lifecycle.py [--time-scale 0.1] [--rounds 3]
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from adapters.wiring import App
from bench._support import redis_server
from bot.config import Settings
from bot.model import Actor, ChatPlatform, JobId, JobKind, JobSpec, SessionTags, UserId
from bot.polling import poll
from bot.ports import PlatformParts
from bot.state import DesiredState
from infra.aws.bootstrap import bootstrap
from infra.aws.session import AwsClients
from infra.clock import SystemClock
from infra.emulator.profiles import Profile
from infra.emulator.server import EmulatorServer

ACTOR = Actor(UserId("bench"), "bench", ChatPlatform.CONSOLE)


def settings_for(redis_url: str, endpoint: str, scale: float) -> Settings:
    # The production defaults (poll 1 s .. 10 s) scaled like the emulator's delays.
    return Settings(
        project_name=f"b{uuid.uuid4().hex[:6]}",
        redis_url=redis_url,
        aws_endpoint_url=endpoint,
        poll_min_seconds=1.0 * scale,
        poll_max_seconds=10.0 * scale,
        reconcile_interval_seconds=0,
    )


def _calls(parts: PlatformParts) -> int:
    return sum(parts.meter.calls().values())


def warm(app: App) -> None:
    """Make the AWS clients before the clock starts, as a long-lived worker has them
    (creating one loads its service model: about 0.1 s each)."""
    assert app.nlb is not None
    for service in ("ec2", "ecs", "elbv2", "ssm", "route53"):
        app.nlb.clients.client(service)


def run_project(settings: Settings) -> tuple[float, int, float, int]:
    """(seconds to URL, AWS calls of the start, seconds of the stop, AWS calls of the stop)."""
    app = App(settings)
    bootstrap(settings, AwsClients(settings))
    parts, life = app.parts, app.lifecycle
    warm(app)
    app.store.set_desired(DesiredState.RUNNING, ACTOR)
    before = _calls(parts)
    began = time.monotonic()
    assert life.run(JobSpec(JobId(uuid.uuid4().hex[:12]), JobKind.START, ACTOR)).ok
    start_s, start_calls = time.monotonic() - began, _calls(parts) - before
    app.store.set_desired(DesiredState.STOPPED, ACTOR)
    before = _calls(parts)
    began = time.monotonic()
    assert life.run(JobSpec(JobId(uuid.uuid4().hex[:12]), JobKind.STOP, ACTOR)).ok
    return start_s, start_calls, time.monotonic() - began, _calls(parts) - before


def run_sequential(settings: Settings) -> tuple[float, int]:
    """The seed's order: every wait finishes before the next thing starts."""
    app = App(settings)
    bootstrap(settings, AwsClients(settings))
    parts = app.parts
    warm(app)
    ingress, compute = parts.ingress, parts.compute
    clock = SystemClock()

    def wait(probe, done, what):  # type: ignore[no-untyped-def]
        return poll(
            probe,
            done,
            clock=clock,
            timeout=600,
            what=what,
            min_interval=settings.poll_min_seconds,
            max_interval=settings.poll_max_seconds,
        )

    before = _calls(parts)
    began = time.monotonic()
    ingress.bring_up(SessionTags("seq", "bench"), lambda _m, _d: None)
    wait(ingress.describe, lambda x: x is not None and x.state == "active", "NLB active")
    ips = wait(ingress.advertised_addresses, bool, "NLB IPs")
    parts.advertised.publish(ips)
    compute.scale(1)
    tasks = wait(compute.tasks, lambda ts: any(t.last_status == "RUNNING" for t in ts), "task")
    ingress.attach(tasks)
    wait(ingress.readiness, lambda r: r.ready, "healthy")
    seconds, calls = time.monotonic() - began, _calls(parts) - before
    # Tear down with the project's stop so the next round starts clean.
    app.store.set_desired(DesiredState.STOPPED, ACTOR)
    app.lifecycle.run(JobSpec(JobId("seq-stop"), JobKind.STOP, ACTOR))
    return seconds, calls


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--time-scale", type=float, default=0.1)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    logging.disable(logging.WARNING)
    d = Profile("field", args.time_scale).delays
    bound = max(d.lb_active, d.lb_enis + d.task_running) + d.target_healthy
    sequential_bound = d.lb_active + d.task_running + d.target_healthy
    ours, seq, start_calls, stop_calls, stops = [], [], [], [], []
    with (
        redis_server() as redis_url,
        EmulatorServer(profile="field", time_scale=args.time_scale) as emu,
    ):
        for _ in range(args.rounds):
            s, sc, st, stc = run_project(settings_for(redis_url, emu.url, args.time_scale))
            ours.append(s)
            start_calls.append(sc)
            stops.append(st)
            stop_calls.append(stc)
            q, _ = run_sequential(settings_for(redis_url, emu.url, args.time_scale))
            seq.append(q)
    scale = args.time_scale
    med, med_seq = statistics.median(ours), statistics.median(seq)
    print(
        f"field profile x{scale:g}; {args.rounds} rounds, interleaved; times in real seconds "
        f"(nominal = real / {scale:g})"
    )
    print(
        f"lower bound  max(NLB active, ENIs + task) + health: {bound:.2f} s "
        f"(nominal {bound / scale:.0f} s)"
    )
    print(
        f"jitsi-chatops start -> URL: median {med:.2f} s  (nominal {med / scale:.0f} s), "
        f"{med / bound:.3f} x lower bound, runs {', '.join(f'{x:.2f}' for x in ours)}"
    )
    print(
        f"sequential (seed order):    median {med_seq:.2f} s  (nominal {med_seq / scale:.0f} s), "
        f"{med_seq / bound:.3f} x lower bound; its own bound {sequential_bound:.2f} s"
    )
    print(f"ours / sequential: {med / med_seq:.3f}")
    print(
        f"AWS calls per start: median {statistics.median(start_calls):.0f} "
        f"(runs {start_calls}); per stop: median {statistics.median(stop_calls):.0f} "
        f"(runs {stop_calls}); stop took median {statistics.median(stops):.2f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
