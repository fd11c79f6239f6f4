"""The Slack adapter's notices: unprompted notices (idle warnings, repairs, budgets,
schedules) posted to the configured notice channels, each once."""

from __future__ import annotations

import asyncio
import logging

from adapters.slack import translate
from adapters.slack.client import RENDERER, SlackWeb
from bot.config_chat import SlackSettings
from infra.follow import Follower, StateUnavailable

log = logging.getLogger("jitsi.slack")


class NoticePoster:
    """Follows the notices stream and posts each notice where it belongs."""

    def __init__(self, follower: Follower, web: SlackWeb, settings: SlackSettings) -> None:
        self.follower = follower
        self.web = web
        self.s = settings

    async def run(self) -> None:
        """Post notices forever; a Redis hiccup costs a retry, never the loop."""
        while True:
            try:
                await self._post_all()
            except StateUnavailable as exc:
                log.warning("notice stream unavailable (%s); retrying", exc)
                await asyncio.sleep(1.0)  # back off before reconnecting

    async def _post_all(self) -> None:
        async for entry_id, notice in self.follower.notices(RENDERER):
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
            await self.follower.ack_notice(RENDERER, entry_id)
