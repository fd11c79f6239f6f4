"""``jitsi-bot serve``: one asyncio process hosting every configured chat adapter.

With no chat adapter configured it is the terminal chat, so a self-hoster can
try the bot before creating a Slack app or a Matrix account.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from adapters.chat.host import ChatHost
from adapters.wiring import App

log = logging.getLogger("jitsi.serve")


class ChatAdapter(Protocol):
    name: str

    async def run(self) -> None:
        """Serve until cancelled; reconnect on its own."""

    async def close(self) -> None: ...


def enabled_adapters(host: ChatHost) -> list[ChatAdapter]:
    """The adapters whose configuration section is present."""
    adapters: list[ChatAdapter] = []
    if host.settings.slack is not None:
        from adapters.slack.app import SlackAdapter

        adapters.append(SlackAdapter(host))
    if host.settings.matrix is not None:
        from adapters.matrix.app import MatrixAdapter

        adapters.append(MatrixAdapter(host))
    return adapters


async def serve_chat(app: App) -> None:
    host = app.chat_host()
    adapters = enabled_adapters(host)
    log.info("serving %s", ", ".join(a.name for a in adapters))
    try:
        await asyncio.gather(*(a.run() for a in adapters))
    finally:
        for adapter in adapters:
            await adapter.close()
        await host.close()


def has_chat_adapters(app: App) -> bool:
    return app.settings.slack is not None or app.settings.matrix is not None
