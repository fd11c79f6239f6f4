"""The Slack adapter's notices: unprompted notices (idle warnings, repairs, budgets,
schedules) posted to the configured notice channels, each once."""

from __future__ import annotations

import asyncio
import logging

from redis.exceptions import RedisError

from adapters.chat.host import ChatHost
from adapters.slack import translate
from adapters.slack.client import RENDERER, SlackWeb, reraise_cancel
from bot.config_chat import SlackSettings

log = logging.getLogger("jitsi.slack")


class NoticePoster:
    """Follows the host's notices and posts each one where it belongs."""

    def __init__(self, host: ChatHost, web: SlackWeb, settings: SlackSettings) -> None:
        self.host = host
        self.web = web
        self.s = settings

    async def run(self) -> None:
        """Post notices forever; a Redis hiccup costs a retry, never the loop."""
        while True:
            try:
                await self._pin_cursor()
                await self._post_once()
            except RedisError as exc:
                reraise_cancel(exc)
                log.warning("notice stream unavailable (%s); retrying", type(exc).__name__)
                await asyncio.sleep(1.0)  # back off before reconnecting

    async def _pin_cursor(self) -> None:
        # Without a saved cursor the host starts at "now" each time it is asked;
        # save one, so a reader restarted after an error misses nothing.
        r, keys = self.host.aredis, self.host.keys
        if not await r.hexists(keys.cursor(RENDERER), "__notices__"):
            last = await r.xrevrange(keys.notices, count=1)
            await self.host.ack_notice(RENDERER, _text(last[0][0]) if last else "0-0")

    async def _post_once(self) -> None:
        async for entry_id, notice in self.host.notices(RENDERER):
            channels = list(self.s.notice_channels)
            if notice.platform == RENDERER and notice.channel and notice.channel not in channels:
                channels.append(notice.channel)
            for channel in channels:
                await self.web.call(
                    "chat_postMessage",
                    channel=channel,
                    text=notice.text,
                    blocks=translate.notice_blocks(notice),
                )
            # Acknowledged even when Slack refused: a notice must not loop forever.
            await self.host.ack_notice(RENDERER, entry_id)


def _text(value: bytes | str | None) -> str:
    """A Redis reply as text (the client returns bytes; its stubs also allow str)."""
    return value.decode() if isinstance(value, bytes) else str(value or "")
