"""Time-to-URL and AWS calls of a start and a stop against the emulator's field profile.

Runs, side by side in one process and one emulator, interleaved round by round:
  * the project's start behind the NLB (`ingress: nlb`: provisioning and the task's
    start overlap), against ``Delays.nlb_bound`` (infra/emulator/profiles.py);
  * the project's start with no load balancer (`ingress: direct`), against
    ``Delays.direct_bound``;
  * the original scripts' order (wait for the NLB to be active, then scale, then wait
    for the task, then register, then wait for health), to NLB health only.
Every start ends with "Meeting ready" as the bot means it: containers healthy, DNS in
sync, the meeting page over HTTPS with a valid certificate.

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
from bot.cost import CostModel
from bot.model import (
    Actor,
    ChatPlatform,
    IngressKind,
    JobId,
    JobKind,
    JobSpec,
    SessionTags,
    UserId,
)
from bot.polling import poll
from bot.ports import PlatformParts
from bot.state import DesiredState
from infra.aws.bootstrap import bootstrap
from infra.aws.session import AwsClients
from infra.clock import SystemClock
from infra.emulator.profiles import Profile
from infra.emulator.server import EmulatorServer
from infra.pricing import find_prices
from tests.support.aws import ready_account
from tests.support.services import https_front
from tests.support.tls import store_certificate

ACTOR = Actor(UserId("bench"), "bench", ChatPlatform.CONSOLE)


def settings_for(
    redis_url: str, endpoint: str, scale: float, ingress: IngressKind = IngressKind.NLB
) -> Settings:
    """A project with what an operator makes once: base infrastructure, a certificate
    (ACM for the NLB, the stored ACME one for direct mode), the hosted zone."""
    project = f"b{uuid.uuid4().hex[:6]}"
    # The production defaults (poll 1 s .. 10 s) scaled like the emulator's delays.
    settings = Settings(
        project_name=project,
        redis_url=redis_url,
        aws_endpoint_url=endpoint,
        domain=f"meet.{project}.example",
        ingress=ingress,
        poll_min_seconds=1.0 * scale,
        poll_max_seconds=10.0 * scale,
        reconcile_interval_seconds=0,
        **https_front(endpoint),
    )
    settings = ready_account(settings)
    bootstrap(settings, AwsClients(settings))
    if ingress is IngressKind.DIRECT:
        store_certificate(settings)
    return settings


def _calls(parts: PlatformParts) -> int:
    return sum(parts.meter.calls().values())


def warm(app: App) -> None:
    """Make the AWS clients before the clock starts, as a long-lived worker has them
    (creating one loads its service model: about 0.1 s each)."""
    for service in ("ec2", "ecs", "elbv2", "ssm", "route53", "acm"):
        app.aws_clients.client(service)


def run_project(settings: Settings) -> tuple[float, int, float, int]:
    """(seconds to URL, AWS calls of the start, seconds of the stop, AWS calls of the stop)."""
    app = App(settings)
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
    scale = args.time_scale
    d = Profile("field", scale).delays
    bounds = {IngressKind.NLB: d.nlb_bound(), IngressKind.DIRECT: d.direct_bound()}
    sequential_bound = d.lb_active + d.task_running + d.target_healthy
    runs: dict[IngressKind, list[tuple[float, int, float, int]]] = {k: [] for k in bounds}
    seq: list[float] = []
    with (
        redis_server() as redis_url,
        EmulatorServer(profile="field", time_scale=scale) as emu,
    ):
        for _ in range(args.rounds):
            for kind in bounds:
                runs[kind].append(run_project(settings_for(redis_url, emu.url, scale, kind)))
            q, _ = run_sequential(settings_for(redis_url, emu.url, scale))
            seq.append(q)
    print(
        f"field profile x{scale:g}; {args.rounds} rounds, interleaved; times in real seconds "
        f"(nominal = real / {scale:g})"
    )
    med = {}
    for kind, rows in runs.items():
        bound = bounds[kind]
        urls = [r[0] for r in rows]
        med[kind] = statistics.median(urls)
        cost = CostModel(Settings(ingress=kind), find_prices("us-east-1")).running_hour
        print(
            f"{kind.value:>6}: lower bound {bound:.2f} s (nominal {bound / scale:.0f} s); "
            f"start -> URL median {med[kind]:.2f} s (nominal {med[kind] / scale:.0f} s), "
            f"{med[kind] / bound:.3f} x bound, runs {', '.join(f'{x:.2f}' for x in urls)}; "
            f"AWS calls per start {statistics.median(r[1] for r in rows):.0f}, "
            f"per stop {statistics.median(r[3] for r in rows):.0f}; "
            f"stop {statistics.median(r[2] for r in rows):.2f} s; "
            f"running ${cost:.4f}/h (us-east-1)"
        )
    med_seq = statistics.median(seq)
    print(
        f"sequential (seed order, to NLB health only): median {med_seq:.2f} s "
        f"(nominal {med_seq / scale:.0f} s); its own bound {sequential_bound:.2f} s"
    )
    print(f"direct / nlb time to URL: {med[IngressKind.DIRECT] / med[IngressKind.NLB]:.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
