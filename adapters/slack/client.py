"""Slack's side of the adapter's I/O: the Web API client (retries, rate limits,
errors converted at the boundary, user group lookups), the transport glue
that keeps payloads bolt cannot read from turning into 500s, and the few helpers
the adapter's modules share."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot.config_chat import SlackSettings

log = logging.getLogger("jitsi.slack")
# slack_sdk logs every request body at DEBUG, and chat.postEphemeral's body is a
# person's meeting link: those records must not reach a log, whatever the level.
logging.getLogger("slack_sdk").setLevel(max(logging.getLogger("slack_sdk").level, logging.INFO))

RENDERER = "slack"  # the adapter's name for its saved targets and notice cursor

Say = Callable[[str, bool], Awaitable[None]]
"""Answer the requester: (text, public) -> ack, or response_url once acked."""
COUNTED = ("chat_postMessage", "chat_update")


def secret(value: Any) -> str:
    """The plain value of a ``SecretStr`` (pass it to slack_sdk, never print it)."""
    return value.get_secret_value() if value is not None else ""


class SlackWeb:
    """The Web API as the adapter uses it: every call logged by error code only."""

    def __init__(self, settings: SlackSettings) -> None:
        self.s = settings
        base_url = settings.api_url or AsyncWebClient.BASE_URL
        self.client = AsyncWebClient(
            token=secret(settings.bot_token),
            base_url=base_url if base_url.endswith("/") else base_url + "/",
            # 429: wait Retry-After and try again (Slack's documented contract).
            retry_handlers=[
                AsyncConnectionErrorRetryHandler(max_retry_count=2),
                AsyncRateLimitErrorRetryHandler(max_retry_count=3),
            ],
        )
        self.api_calls = 0  # chat.postMessage + chat.update, for the bench
        self._groups: dict[str, tuple[float, frozenset[str]]] = {}

    async def call(self, method: str, **kwargs: Any) -> Mapping[str, Any] | None:
        """One Web API call; errors are logged (never with the token) and swallowed."""
        try:
            response = await getattr(self.client, method)(**kwargs)
        except SlackApiError as exc:
            log.warning("Slack %s failed: %s", method, error_of(exc))
            return None
        except (TimeoutError, SlackClientError, OSError) as exc:
            log.warning("Slack %s failed: %s", method, type(exc).__name__)
            return None
        if method in COUNTED:
            self.api_calls += 1
        return response.data if isinstance(response.data, Mapping) else None

    async def permalink(self, target: Mapping[str, Any]) -> str | None:
        got = await self.call(
            "chat_getPermalink", channel=target.get("channel"), message_ts=target.get("ts")
        )
        link = got.get("permalink") if got else None
        return link if isinstance(link, str) else None

    async def ephemeral(self, channel: str, user: str, text: str) -> None:
        await self.call("chat_postEphemeral", channel=channel, user=user, text=text)

    async def group_denial(self, verb: str, user_id: str) -> str | None:
        """Why ``user_id`` may not run ``verb`` under ``allowed_usergroups``, or None."""
        groups = self.s.allowed_usergroups.get(verb)
        if not groups:
            return None
        for group in groups:
            if user_id in await self._group_members(group):
                return None
        names = ", ".join(f"<!subteam^{g}>" for g in groups)
        return f"`{verb}` is limited to members of {names}."

    async def _group_members(self, group: str) -> frozenset[str]:
        cached = self._groups.get(group)
        if cached and cached[0] > time.monotonic():
            return cached[1]
        got = await self.call("usergroups_users_list", usergroup=group)
        users = got.get("users") if got else None
        if not isinstance(users, list):
            return frozenset()  # fail closed: nobody is a member we could not check
        members = frozenset(str(u) for u in users)
        self._groups[group] = (time.monotonic() + self.s.usergroup_cache_seconds, members)
        return members


def error_of(exc: SlackApiError) -> str:
    data = exc.response.data if exc.response is not None else None
    if isinstance(data, Mapping):
        return str(data.get("error", "error"))
    return f"HTTP {exc.response.status_code}" if exc.response is not None else "error"


def unreadable(body: Any) -> bool:
    """Payloads bolt itself would crash on (it indexes ``actions[0]``): drop, don't 500."""
    if isinstance(body, Mapping) and body.get("type") == "block_actions":
        actions = body.get("actions")
        if not (isinstance(actions, list) and actions and isinstance(actions[0], Mapping)):
            log.warning("block action without actions dropped")
            return True
    return False


class SocketHandler(AsyncSocketModeHandler):
    """bolt's Socket Mode handler, minus the envelopes bolt would crash on."""

    async def handle(self, client: SocketModeClient, req: SocketModeRequest) -> None:  # type: ignore[override]
        if unreadable(req.payload):
            await client.send_socket_mode_response(SocketModeResponse(req.envelope_id))
            return
        await super().handle(client, req)
