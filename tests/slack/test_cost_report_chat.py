"""`/jitsi cost report` through the real bolt app and slack_sdk against the local Slack
server, on a real Redis: the chart and CSV arrive through files upload v2 in the
channel asked in, the summary as their comment; an upload Slack refuses still brings
the summary and the numbers, through the response URL."""

from __future__ import annotations

import asyncio
import struct
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from adapters.wiring import App
from bot.config import Settings
from tests.slack.conftest import Bot, slack_bot
from tests.slack.fake_slack import CHANNEL


@pytest.fixture
def base(redis_url: str, project: str) -> Settings:
    return Settings(project_name=project, redis_url=redis_url, budget={"monthly": 20.0})


def seed(app: App) -> tuple[str, float]:
    """One 1-hour session that ended now (so in this UTC month); the month and now."""
    now = time.time()
    app.ledger.record_session(now - 3600, now, 0.235)
    return datetime.fromtimestamp(now, UTC).strftime("%Y-%m"), now


def uploaded(bot: Bot) -> dict[str, dict[str, Any]]:
    return {f["filename"]: f for f in bot.fake.files.values() if f.get("complete")}


def test_the_chart_and_csv_are_posted_where_asked(base: Settings) -> None:
    async def scenario() -> None:
        async with slack_bot(base) as bot:
            month, now = seed(bot.app)
            status, ack, took = await bot.slash("cost report")
            assert status == 200 and took < 3
            assert ack["response_type"] == "ephemeral"
            assert ack["text"] == f"Drawing the cost report for {month}…"
            files = await bot.fake.wait(lambda: len(uploaded(bot)) == 2, 20, "two files")
            assert files
            sent = uploaded(bot)
            chart = sent[f"cost-report-{month}.png"]
            png = chart["data"]
            assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[12:16] == b"IHDR"
            assert struct.unpack(">II", png[16:24]) == (1000, 500)
            assert 10_000 < len(png) < 500_000
            assert chart["channel_id"] == CHANNEL
            summary = chart["initial_comment"]
            assert summary.startswith(f"Cost report for {month}, to the ")
            assert "1.0 h of meetings in 1 session." in summary
            assert "Budget: $20.00 a month" in summary and "At this pace" in summary
            csv = sent[f"cost-report-{month}.csv"]["data"].decode()
            lines = csv.splitlines()
            today = datetime.fromtimestamp(now, UTC).date()
            assert lines[0] == "day,meeting_hours,cost_usd,cumulative_usd,budget_usd"
            assert len(lines) == today.day + 1  # every day of the month so far
            assert lines[-1].startswith(f"{today.isoformat()},1.000,")
            assert lines[-1].endswith(",20.00")
            assert not bot.fake.responses  # nothing went wrong: no follow-up
            [entry] = bot.audit()
            assert (entry["command"], entry["outcome"]) == ("cost report", "info")

    asyncio.run(scenario())


def test_a_refused_upload_still_posts_the_summary_and_the_numbers(base: Settings) -> None:
    async def scenario() -> None:
        async with slack_bot(base, mode="socket") as bot:
            month, _ = seed(bot.app)
            bot.fake.not_in_channel.add(CHANNEL)
            _, ack, _ = await bot.slash(f"cost report {month}")
            assert ack["text"] == f"Drawing the cost report for {month}…"
            [said] = await bot.fake.wait(lambda: bot.fake.responses, 20, "the follow-up")
            assert said["response_type"] == "in_channel"  # the summary was meant for all
            text = said["text"]
            assert text.startswith(f"Cost report for {month}")
            assert f"I could not post the chart of {month}: Slack answered `not_in_channel`" in text
            assert "/invite @jitsi" in text and "Traceback" not in text
            assert f"The numbers, as CSV (cost-report-{month}.csv):\n```\nday," in text
            assert text.endswith("```") and ",1.000," in text
            assert not uploaded(bot)  # nothing was shared

    asyncio.run(scenario())


def test_a_bad_month_is_answered_with_usage_and_nothing_is_drawn(base: Settings) -> None:
    async def scenario() -> None:
        async with slack_bot(base) as bot:
            _, bad, _ = await bot.slash("cost report 2026-13")
            _, extra, _ = await bot.slash("cost report 2026-11 now")
            _, future, _ = await bot.slash("cost report 2999-01")
            assert bad["response_type"] == "ephemeral" and "`2026-13` is not a month" in bad["text"]
            assert "at most one month" in extra["text"] and "Usage:" in extra["text"]
            assert "2999-01 has not begun yet" in future["text"]
            assert not bot.fake.calls_to("files.getUploadURLExternal")

    asyncio.run(scenario())
