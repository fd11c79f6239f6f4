"""The Slack adapter's I/O: slack-bolt listeners in Socket Mode or HTTP mode, acks
within Slack's 3 s and the answers after them, App Home. A job's live message
(``progress``), the running meeting's occupancy, notices and the cost report have
modules of their own. All decisions about payloads and blocks live in
``adapters.slack.translate``; these modules only move them between Slack and the host.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import re
from collections.abc import Awaitable, Mapping
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackClientError

from adapters.chat.host import ChatHost
from adapters.slack import translate
from adapters.slack.client import RENDERER, Say, SlackWeb, SocketHandler, secret, unreadable
from adapters.slack.notices import NoticePoster
from adapters.slack.occupancy import Occupancy
from adapters.slack.progress import JobMessages, edit
from adapters.slack.report import deliver
from adapters.slack.translate import MalformedPayload, SlackAdapterError, SlackRequest
from bot.commands import command_of
from bot.config_chat import SlackSettings
from bot.model import JobKind
from bot.reply import Reply, ReplyKind
from infra.follow import StateUnavailable

log = logging.getLogger("jitsi.slack")

# Slack drops a request not acknowledged within 3 s; answer by then even when
# Redis or Slack's own API is slow, and follow up through response_url.
ACK_BUDGET_SECONDS = 2.0


class SlackConfigError(SlackAdapterError):
    """The Slack section of the configuration cannot run the chosen mode."""


def _check(s: SlackSettings) -> None:
    missing = [("slack_bot_token", s.bot_token)]
    if s.mode == "socket":
        missing.append(("slack_app_token", s.app_token))
    else:
        missing.append(("slack_signing_secret", s.signing_secret))
    for key, value in missing:
        if not secret(value):
            raise SlackConfigError(
                f"Slack {s.mode} mode needs `{key}`.",
                f"Set JITSI_{key.upper()} or `{key}` in config.json (see docs/slack.md).",
            )


class SlackAdapter:
    name = "slack"

    def __init__(
        self,
        host: ChatHost,
        *,
        min_interval: float = 1.0,
        occupancy_interval: float | None = None,
    ) -> None:
        settings = host.settings.slack
        if settings is None:
            raise SlackConfigError("Slack is not configured.")
        _check(settings)
        self.host = host
        self.s = settings
        self.command = f"/{host.settings.command_name}"
        self.web = SlackWeb(settings)
        self.client = self.web.client
        http = settings.mode == "http"
        self.bolt = AsyncApp(
            client=self.client,
            # Never fall back to SLACK_SIGNING_SECRET: configuration is read once.
            signing_secret=secret(settings.signing_secret),
            request_verification_enabled=http,
            logger=logging.getLogger("jitsi.slack.bolt"),
        )
        self.bolt.command(self.command)(self._on_command)
        self.bolt.action(re.compile(".*"))(self._on_action)
        self.bolt.event("app_home_opened")(self._on_home)
        self.ready = asyncio.Event()
        self.http_port: int | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        self.occupancy = Occupancy(
            host,
            occupancy_interval or host.settings.idle.check_seconds,
            functools.partial(edit, self.web),
            self._spawn,
        )
        self.jobs = JobMessages(
            host,
            self.web,
            self.occupancy,
            self._spawn,
            min_interval=min_interval,
            command=self.command,
        )
        self.notices = NoticePoster(host.follower, self.web, settings)
        self._socket: AsyncSocketModeHandler | None = None
        self._runner: web.AppRunner | None = None

    # -- lifecycle -------------------------------------------------------------
    async def run(self) -> None:
        """Resume unfinished messages, post notices, serve Slack until cancelled."""
        self._spawn(self.notices.run())
        for job_id, target in (await self.host.follower.pending_targets(RENDERER)).items():
            log.info("resuming the message of job %s", job_id)
            self.jobs.follow(job_id, target)
        if self.s.mode == "socket":
            self._socket = SocketHandler(
                self.bolt, secret(self.s.app_token), web_client=self.client
            )
            await self._socket.connect_async()  # type: ignore[no-untyped-call]
        else:
            web_app = web.Application()
            web_app.router.add_post(self.s.http_path, self._http)
            self._runner = web.AppRunner(web_app, access_log=None)
            await self._runner.setup()
            site = web.TCPSite(self._runner, self.s.http_host, self.s.http_port)
            await site.start()
            server = site._server
            sockets = getattr(server, "sockets", None) or []
            self.http_port = sockets[0].getsockname()[1] if sockets else self.s.http_port
            log.info(
                "Slack HTTP endpoint on %s:%s%s", self.s.http_host, self.http_port, self.s.http_path
            )
        self.ready.set()
        await asyncio.Event().wait()

    async def close(self) -> None:
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            # Bounded, as the Matrix adapter's: a task waiting on a worker thread (a
            # blocking Redis read) must not hold the shutdown up.
            await asyncio.wait(tasks, timeout=5.0)
        if self._socket is not None:
            await self._socket.close_async()  # type: ignore[no-untyped-call]
        if self._runner is not None:
            await self._runner.cleanup()

    async def _http(self, request: web.Request) -> web.Response:
        """bolt's aiohttp adapter, except that an unparsable body is a 400, not a 500."""
        try:
            bolt_req = await to_bolt_request(request)
        except ValueError:
            return web.Response(status=400, text="malformed request")
        if unreadable(bolt_req.body):
            return web.Response(status=200)  # acknowledged and dropped
        return await to_aiohttp_response(await self.bolt.async_dispatch(bolt_req))

    def _spawn(self, coro: Awaitable[Any]) -> asyncio.Task[Any]:
        task = asyncio.ensure_future(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # -- listeners ---------------------------------------------------------------
    async def _on_command(self, ack: Any, command: dict[str, Any], respond: Any) -> None:
        try:
            req = translate.slash_command(command)
        except MalformedPayload as exc:
            log.warning("malformed slash command: %s", exc)
            await _ack(ack, "Sorry, I could not read that command.", False)
            return
        decided = asyncio.ensure_future(self._decide(req))
        done, _ = await asyncio.wait({decided}, timeout=ACK_BUDGET_SECONDS)
        later: Say = functools.partial(self._later, req, respond)
        if done:
            await self._answer(req, decided.result(), lambda t, p: _ack(ack, t, p), later)
            return
        await _ack(ack, "Working on it…", False)
        await self._answer(req, await decided, later, later)

    async def _on_action(self, ack: Any, body: dict[str, Any], respond: Any) -> None:
        await ack()
        try:
            req = translate.block_action(body)
        except MalformedPayload as exc:
            log.warning("block action refused: %s", exc)
            text = "Sorry, that button is not something I can do."
            if respond is not None:
                await _respond(respond, text, False)
            return
        if not req.text:
            return  # Join: a link button, Slack opened the URL
        result = await self._decide(req)
        done = isinstance(result, Reply) and result.kind in (ReplyKind.JOB, ReplyKind.INFO)
        message = body.get("message")
        # A message still being followed is redrawn by its job; others lose their buttons.
        followed = req.message_ts in self.jobs.following
        if done and req.message_ts and not followed and isinstance(message, Mapping):
            await self.occupancy.unwatch(req.message_ts)
            await self.web.call(
                "chat_update",
                channel=req.channel,
                ts=req.message_ts,
                text=str(message.get("text") or ""),
                blocks=translate.acted_note(message.get("blocks") or [], req.user_id, req.text),
            )
        later: Say = functools.partial(self._later, req, respond)
        await self._answer(req, result, later, later)

    async def _later(self, req: SlackRequest, respond: Any, text: str, public: bool) -> None:
        """Answer after the ack: through response_url when Slack gave one, else by API."""
        if respond is not None and req.response_url:
            await _respond(respond, text, public)
        elif public:
            await self.web.call("chat_postMessage", channel=req.channel, text=text)
        else:
            await self.web.ephemeral(req.channel, req.user_id, text)

    async def _on_home(self, body: dict[str, Any]) -> None:
        if not self.s.app_home:
            return
        try:
            opened = translate.app_home_opened(body)
        except MalformedPayload as exc:
            log.warning("malformed app_home_opened: %s", exc)
            return
        if opened is None or translate.place_denial(opened.team, "", self.s.allowed_teams, []):
            return
        view = await self._home_view()
        await self.web.call("views_publish", user_id=opened.user_id, view=view)

    async def _home_view(self) -> dict[str, Any]:
        glance = await self.host.glance.session()
        hours, cost = await self.host.glance.month_to_date(glance.now)
        return translate.home_view(
            await self.host.status_text(),
            glance.url,
            hours,
            cost,
            glance.now,
            self.host.settings.command_name,
            self.occupancy.participants(glance),
        )

    # -- deciding and answering ---------------------------------------------------
    async def _decide(self, req: SlackRequest) -> Reply | str:
        """The core's reply, or the adapter's own denial text (already audited)."""
        denial = translate.place_denial(
            req.team, req.channel, self.s.allowed_teams, self.s.allowed_channels
        )
        # The core's parser names the command; what does not parse is the core's to
        # answer (with its usage help), not an allow list's.
        verb = command_of(req.text, self.host.settings.command_name)
        if not denial and verb is not None:
            denial = await self.web.group_denial(verb, req.user_id)
        if denial:
            await self.host.audit(req.actor, req.text, f"denied: {denial}")
            return denial
        try:
            return await self.host.handle(req.text, req.actor)
        except StateUnavailable as exc:  # Redis away: say so at once (nothing to audit to)
            return exc.user_message()

    async def _answer(self, req: SlackRequest, result: Reply | str, say: Say, later: Say) -> None:
        """Answer through ``say`` (the ack, when in time); ``later`` is for what follows."""
        if isinstance(result, str):
            await say(result, False)
            return
        reply = result
        if reply.link:
            # The asker's own link: chat.postEphemeral shows it to them alone, and
            # Slack keeps no copy in the channel's history.
            await self.web.ephemeral(req.channel, req.user_id, reply.link)
        if reply.report is not None:
            await say(f"Drawing the cost report for {reply.report.month}…", False)
            await deliver(self.host, self.client, req, reply, later)
            return
        if reply.kind is not ReplyKind.JOB or reply.job_id is None:
            await say(reply.text, not reply.private and reply.kind is ReplyKind.INFO)
            return
        if reply.joined:
            target = await self.host.follower.target(RENDERER, reply.job_id)
            link = await self.web.permalink(target) if target else None
            await say(translate.link_reply(reply.text, link), False)
            return
        await say(reply.text, False)
        kind = "start" if reply.job_kind is JobKind.START else "stop"
        await self.jobs.post(req, reply, kind)


async def _ack(ack: Any, text: str, public: bool) -> None:
    await ack(text=text, response_type="in_channel" if public else "ephemeral")


async def _respond(respond: Any, text: str, public: bool) -> None:
    try:
        await respond(
            text=text, response_type="in_channel" if public else "ephemeral", replace_original=False
        )
    except (SlackClientError, OSError, ValueError) as exc:
        log.warning("response_url post failed: %s", type(exc).__name__)
