"""The Slack adapter running in-process against the local fake Slack."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from adapters.chat.host import ChatHost
from adapters.slack.app import SlackAdapter
from adapters.wiring import App
from bot.config import Settings
from bot.config_chat import SlackSettings
from bot.ports import Clock
from infra.clock import SystemClock
from tests.e2e.conftest import emulator_url, platform  # noqa: F401  (e2e fixtures)
from tests.slack.fake_slack import (
    APP_TOKEN,
    BOT_TOKEN,
    CHANNEL,
    SIGNING_SECRET,
    TEAM,
    USER,
    FakeSlack,
    action_body,
    post_signed,
    slash_body,
)
from tests.support.services import free_port

FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text())


@dataclass
class Bot:
    fake: FakeSlack
    adapter: SlackAdapter
    host: ChatHost
    app: App  # the host's wiring: what tests seed and inspect in Redis
    session: aiohttp.ClientSession
    mode: str

    @property
    def events_url(self) -> str:
        return f"http://127.0.0.1:{self.adapter.http_port}/slack/events"

    def slash_fields(self, text: str, **fields: Any) -> dict[str, Any]:
        payload = fixture("slash_command") | {
            "text": text,
            "response_url": self.fake.response_url(),
        }
        return payload | fields

    async def slash(self, text: str, **fields: Any) -> tuple[int, dict[str, Any], float]:
        """Send ``/jitsi text``; returns (HTTP status, the ack's body, ack latency)."""
        payload = self.slash_fields(text, **fields)
        if self.mode == "socket":
            ack = await self.fake.deliver("slash_commands", payload)
            return 200, ack.get("payload") or {}, ack["latency"]
        status, body, took = await post_signed(self.session, self.events_url, slash_body(payload))
        return status, (json.loads(body) if body.startswith("{") else {"raw": body}), took

    async def slash_answer(self, text: str, **fields: Any) -> tuple[int, dict[str, Any], float]:
        """``slash``, then the answer wherever it came: in the ack, or (when the core
        took longer than the ack's budget, as on a loaded machine) by response_url
        after a "Working on it…" ack. Returns (HTTP status, the answer, ack latency)."""
        before = len(self.fake.responses)
        status, ack, took = await self.slash(text, **fields)
        if ack.get("text") != "Working on it…":
            return status, ack, took
        late = await self.fake.wait(
            lambda: self.fake.responses[before:], 30, f"the late answer to /jitsi {text}"
        )
        return status, late[0], took

    async def click(self, payload: dict[str, Any]) -> tuple[int, float]:
        if self.mode == "socket":
            ack = await self.fake.deliver("interactive", payload)
            return 200, ack["latency"]
        status, _, took = await post_signed(self.session, self.events_url, action_body(payload))
        return status, took

    async def event(self, body: dict[str, Any]) -> int:
        if self.mode == "socket":
            await self.fake.deliver("events_api", body)
            return 200
        ts = int(time.time())
        raw = json.dumps(body)
        from tests.slack.fake_slack import sign

        headers = {
            "Content-Type": "application/json",
            "X-Slack-Request-Timestamp": str(ts),
            "X-Slack-Signature": sign(raw, ts),
        }
        async with self.session.post(self.events_url, data=raw, headers=headers) as resp:
            return resp.status

    def audit(self) -> list[dict[str, str]]:
        r = self.app.redis
        return [
            {k.decode(): v.decode() for k, v in fields.items()}
            for _, fields in r.xrange(self.app.keys.audit_log)
            if fields.get(b"kind", b"command") == b"command"  # not the worker's job ends
        ]


def stop_click(bot: Bot, message_ts: str, user: str = "U0002") -> dict[str, Any]:
    body = fixture("block_actions_stop")
    body["user"]["id"] = user
    body["container"]["message_ts"] = message_ts
    body["message"]["ts"] = message_ts
    body["response_url"] = bot.fake.response_url()
    return body  # type: ignore[no-any-return]


@asynccontextmanager
async def slack_bot(
    base: Settings,
    mode: str = "http",
    fake: FakeSlack | None = None,
    occupancy_interval: float | None = None,
    clock: Clock | None = None,
    **slack: Any,
) -> AsyncIterator[Bot]:
    """The adapter serving ``base`` settings plus a Slack section aimed at a fake Slack
    (``clock``: the app's, when the test moves time)."""
    fake = fake or await FakeSlack().start()
    section = SlackSettings(
        bot_token=BOT_TOKEN,
        app_token=APP_TOKEN,
        signing_secret=SIGNING_SECRET,
        mode=mode,  # type: ignore[arg-type]
        http_port=free_port(),
        api_url=fake.api_url,
        **slack,
    )
    app = App(base.model_copy(update={"slack": section}), clock=clock or SystemClock())
    host = app.chat_host()
    adapter = SlackAdapter(host, occupancy_interval=occupancy_interval)
    runner = asyncio.create_task(adapter.run())
    session = aiohttp.ClientSession()
    try:
        ready = asyncio.create_task(adapter.ready.wait())
        await asyncio.wait({ready, runner}, timeout=10, return_when=asyncio.FIRST_COMPLETED)
        if runner.done():
            runner.result()  # raise what went wrong
        assert adapter.ready.is_set(), "the Slack adapter never became ready"
        yield Bot(fake, adapter, host, app, session, mode)
    finally:
        runner.cancel()
        await asyncio.gather(runner, return_exceptions=True)
        await adapter.close()
        await host.close()
        app.redis.close()
        await session.close()
        await fake.close()


__all__ = ["CHANNEL", "TEAM", "USER", "Bot", "fixture", "slack_bot", "stop_click"]
