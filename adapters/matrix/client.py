"""The matrix-nio boundary: login, sync, send, room state.

nio answers with error objects instead of raising; here they become
``MatrixError`` subclasses (``MatrixUnavailable`` for what a retry may fix), and
connection failures become ``MatrixUnavailable`` too. Secrets are never logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import os
import random
import time
import urllib.parse
import uuid
from pathlib import Path
from typing import Any

import aiohttp
from nio import (
    AsyncClient,
    AsyncClientConfig,
    DirectRoomsResponse,
    ErrorResponse,
    GroupEncryptionError,
    JoinResponse,
    LocalProtocolError,
    LoginResponse,
    MatrixRoom,
    RoomCreateResponse,
    RoomGetStateEventResponse,
    RoomGetStateResponse,
    RoomPreset,
    RoomSendResponse,
    SyncResponse,
    UploadResponse,
    WhoamiResponse,
)
from nio.crypto import ENCRYPTION_ENABLED
from nio.exceptions import MembersSyncError, SendRetryError

from bot.config_chat import MatrixSettings
from bot.errors import BotError

log = logging.getLogger("jitsi.matrix")
# nio logs whole sync responses at DEBUG, the bot's direct messages (meeting links)
# among them: those records must not reach a log, whatever the level.
logging.getLogger("nio").setLevel(max(logging.getLogger("nio").level, logging.INFO))

_CONNECTION_ERRORS = (aiohttp.ClientError, OSError, asyncio.TimeoutError, TimeoutError)
# Error codes no retry can fix: the token or the room is wrong.
_PERMANENT = {"M_UNKNOWN_TOKEN", "M_MISSING_TOKEN", "M_FORBIDDEN", "M_NOT_FOUND", "M_BAD_JSON"}


class MatrixError(BotError):
    """The homeserver refused a request."""

    def __init__(self, message: str, code: str = "", hint: str = "") -> None:
        super().__init__(message, hint)
        self.code = code


class MatrixUnavailable(MatrixError):
    """The homeserver is unreachable, overloaded or rate-limiting: try again later."""

    def __init__(self, message: str, code: str = "", retry_after: float | None = None) -> None:
        super().__init__(message, code)
        self.retry_after = retry_after


class MatrixAuthError(MatrixError):
    """Login failed or the access token is invalid: nothing works until config is fixed."""


def _convert(resp: ErrorResponse, what: str) -> MatrixError:
    code = str(resp.status_code or "")
    text = f"{what}: {code} {resp.message or ''}".strip()
    if code == "M_LIMIT_EXCEEDED" or code == "429":
        after = (resp.retry_after_ms or 1000) / 1000
        return MatrixUnavailable(text, code, retry_after=after)
    if code in ("M_UNKNOWN_TOKEN", "M_MISSING_TOKEN"):
        return MatrixAuthError(text, code, "Check matrix_access_token (or matrix_password).")
    if code in _PERMANENT:
        return MatrixError(text, code)
    return MatrixUnavailable(text, code)  # 5xx and the unknown: a retry may help


DEVICE_NAME = "jitsi-chatops"
# In the store path, beside nio's crypto store: the device a password login made.
DEVICE_FILE = "device.json"


def saved_device(store: Path, user_id: str) -> str | None:
    """The device id a password login of ``user_id`` saved in ``store``, if any."""
    try:
        data = json.loads((store / DEVICE_FILE).read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("user_id") != user_id:
        return None  # another account's device is never reused
    device = data.get("device_id")
    return device if isinstance(device, str) and device else None


def save_device(store: Path, user_id: str, device_id: str) -> None:
    """Keep ``device_id`` for the next password login (written whole, then renamed)."""
    if saved_device(store, user_id) == device_id:
        return
    store.mkdir(parents=True, exist_ok=True)
    tmp = store / f".{DEVICE_FILE}.tmp"
    tmp.write_text(json.dumps({"user_id": user_id, "device_id": device_id}) + "\n")
    os.replace(tmp, store / DEVICE_FILE)


def encryption_available() -> bool:
    return bool(ENCRYPTION_ENABLED)


class Backoff:
    """Exponential backoff with jitter, reset after a success."""

    def __init__(self, first: float = 0.25, cap: float = 30.0) -> None:
        self.first, self.cap, self.current = first, cap, first

    def next(self) -> float:
        wait = self.current * random.uniform(0.8, 1.2)
        self.current = min(self.current * 2, self.cap)
        return wait

    def reset(self) -> None:
        self.current = self.first


class MatrixClient:
    """One bot account on one homeserver; counts what it sends (for the bench)."""

    def __init__(self, cfg: MatrixSettings) -> None:
        if not (cfg.homeserver and cfg.user_id):
            raise MatrixError(
                "Matrix needs matrix_homeserver and matrix_user_id.",
                hint="Set JITSI_MATRIX_HOMESERVER and JITSI_MATRIX_USER_ID.",
            )
        if cfg.access_token is None and cfg.password is None:
            raise MatrixError(
                "Matrix needs matrix_access_token or matrix_password.",
                hint="Create a bot account and set JITSI_MATRIX_ACCESS_TOKEN.",
            )
        self.cfg = cfg
        self.user_id: str = cfg.user_id
        self.encrypted = bool(cfg.encryption and ENCRYPTION_ENABLED)
        self.store = Path(cfg.store_path)
        config = AsyncClientConfig(
            encryption_enabled=self.encrypted,
            store_sync_tokens=False,  # our sync token lives in Redis, with the commands
            max_limit_exceeded=0,  # 429s come back to us: send() waits retry_after_ms
            max_timeouts=0,  # connection errors too: the adapter reconnects with backoff
            request_timeout=cfg.sync_timeout_seconds + 30,
        )
        if self.encrypted:
            self.store.mkdir(parents=True, exist_ok=True)
        # nio's login() takes no device id: it sends the client's own. A password
        # login reuses the device kept in the store, so its encryption keys (and the
        # crypto store named after it) survive a restart.
        device = cfg.device_id
        if device is None and cfg.access_token is None:
            device = saved_device(self.store, cfg.user_id)
        self.nio = AsyncClient(
            cfg.homeserver,
            cfg.user_id,
            device_id=device or "",
            store_path=str(self.store) if self.encrypted else "",
            config=config,
        )
        self.sent = 0
        self.rate_limited = 0
        self._direct: dict[str, str] = {}  # user id -> the direct room made for them
        # Set by the process's first sync, which asks for the full state of every
        # joined room: nio encrypts only for rooms (and members) it has seen.
        self.state_loaded = asyncio.Event()

    async def close(self) -> None:
        await self.nio.close()

    # -- login ---------------------------------------------------------------
    async def login(self) -> None:
        """Log in with the access token (device id from whoami) or the password.
        A password login reuses the device id kept in the store, so the
        encryption keys survive restarts."""
        try:
            if self.cfg.access_token is not None:
                await self._token_login(self.cfg.access_token.get_secret_value())
            else:
                assert self.cfg.password is not None
                await self._password_login(self.cfg.password.get_secret_value())
        except _CONNECTION_ERRORS as exc:
            raise MatrixUnavailable(f"homeserver unreachable: {type(exc).__name__}") from None
        log.info("logged in as %s (device %s)", self.user_id, self.nio.device_id)

    async def _token_login(self, token: str) -> None:
        device = self.cfg.device_id
        if not device:
            self.nio.access_token = token
            who = await self.nio.whoami()
            if not isinstance(who, WhoamiResponse):
                raise _convert(who, "whoami")
            if who.user_id != self.user_id:
                raise MatrixAuthError(
                    f"The access token belongs to {who.user_id}, not {self.user_id}."
                )
            device = who.device_id or ""
        self.nio.restore_login(self.user_id, device, token)

    async def _password_login(self, password: str) -> None:
        resp = await self.nio.login(password=password, device_name=DEVICE_NAME)
        if not isinstance(resp, LoginResponse):
            err = _convert(resp, f"login as {self.user_id}")
            if isinstance(err, MatrixUnavailable):
                raise err
            # Synapse answers M_FORBIDDEN "Invalid username or password"; the password
            # itself is never part of a message.
            raise MatrixAuthError(
                str(err),
                err.code,
                "Check matrix_user_id and matrix_password (JITSI_MATRIX_PASSWORD).",
            )
        save_device(self.store, self.user_id, resp.device_id)

    # -- requests --------------------------------------------------------------
    async def sync(self, since: str | None, timeout_ms: int, first: bool) -> SyncResponse:
        sync_filter: dict[str, Any] | None = None
        if first:  # history from before the bot existed is never read
            sync_filter = {"room": {"timeline": {"limit": 0}}}
        # A restart resumes from the saved token, but nio's room model starts empty:
        # the first sync of a process brings every joined room's state back.
        full_state = first or not self.state_loaded.is_set()
        try:
            resp = await self.nio.sync(
                timeout=timeout_ms, since=since, full_state=full_state, sync_filter=sync_filter
            )
        except _CONNECTION_ERRORS as exc:
            raise MatrixUnavailable(f"sync failed: {type(exc).__name__}") from None
        if not isinstance(resp, SyncResponse):
            raise _convert(resp, "sync")
        if self.encrypted:
            await self._crypto_housekeeping()
        self.state_loaded.set()
        return resp

    async def _crypto_housekeeping(self) -> None:
        # What nio's sync_forever does after each sync; we run our own loop.
        client = self.nio
        try:
            await client.send_to_device_messages()
            if client.should_upload_keys:
                await client.keys_upload()
            if client.should_query_keys:
                await client.keys_query()
            if client.should_claim_keys:
                await client.keys_claim(client.get_users_for_key_claiming())
        except _CONNECTION_ERRORS as exc:
            raise MatrixUnavailable(f"key exchange failed: {type(exc).__name__}") from None

    async def send(
        self,
        room_id: str,
        content: dict[str, Any],
        *,
        txn: str | None = None,
        deadline: float = 600.0,
    ) -> str:
        """Send a room message, retrying 429s (after ``retry_after_ms``) and outages
        with the SAME transaction id, so the homeserver never stores it twice."""
        txn = txn or uuid.uuid4().hex
        backoff = Backoff()
        give_up = time.monotonic() + deadline
        if self.encrypted and not self.state_loaded.is_set():
            # Jobs resumed after a restart send before the first sync: wait for it,
            # or nio cannot tell whether (and for whom) to encrypt.
            try:
                await asyncio.wait_for(self.state_loaded.wait(), deadline)
            except TimeoutError:
                raise MatrixUnavailable("send: no sync with the homeserver yet") from None
        while True:
            try:
                resp = await self.nio.room_send(
                    room_id, "m.room.message", content, tx_id=txn, ignore_unverified_devices=True
                )
                if isinstance(resp, RoomSendResponse):
                    self.sent += 1
                    return str(resp.event_id)
                err: MatrixError = _convert(resp, f"send to {room_id}")
            except _CONNECTION_ERRORS as exc:
                err = MatrixUnavailable(f"send failed: {type(exc).__name__}")
            except (MembersSyncError, SendRetryError, GroupEncryptionError) as exc:
                # The room's members or keys could not be fetched this time.
                err = MatrixUnavailable(f"send to {room_id}: {type(exc).__name__}: {exc}")
            except LocalProtocolError as exc:  # a room the bot is not in
                raise MatrixError(f"send to {room_id}: {exc}", "M_FORBIDDEN") from None
            if not isinstance(err, MatrixUnavailable) or time.monotonic() > give_up:
                raise err
            if err.retry_after is not None:
                self.rate_limited += 1
                wait = err.retry_after
            else:
                wait = backoff.next()
            log.warning("send to %s: %s; retrying in %.1f s", room_id, err, wait)
            await asyncio.sleep(wait)

    async def send_file(
        self,
        room_id: str,
        data: bytes,
        filename: str,
        mimetype: str,
        image_size: tuple[int, int] | None = None,
    ) -> str:
        """Upload ``data`` to the media repository and post it: ``m.image`` with its
        width and height when ``image_size`` is given, else ``m.file``. In an
        encrypted room the upload is encrypted and the event carries its keys."""
        encrypt = self.encrypted and room_id in self.nio.rooms and self.nio.rooms[room_id].encrypted
        try:
            resp, keys = await self.nio.upload(
                io.BytesIO(data),
                content_type="application/octet-stream" if encrypt else mimetype,
                filename=filename,
                encrypt=encrypt,
                filesize=len(data),
            )
        except _CONNECTION_ERRORS as exc:
            raise MatrixUnavailable(f"upload failed: {type(exc).__name__}") from None
        if not isinstance(resp, UploadResponse):
            raise _convert(resp, f"upload {filename}")
        info: dict[str, Any] = {"mimetype": mimetype, "size": len(data)}
        if image_size is not None:
            info["w"], info["h"] = image_size
        content: dict[str, Any] = {
            "msgtype": "m.image" if image_size is not None else "m.file",
            "body": filename,
            "filename": filename,
            "info": info,
        }
        if encrypt and keys is not None:
            content["file"] = {**keys, "url": resp.content_uri}
        else:
            content["url"] = resp.content_uri
        return await self.send(room_id, content)

    async def room_state(self, room_id: str) -> list[dict[str, Any]]:
        try:
            resp = await self.nio.room_get_state(room_id)
        except _CONNECTION_ERRORS as exc:
            raise MatrixUnavailable(f"room state failed: {type(exc).__name__}") from None
        if not isinstance(resp, RoomGetStateResponse):
            raise _convert(resp, f"state of {room_id}")
        return list(resp.events)

    async def direct_room(self, user_id: str) -> str:
        """A private room with ``user_id`` alone (``is_direct``, their clients list it
        under direct messages): the one recorded in the bot's ``m.direct`` account
        data while they are still in it or invited (so a restart does not open a new
        room per person), else a new one, recorded there."""
        known = self._direct.get(user_id) or await self._recorded_direct(user_id)
        if known is not None:
            self._direct[user_id] = known
            return known
        give_up = time.monotonic() + 120.0
        while True:
            try:
                resp = await self.nio.room_create(
                    is_direct=True,
                    invite=[user_id],
                    preset=RoomPreset.trusted_private_chat,
                    name="Jitsi meeting links",
                )
            except _CONNECTION_ERRORS as exc:
                raise MatrixUnavailable(
                    f"creating a direct room failed: {type(exc).__name__}"
                ) from None
            if isinstance(resp, RoomCreateResponse):
                break
            err = _convert(resp, f"a direct room with {user_id}")
            # A 429 made nothing, so asking again is safe (unlike a lost connection,
            # after which the room may exist): wait as the homeserver says, as send() does.
            after = getattr(err, "retry_after", None)
            if after is None or time.monotonic() > give_up:
                raise err
            self.rate_limited += 1
            await asyncio.sleep(after)
        room_id = str(resp.room_id)
        # With encryption on, nio sends only to rooms a sync has shown it, and this one
        # is answered from inside a sync's handling: tell nio of it now. It is
        # unencrypted (we made it so); the next sync fills in the rest.
        self.nio.rooms.setdefault(room_id, MatrixRoom(room_id, self.user_id))
        self._direct[user_id] = room_id
        await self._record_direct(user_id, room_id)
        return room_id

    async def _direct_map(self) -> dict[str, list[str]] | None:
        """The bot's ``m.direct`` account data (user id -> room ids); {} when never
        set; None when it cannot be read now."""
        try:
            resp = await self.nio.list_direct_rooms()
        except _CONNECTION_ERRORS:
            return None
        if isinstance(resp, DirectRoomsResponse):
            return {str(k): [str(r) for r in v] for k, v in resp.rooms.items()}
        return {} if getattr(resp, "status_code", None) == "M_NOT_FOUND" else None

    async def _recorded_direct(self, user_id: str) -> str | None:
        """The newest recorded direct room with ``user_id`` that the bot is in and they
        are in or invited to (a room they left is not reused)."""
        recorded = await self._direct_map()
        for room_id in reversed((recorded or {}).get(user_id, [])):
            # Asked of the homeserver: after a restart nio's room model may not hold
            # a quiet room yet. The bot's own membership comes first: a room it has
            # left cannot be read, let alone sent to.
            if await self._membership(room_id, self.user_id) != "join":
                continue
            if await self._membership(room_id, user_id) in ("join", "invite"):
                self.nio.rooms.setdefault(room_id, MatrixRoom(room_id, self.user_id))
                return room_id
        return None

    async def _membership(self, room_id: str, user_id: str) -> str | None:
        try:
            resp = await self.nio.room_get_state_event(room_id, "m.room.member", user_id)
        except _CONNECTION_ERRORS:
            return None
        if isinstance(resp, RoomGetStateEventResponse):
            return str(resp.content.get("membership") or "") or None
        return None

    async def _record_direct(self, user_id: str, room_id: str) -> None:
        """Add ``room_id`` to the bot's ``m.direct`` (clients do this for rooms they
        open as direct; the homeserver does not). Best effort: a failure costs only
        a new room after the next restart."""
        recorded = await self._direct_map()
        if recorded is None:
            return
        recorded[user_id] = [*recorded.get(user_id, []), room_id][-5:]
        quoted = urllib.parse.quote(self.user_id, safe="")
        try:
            resp = await self.nio.send(
                "PUT",
                f"/_matrix/client/v3/user/{quoted}/account_data/m.direct",
                json.dumps(recorded),
                headers={"Authorization": f"Bearer {self.nio.access_token}"},
            )
            resp.release()
            if resp.status != 200:
                log.warning("recording the direct room failed: HTTP %s", resp.status)
        except _CONNECTION_ERRORS as exc:
            log.warning("recording the direct room failed: %s", type(exc).__name__)

    async def join(self, room_id: str) -> None:
        try:
            resp = await self.nio.join(room_id)
        except _CONNECTION_ERRORS as exc:
            raise MatrixUnavailable(f"join failed: {type(exc).__name__}") from None
        if not isinstance(resp, JoinResponse):
            raise _convert(resp, f"join {room_id}")

    async def reject(self, room_id: str) -> None:
        with contextlib.suppress(*_CONNECTION_ERRORS):  # else rejected again next time
            await self.nio.room_leave(room_id)
