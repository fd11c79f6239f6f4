"""A small local Slack: Web API methods, response_url, and a Socket Mode websocket.

It records every call it receives; the real slack-bolt / slack_sdk code talks to it
through ``AsyncWebClient(base_url=...)`` and ``apps.connections.open``.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

import aiohttp
from aiohttp import web

from tests.support.services import free_port, until

BOT_TOKEN = "xoxb-test-0000-secret-bot-token"
APP_TOKEN = "xapp-1-test-secret-app-token"
SIGNING_SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
TEAM, CHANNEL, USER = "T0001", "C0001", "U0001"


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float
    auth: str = ""


@dataclass
class FakeSlack:
    calls: list[Call] = field(default_factory=list)
    messages: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    responses: list[dict[str, Any]] = field(default_factory=list)  # response_url posts
    acks: dict[str, dict[str, Any]] = field(default_factory=dict)  # envelope id -> ack
    rate_limit_once: set[str] = field(default_factory=set)  # methods to answer 429 once
    not_in_channel: set[str] = field(default_factory=set)
    usergroups: dict[str, list[str]] = field(default_factory=dict)
    # files upload v2: file id -> {"filename", "length", "data" (the bytes posted to the
    # upload URL), "title", "channel_id", "initial_comment", "complete"}
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    port: int = 0
    _ts: itertools.count = field(default_factory=lambda: itertools.count(1))  # type: ignore[type-arg]
    _sockets: list[web.WebSocketResponse] = field(default_factory=list)
    _ack_waiters: dict[str, asyncio.Future[dict[str, Any]]] = field(default_factory=dict)
    _runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        return f"{self.url}/api/"

    async def start(self) -> FakeSlack:
        app = web.Application()
        app.router.add_post("/api/{method}", self._api)
        app.router.add_get("/api/{method}", self._api)
        app.router.add_post("/response/{rid}", self._response)
        app.router.add_post("/upload/{file_id}", self._upload)
        app.router.add_get("/socket", self._socket)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        self.port = free_port()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        return self

    async def close(self) -> None:
        for ws in list(self._sockets):
            await ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    # -- queries -------------------------------------------------------------------
    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    def ephemerals(self, user: str | None = None) -> list[Call]:
        """chat.postEphemeral calls (shown to one user, kept in no channel), for ``user``."""
        return [
            c
            for c in self.calls_to("chat.postEphemeral")
            if user is None or c.params.get("user") == user
        ]

    def channel_posts(self, channel: str | None = None) -> list[Call]:
        """Top-level chat.postMessage calls (not thread replies)."""
        return [
            c
            for c in self.calls_to("chat.postMessage")
            if "thread_ts" not in c.params and (channel is None or c.params["channel"] == channel)
        ]

    def response_url(self) -> str:
        return f"{self.url}/response/{uuid.uuid4().hex[:8]}"

    async def wait(self, predicate: Any, timeout: float, what: str) -> Any:
        """Poll ``predicate`` (a no-argument callable) with a deadline (``until``)."""
        return await until(predicate, timeout, what)

    # -- Web API ------------------------------------------------------------------
    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params: dict[str, Any] = dict(request.query)
        if request.method == "GET":
            pass
        elif request.content_type == "application/json":
            params.update(await request.json())
        else:
            params.update(await request.post())
        for key in ("blocks", "view"):  # form-encoded JSON arguments
            if isinstance(params.get(key), str):
                params[key] = json.loads(params[key])
        auth = request.headers.get("Authorization", "")
        self.calls.append(Call(method, params, time.monotonic(), auth))
        if method in self.rate_limit_once:
            self.rate_limit_once.discard(method)
            return web.json_response(
                {"ok": False, "error": "ratelimited"}, status=429, headers={"Retry-After": "1"}
            )
        if not auth.startswith("Bearer "):
            return web.json_response({"ok": False, "error": "not_authed"})
        handler = getattr(self, "_m_" + method.replace(".", "_"), None)
        if handler is None:
            return web.json_response({"ok": False, "error": "unknown_method"})
        return web.json_response(handler(params))

    async def _upload(self, request: web.Request) -> web.Response:
        """Step 2 of files upload v2: the bytes, posted to the URL step 1 handed out."""
        file = self.files.get(request.match_info["file_id"])
        if file is None:
            return web.Response(status=404, text="no such upload")
        file["data"] = await request.read()
        return web.Response(text="OK - " + str(len(file["data"])))

    def _m_files_getUploadURLExternal(self, p: dict[str, Any]) -> dict[str, Any]:
        if not p.get("filename") or not str(p.get("length", "")).isdigit():
            return {"ok": False, "error": "invalid_arguments"}
        file_id = f"F{len(self.files) + 1:08d}"
        self.files[file_id] = {"filename": p["filename"], "length": int(p["length"])}
        return {"ok": True, "upload_url": f"{self.url}/upload/{file_id}", "file_id": file_id}

    def _m_files_completeUploadExternal(self, p: dict[str, Any]) -> dict[str, Any]:
        if p.get("channel_id") in self.not_in_channel:  # shared nowhere; the uploads stay
            return {"ok": False, "error": "not_in_channel"}
        listed = p.get("files")
        listed = json.loads(listed) if isinstance(listed, str) else listed
        done = []
        for item in listed or []:
            file = self.files.get(item.get("id", ""))
            if file is None or len(file.get("data", b"")) != file["length"]:
                return {"ok": False, "error": "file_upload_not_complete"}
            file.update(
                title=item.get("title"),
                channel_id=p.get("channel_id"),
                initial_comment=p.get("initial_comment"),
                complete=True,
            )
            done.append({"id": item["id"], "title": item.get("title"), "name": file["filename"]})
        return {"ok": True, "files": done}

    def _next_ts(self) -> str:
        return f"1700000000.{next(self._ts):06d}"

    def _m_auth_test(self, p: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://fake.slack.com/",
            "team": "Fake",
            "user": "jitsi",
            "team_id": TEAM,
            "user_id": "UBOT",
            "bot_id": "BBOT",
        }

    def _m_chat_postMessage(self, p: dict[str, Any]) -> dict[str, Any]:
        channel = p.get("channel", "")
        if channel in self.not_in_channel:
            return {"ok": False, "error": "not_in_channel"}
        ts = self._next_ts()
        p["_ts"] = ts  # recorded with the call: which message it made
        self.messages[(channel, ts)] = {"text": p.get("text"), "blocks": p.get("blocks")}
        return {"ok": True, "channel": channel, "ts": ts, "message": {"text": p.get("text")}}

    def _m_chat_update(self, p: dict[str, Any]) -> dict[str, Any]:
        key = (p.get("channel", ""), p.get("ts", ""))
        if key not in self.messages:
            return {"ok": False, "error": "message_not_found"}
        self.messages[key] = {"text": p.get("text"), "blocks": p.get("blocks")}
        return {"ok": True, "channel": key[0], "ts": key[1]}

    def _m_chat_postEphemeral(self, p: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "message_ts": self._next_ts()}

    def _m_chat_getPermalink(self, p: dict[str, Any]) -> dict[str, Any]:
        ts = str(p.get("message_ts", "")).replace(".", "")
        return {"ok": True, "permalink": f"https://fake.slack.com/archives/{p['channel']}/p{ts}"}

    def _m_views_publish(self, p: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "view": {"id": "V1", **(p.get("view") or {})}}

    def _m_views_open(self, p: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "view": {"id": "V2", **(p.get("view") or {})}}

    def _m_usergroups_users_list(self, p: dict[str, Any]) -> dict[str, Any]:
        group = p.get("usergroup", "")
        if group not in self.usergroups:
            return {"ok": False, "error": "no_such_subteam"}
        return {"ok": True, "users": self.usergroups[group]}

    def _m_apps_connections_open(self, p: dict[str, Any]) -> dict[str, Any]:
        return {"ok": True, "url": f"ws://127.0.0.1:{self.port}/socket"}

    async def _response(self, request: web.Request) -> web.Response:
        self.responses.append({"at": time.monotonic(), **(await request.json())})
        return web.Response(text="ok")

    # -- Socket Mode -----------------------------------------------------------------
    async def _socket(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        self._sockets.append(ws)
        await ws.send_json(
            {
                "type": "hello",
                "num_connections": 1,
                "connection_info": {"app_id": "A0001"},
                "debug_info": {"host": "fake", "approximate_connection_time": 3600},
            }
        )
        try:
            async for msg in ws:
                if msg.type != aiohttp.WSMsgType.TEXT:
                    continue
                data = json.loads(msg.data)
                envelope = data.get("envelope_id")
                if envelope:
                    self.acks[envelope] = {"at": time.monotonic(), **data}
                    waiter = self._ack_waiters.pop(envelope, None)
                    if waiter and not waiter.done():
                        waiter.set_result(data)
        finally:
            self._sockets.remove(ws)
        return ws

    async def deliver(
        self, kind: str, payload: dict[str, Any], timeout: float = 5
    ) -> dict[str, Any]:
        """Send one envelope to the connected app and return its ack (with ``latency``)."""
        await self.wait(lambda: self._sockets, 10, "a Socket Mode connection")
        envelope = uuid.uuid4().hex
        waiter: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._ack_waiters[envelope] = waiter
        sent = time.monotonic()
        await self._sockets[-1].send_json(
            {
                "envelope_id": envelope,
                "type": kind,
                "payload": payload,
                "accepts_response_payload": kind != "events_api",
                "retry_attempt": 0,
                "retry_reason": "",
            }
        )
        ack = await asyncio.wait_for(waiter, timeout)
        return {"latency": time.monotonic() - sent, **ack}


# -- signed HTTP requests ------------------------------------------------------------


def sign(body: str, timestamp: int, secret: str = SIGNING_SECRET) -> str:
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def slash_body(fields: dict[str, Any]) -> str:
    return urlencode(fields)


def action_body(payload: dict[str, Any]) -> str:
    return urlencode({"payload": json.dumps(payload)})


async def post_signed(
    session: aiohttp.ClientSession,
    url: str,
    body: str,
    *,
    timestamp: int | None = None,
    secret: str = SIGNING_SECRET,
    signature: str | None = None,
) -> tuple[int, str, float]:
    """POST ``body`` (form-encoded) signed like Slack; returns (status, text, seconds)."""
    ts = int(time.time()) if timestamp is None else timestamp
    headers = {
        "Content-Type": "application/x-www-form-urlencoded",
        "X-Slack-Request-Timestamp": str(ts),
        "X-Slack-Signature": signature or sign(body, ts, secret),
    }
    started = time.monotonic()
    async with session.post(url, data=body.encode(), headers=headers) as resp:
        text = await resp.text()
        return resp.status, text, time.monotonic() - started
