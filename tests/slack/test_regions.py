"""Slack commands in a region with no price table: answered (HTTP 200), costs "unknown",
never the HTTP 500 with an empty body they used to get."""

from __future__ import annotations

import asyncio

from bot.config import Settings
from tests.slack.conftest import slack_bot


def test_commands_answer_with_unknown_costs(redis_url: str, project: str) -> None:
    base = Settings(project_name=project, redis_url=redis_url, aws_region="us-west-2")

    async def scenario() -> None:
        async with slack_bot(base) as bot:
            status, reply, _ = await bot.slash("cost")
            assert status == 200, reply
            assert "unknown" in reply["text"] and "us-west-2" in reply["text"]
            status, reply, _ = await bot.slash("status")
            assert status == 200 and reply.get("text"), reply
            assert [a["command"] for a in bot.audit()] == ["cost", "status"]

    asyncio.run(scenario())
