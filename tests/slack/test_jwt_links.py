"""Meeting links through Slack: Slack (the local fake) -> the bolt adapter -> Redis/RQ
-> a real worker -> the strict emulator. Each asker's link arrives as chat.postEphemeral
to them alone; the channel's messages keep the plain URL; a user not allowed gets none;
no token or secret is in a channel post, a log, Redis or the worker's log."""

from __future__ import annotations

import asyncio
import json
import logging

import jwt
import pytest

from bot.links import AUDIENCE
from tests.e2e.conftest import Platform
from tests.e2e.test_jwt_links_e2e import secret_of, zoned
from tests.slack.conftest import slack_bot, stop_click
from tests.slack.fake_slack import CHANNEL, FakeSlack
from tests.support.leaks import assert_absent, redis_dump

pytestmark = pytest.mark.e2e
DOMAIN = "meet.e2e.example"


def tokens_to(fake: FakeSlack, user: str) -> list[str]:
    texts = [str(c.params.get("text", "")) for c in fake.ephemerals(user)]
    return [t.split("?jwt=", 1)[1].split()[0] for t in texts if "?jwt=" in t]


def test_links_arrive_ephemeral_and_nowhere_else(
    platform: Platform, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    settings = zoned(platform).model_copy(
        update={"allowed_users": {"link": ["slack:U0001", "slack:U0003"]}}
    )
    platform.start_worker()
    secret = secret_of(platform)

    async def scenario() -> FakeSlack:
        async with slack_bot(settings, mode="http") as bot:
            fake = bot.fake
            status, ack, _ = await bot.slash_answer("start standup")
            assert status == 200 and "Starting" in ack["text"]
            [alice] = await fake.wait(lambda: tokens_to(fake, "U0001"), 10, "Alice's link")
            claims = jwt.decode(alice, secret, algorithms=["HS256"], audience=AUDIENCE)
            assert (claims["room"], claims["moderator"]) == ("standup", True)
            assert claims["context"]["user"]["id"] == "slack:U0001"
            [post] = await fake.wait(lambda: fake.channel_posts(), 5, "the progress message")
            ts = post.params["_ts"]
            await fake.wait(
                lambda: "standup" in json.dumps(fake.messages[(CHANNEL, ts)]), 60, "the URL"
            )
            await fake.wait(
                lambda: "Platform running" in json.dumps(fake.messages[(CHANNEL, ts)]),
                60,
                "the running message",
            )
            await bot.slash("link", user_id="U0003")
            [carol] = await fake.wait(lambda: tokens_to(fake, "U0003"), 10, "Carol's link")
            guest = jwt.decode(carol, secret, algorithms=["HS256"], audience=AUDIENCE)
            assert (guest["room"], guest["moderator"]) == ("standup", False)
            status, denied, _ = await bot.slash("link", user_id="U0002")
            answered = json.dumps([denied, fake.responses, [c.params for c in fake.calls]])
            assert status == 200 and "may not run `link`" in answered
            assert tokens_to(fake, "U0002") == []
            await bot.click(stop_click(bot, ts))
            stop_ts = await fake.wait(
                lambda: len(fake.channel_posts()) == 2 and fake.channel_posts()[1].params["_ts"],
                5,
                "the stop message",
            )
            await fake.wait(
                lambda: "Audit clean" in json.dumps(fake.messages[(CHANNEL, stop_ts)]),
                60,
                "a clean audit",
            )
            asked = [a for a in bot.audit() if a["user"] == "slack:U0002"]
            assert [a["outcome"] for a in asked if a["command"] == "link"] == ["denied"]
            channel = json.dumps(
                [c.params for c in fake.calls if c.method != "chat.postEphemeral"]
                + list(map(list, fake.messages.items()))
                + fake.responses,
                default=str,
            )
            assert_absent(
                [alice, carol, secret],
                slack_channels=channel,
                redis=redis_dump(settings.redis_dsn),
                worker_log=platform.worker_log(),
                serve_log=caplog.text,
            )
            return fake

    asyncio.run(scenario())
