"""End to end: Slack (the local fake) -> the bolt adapter -> Redis/RQ -> a real
`jitsi-bot worker` -> the AWS emulator, and back into ONE edited Slack message."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import signal
import sys
from typing import Any

import pytest

from tests.e2e.conftest import Platform
from tests.slack.conftest import Bot, slack_bot, stop_click
from tests.slack.fake_slack import (
    APP_TOKEN,
    BOT_TOKEN,
    CHANNEL,
    SIGNING_SECRET,
    FakeSlack,
)
from tests.support.services import ROOT

pytestmark = pytest.mark.e2e


def message(fake: FakeSlack, ts: str) -> str:
    return json.dumps(fake.messages[(CHANNEL, ts)], ensure_ascii=False)


def action_ids(fake: FakeSlack, ts: str) -> set[str]:
    blocks = fake.messages[(CHANNEL, ts)]["blocks"] or []
    return {e["action_id"] for b in blocks if b["type"] == "actions" for e in b["elements"]}


async def start_and_stop(bot: Bot, join_check: bool = True) -> dict[str, Any]:
    """Drive one start and a Stop click through Slack; return figures for the caller."""
    fake = bot.fake
    status, ack, took = await bot.slash_answer("start standup")
    assert status == 200 and took < 3, (status, took)
    assert ack["response_type"] == "ephemeral" and "Starting" in ack["text"]
    [post] = await fake.wait(lambda: fake.channel_posts(), 5, "the progress message")
    ts = post.params["_ts"]
    job = await fake.wait(
        lambda: next(iter(bot.app.redis.hkeys(bot.app.keys.render_targets("slack"))), None),
        5,
        "the saved message target",
    )
    assert job
    # A second start while starting links to the same message; nothing new is posted.
    _, again, _ = await bot.slash("start", user_id="U0003")
    assert "Already starting" in again["text"], again
    assert f"https://fake.slack.com/archives/{CHANNEL}/p{ts.replace('.', '')}" in again["text"]

    await fake.wait(lambda: "jitsi_join" in action_ids(fake, ts), 60, "the Join button")
    # The cost line follows the URL as an event of its own: it may take one more edit.
    await fake.wait(lambda: "per hour" in message(fake, ts), 10, "the cost line")
    final = message(fake, ts)
    assert "https://meet.e2e.example/standup" in final and "per hour" in final
    assert "Platform running" in final or "running" in final.lower()
    assert {"jitsi_join", "jitsi_stop"} <= action_ids(fake, ts)
    assert "…" not in final and final.count("✓") >= 5
    updates = [c for c in fake.calls_to("chat.update") if c.params["ts"] == ts]
    assert len(updates) >= 3, "edited through the steps"
    # Coalesced: at most ~1 edit per second; only the final drawing may come sooner.
    gaps = [b.at - a.at for a, b in itertools.pairwise(updates[:-1])]
    assert all(g >= 0.9 for g in gaps), gaps
    assert len(fake.channel_posts()) == 1
    details = await fake.wait(
        lambda: [c for c in fake.calls_to("chat.postMessage") if c.params.get("thread_ts") == ts],
        5,
        "the details thread",
    )
    assert "AWS API calls" in details[0].params["text"]
    calls_per_start = 1 + len(updates) + 1

    # Stop: the button carries a confirm dialog; Slack sends the click after "Stop".
    stop = next(
        e
        for b in fake.messages[(CHANNEL, ts)]["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["action_id"] == "jitsi_stop"
    )
    assert stop["confirm"]["style"] == "danger"
    status, took = await bot.click(stop_click(bot, ts))
    assert status == 200 and took < 3
    stop_post = await fake.wait(
        lambda: len(fake.channel_posts()) == 2 and fake.channel_posts()[1], 5, "the stop message"
    )
    stop_ts = stop_post.params["_ts"]
    await fake.wait(lambda: "Audit clean" in message(fake, stop_ts), 60, "a clean audit")
    # The start's message loses its Stop button by an edit of its own (coalesced like
    # every edit, so it may land after the stop's audit).
    await fake.wait(
        lambda: "Stop requested by <@U0002>" in message(fake, ts), 10, "the start's message edited"
    )
    assert "jitsi_stop" not in action_ids(fake, ts)
    audit = [(a["user"], a["command"], a["outcome"].split(" ")[0]) for a in bot.audit()]
    assert audit[0] == ("slack:U0001", "start standup", "job")
    assert ("slack:U0002", "stop", "job") in audit
    return {"calls_per_start": calls_per_start, "ack_seconds": took}


def test_http_mode_start_progress_join_stop_audit(platform: Platform) -> None:
    platform.start_worker()

    async def scenario() -> None:
        async with slack_bot(platform.settings, mode="http") as bot:
            await start_and_stop(bot)

    asyncio.run(scenario())
    audit = platform.cli("infra", "audit", "--json")
    assert audit.code == 0 and json.loads(audit.stdout)["clean"] is True


def test_socket_mode_through_jitsi_bot_serve(platform: Platform) -> None:
    """The same, with `jitsi-bot serve` configured only by JITSI_SLACK_* variables."""
    platform.start_worker()

    async def scenario() -> None:
        fake = await FakeSlack().start()
        env = {
            **platform.env,
            "JITSI_SLACK_BOT_TOKEN": BOT_TOKEN,
            "JITSI_SLACK_APP_TOKEN": APP_TOKEN,
            "JITSI_SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "JITSI_SLACK_MODE": "socket",
            "JITSI_SLACK_API_URL": fake.api_url,
        }
        log = open(platform.tmp / "serve.log", "wb")  # noqa: SIM115
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "adapters.cli",
            "serve",
            env=env,
            cwd=ROOT,
            stdout=log,
            stderr=asyncio.subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            # The serve process owns the bolt app; the test only watches Slack's side
            # and Redis, through an in-process host that posts nothing.
            from adapters.wiring import App

            app = App(platform.settings)
            host = app.chat_host()
            bot = Bot(fake, None, host, app, None, "socket")  # type: ignore[arg-type]
            await fake.wait(lambda: fake.calls_to("apps.connections.open"), 20, "serve to connect")
            await start_and_stop(bot)
            await host.close()
        finally:
            if proc.returncode is None:
                os.killpg(proc.pid, signal.SIGTERM)
                await asyncio.wait_for(proc.wait(), 10)
            log.close()
            await fake.close()
        text = (platform.tmp / "serve.log").read_text()
        for secret in (BOT_TOKEN, APP_TOKEN, SIGNING_SECRET):
            assert secret not in text

    asyncio.run(scenario())
    audit = platform.cli("infra", "audit", "--json")
    assert audit.code == 0 and json.loads(audit.stdout)["clean"] is True
