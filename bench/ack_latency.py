"""Command acknowledgement latency: parse + policy + enqueue on a real Redis/RQ.

100 commands arrive at once (one thread each, like 100 chat users); each
acknowledgement is timed from `handle()` call to return. The same 100 run one
after another in the same process as the side-by-side baseline.

Usage: python bench/ack_latency.py [--concurrency 100] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from adapters.wiring import App
from bench._support import percentile, redis_server
from bot.config import Settings
from bot.model import Actor, ChatPlatform, UserId
from bot.reply import ReplyKind


def make_apps(redis_url: str, n: int) -> list[App]:
    # One platform per command so every command really enqueues a job (on a
    # single platform all but the first would join the running start).
    apps = [
        App(Settings(project_name=f"a{uuid.uuid4().hex[:8]}", redis_url=redis_url))
        for _ in range(n)
    ]
    warm = Actor(UserId("bench:warm"), "bench", ChatPlatform.CONSOLE)
    for app in apps:
        # A running `serve` is warm: connections open, scripts loaded, RQ's queue
        # registered. One `stop` per platform does that; the measured `start`
        # then still claims and enqueues a job of its own.
        app.service.handle("stop", warm)
    return apps


def concurrent_round(apps: list[App]) -> list[float]:
    latencies = [0.0] * len(apps)
    barrier = threading.Barrier(len(apps))

    def one(i: int) -> None:
        actor = Actor(UserId(f"bench:{i}"), "bench", ChatPlatform.CONSOLE)
        barrier.wait()
        began = time.perf_counter()
        reply = apps[i].service.handle("start standup", actor)
        latencies[i] = time.perf_counter() - began
        assert reply.kind is ReplyKind.JOB

    threads = [threading.Thread(target=one, args=(i,)) for i in range(len(apps))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return latencies


def asyncio_round(apps: list[App]) -> list[float]:
    """How `serve` runs commands: coroutines handing the sync service to the default
    executor (asyncio.to_thread), all arriving at the same instant."""

    async def one(i: int) -> float:
        actor = Actor(UserId(f"bench:{i}"), "bench", ChatPlatform.CONSOLE)
        began = time.perf_counter()
        reply = await asyncio.to_thread(apps[i].service.handle, "start standup", actor)
        assert reply.kind is ReplyKind.JOB
        return time.perf_counter() - began

    async def all_at_once() -> list[float]:
        return list(await asyncio.gather(*(one(i) for i in range(len(apps)))))

    return asyncio.run(all_at_once())


def sequential_round(apps: list[App]) -> list[float]:
    out = []
    for i, app in enumerate(apps):
        actor = Actor(UserId(f"bench:{i}"), "bench", ChatPlatform.CONSOLE)
        began = time.perf_counter()
        app.service.handle("start standup", actor)
        out.append(time.perf_counter() - began)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--concurrency", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    conc: list[float] = []
    aio: list[float] = []
    seq: list[float] = []
    with redis_server() as url:
        for _ in range(args.rounds):  # interleaved, so both see the same machine noise
            conc += concurrent_round(make_apps(url, args.concurrency))
            aio += asyncio_round(make_apps(url, args.concurrency))
            seq += sequential_round(make_apps(url, args.concurrency))
    ms = 1000.0
    print(f"{args.rounds} rounds x {args.concurrency} commands; `start` each enqueues a job")
    print(
        f"asyncio.to_thread (as serve runs them): p50 {percentile(aio, 50) * ms:.2f} ms  "
        f"p99 {percentile(aio, 99) * ms:.2f} ms  max {max(aio) * ms:.2f} ms"
    )
    print(
        f"one thread per command: p50 {percentile(conc, 50) * ms:.2f} ms  "
        f"p99 {percentile(conc, 99) * ms:.2f} ms"
        f"  max {max(conc) * ms:.2f} ms"
    )
    print(
        f"sequential: p50 {percentile(seq, 50) * ms:.2f} ms  p99 {percentile(seq, 99) * ms:.2f} ms"
        f"  mean {statistics.mean(seq) * ms:.2f} ms"
    )
    print(f"p99 asyncio / p99 thread-per-command: {percentile(aio, 99) / percentile(conc, 99):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
