"""Slack adapter figures: ack latency of signed slash commands, and API calls per start.

1. Ack latency: the adapter runs in HTTP mode (bolt verifies each v0 signature)
   against the local fake Slack and a private Redis; 50 signed `/jitsi` requests
   arrive at once, timed from sending to the HTTP response (Slack's limit: 3 s).
   Rounds alternate `start` (one claims the job, the others join it and get a
   permalink) and `status`.
2. Slack API calls per start: a real `jitsi-bot worker` and the AWS emulator
   ("field" delays scaled by --time-scale); counts chat.postMessage + chat.update.

Usage: python bench/slack_ack.py [--concurrency 50] [--rounds 4] [--time-scale 0.05]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp

from adapters.slack.app import SlackAdapter
from adapters.wiring import App
from bench._support import percentile, redis_server
from bot.config import Settings
from bot.config_chat import SlackSettings
from tests.slack.fake_slack import (
    BOT_TOKEN,
    SIGNING_SECRET,
    FakeSlack,
    post_signed,
    slash_body,
)
from tests.support.services import ROOT, emulator, free_port


def section(fake: FakeSlack) -> SlackSettings:
    return SlackSettings(
        bot_token=BOT_TOKEN,
        signing_secret=SIGNING_SECRET,
        mode="http",
        http_port=free_port(),
        api_url=fake.api_url,
    )


def fields(i: int, text: str, fake: FakeSlack) -> dict[str, str]:
    return {
        "team_id": "T0001",
        "channel_id": "C0001",
        "user_id": f"U{i:04d}",
        "user_name": f"user{i}",
        "command": "/jitsi",
        "text": text,
        "response_url": fake.response_url(),
    }


async def ack_latency(redis_url: str, concurrency: int, rounds: int) -> dict[str, list[float]]:
    fake = await FakeSlack().start()
    results: dict[str, list[float]] = {"start": [], "status": []}
    for r in range(rounds):
        text = "start" if r % 2 == 0 else "status"
        settings = Settings(project_name=f"b{uuid.uuid4().hex[:8]}", redis_url=redis_url)
        host = App(settings.model_copy(update={"slack": section(fake)})).chat_host()
        adapter = SlackAdapter(host)
        runner = asyncio.create_task(adapter.run())
        await adapter.ready.wait()
        url = f"http://127.0.0.1:{adapter.http_port}/slack/events"
        async with aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=concurrency)
        ) as session:
            await post_signed(session, url, slash_body(fields(0, "help", fake)))  # warm
            answers = await asyncio.gather(
                *(
                    post_signed(session, url, slash_body(fields(i, text, fake)))
                    for i in range(concurrency)
                )
            )
        assert all(status == 200 for status, _, _ in answers), answers[:3]
        results[text].extend(took for _, _, took in answers)
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
        await adapter.close()
        await host.close()
    await fake.close()
    return results


async def calls_per_start(redis_url: str, emulator_url: str, tmp: Path) -> dict[str, float]:
    from infra.aws.bootstrap import bootstrap
    from infra.aws.session import AwsClients
    from tests.e2e.conftest import platform_env

    project = f"b{uuid.uuid4().hex[:8]}"
    settings = Settings(
        project_name=project,
        redis_url=redis_url,
        aws_endpoint_url=emulator_url,
        domain="meet.bench.example",
    )
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
    bootstrap(settings, AwsClients(settings))
    env = platform_env(project, redis_url, emulator_url) | {"JITSI_DOMAIN": "meet.bench.example"}
    log = open(tmp / "worker.log", "wb")  # noqa: SIM115
    worker = subprocess.Popen(
        [sys.executable, "-m", "adapters.cli", "worker"],
        env=env,
        cwd=ROOT,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    fake = await FakeSlack().start()
    app = App(settings.model_copy(update={"slack": section(fake)}))
    host = app.chat_host()
    adapter = SlackAdapter(host)
    runner = asyncio.create_task(adapter.run())
    await adapter.ready.wait()
    try:
        url = f"http://127.0.0.1:{adapter.http_port}/slack/events"
        started = time.monotonic()
        async with aiohttp.ClientSession() as session:
            await post_signed(session, url, slash_body(fields(1, "start bench", fake)))
        await fake.wait(lambda: fake.calls_to("chat.postMessage")[1:], 120, "the details thread")
        seconds = time.monotonic() - started
        posts = len(fake.channel_posts())
        updates = len(fake.calls_to("chat.update"))
        job = next(iter(app.redis.keys(f"{app.keys.prefix}:job:*:events")), None)
        events = app.redis.xlen(job) if job else 0
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
        await adapter.close()
        await host.close()
        await fake.close()
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=10)
        log.close()
    return {"posts": posts, "updates": updates, "events": events, "seconds": seconds}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--time-scale", type=float, default=0.05)
    args = parser.parse_args()
    with redis_server() as redis_url:
        acks = asyncio.run(ack_latency(redis_url, args.concurrency, args.rounds))
        print(f"Ack latency, {args.concurrency} concurrent signed slash commands (HTTP mode):")
        for text, values in acks.items():
            ms = [v * 1000 for v in values]
            print(
                f"  /jitsi {text:<6} n={len(ms):>3}  p50 {percentile(ms, 50):6.1f} ms"
                f"  p99 {percentile(ms, 99):6.1f} ms  max {max(ms):6.1f} ms"
            )
        with tempfile.TemporaryDirectory() as tmp, emulator("field", args.time_scale) as aws:
            c = asyncio.run(calls_per_start(redis_url, aws, Path(tmp)))
        print(
            f"Slack API calls per start (field profile x{args.time_scale:g}, "
            f"{c['seconds']:.1f} s to the final edit, {c['events']:.0f} job events):\n"
            f"  chat.postMessage {c['posts']:.0f} + chat.update {c['updates']:.0f} "
            f"+ 1 thread reply = {c['posts'] + c['updates'] + 1:.0f}"
        )


if __name__ == "__main__":
    main()
