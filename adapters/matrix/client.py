"""The matrix-nio boundary: login, sync, send, room state.

nio's error objects and connection failures become ``MatrixError`` subclasses here
(``adapters.matrix.errors``). Secrets are never logged. Direct rooms
(``adapters.matrix.direct``), logging in (``adapters.matrix.login``) and files
(``adapters.matrix.media``) have modules of their own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
import uuid
from pathlib import Path
from typing import Any

from nio import (
    AsyncClient,
    AsyncClientConfig,
    GroupEncryptionError,
    JoinResponse,
    LocalProtocolError,
    RoomGetStateResponse,
    RoomSendResponse,
    SyncResponse,
)
from nio.crypto import ENCRYPTION_ENABLED
from nio.exceptions import MembersSyncError, SendRetryError

from adapters.matrix.direct import DirectRooms
from adapters.matrix.errors import (
    CONNECTION_ERRORS,
    MatrixError,
    MatrixUnavailable,
    convert,
)
from adapters.matrix.login import password_login, saved_device, token_login
from bot.config_chat import MatrixSettings

log = logging.getLogger("jitsi.matrix")
# nio logs whole sync responses at DEBUG, the bot's direct messages (meeting links)
# among them: those records must not reach a log, whatever the level.
logging.getLogger("nio").setLevel(max(logging.getLogger("nio").level, logging.INFO))


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
        self.direct = DirectRooms(self.nio, self.user_id, self._waited_out_429)
        # Set by the process's first sync, which asks for the full state of every
        # joined room: nio encrypts only for rooms (and members) it has seen.
        self.state_loaded = asyncio.Event()

    async def close(self) -> None:
        await self.nio.close()

    def _waited_out_429(self) -> None:
        self.rate_limited += 1

    # -- login ---------------------------------------------------------------
    async def login(self) -> None:
        """Log in with the access token (device id from whoami) or the password.
        A password login reuses the device id kept in the store, so the
        encryption keys survive restarts."""
        try:
            if self.cfg.access_token is not None:
                token = self.cfg.access_token.get_secret_value()
                await token_login(self.nio, self.user_id, token, self.cfg.device_id)
            else:
                assert self.cfg.password is not None
                password = self.cfg.password.get_secret_value()
                await password_login(self.nio, self.store, self.user_id, password)
        except CONNECTION_ERRORS as exc:
            raise MatrixUnavailable(f"homeserver unreachable: {type(exc).__name__}") from None
        log.info("logged in as %s (device %s)", self.user_id, self.nio.device_id)

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
        except CONNECTION_ERRORS as exc:
            raise MatrixUnavailable(f"sync failed: {type(exc).__name__}") from None
        if not isinstance(resp, SyncResponse):
            raise convert(resp, "sync")
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
        except CONNECTION_ERRORS as exc:
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
                err: MatrixError = convert(resp, f"send to {room_id}")
            except CONNECTION_ERRORS as exc:
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

    async def room_state(self, room_id: str) -> list[dict[str, Any]]:
        try:
            resp = await self.nio.room_get_state(room_id)
        except CONNECTION_ERRORS as exc:
            raise MatrixUnavailable(f"room state failed: {type(exc).__name__}") from None
        if not isinstance(resp, RoomGetStateResponse):
            raise convert(resp, f"state of {room_id}")
        return list(resp.events)

    async def join(self, room_id: str) -> None:
        try:
            resp = await self.nio.join(room_id)
        except CONNECTION_ERRORS as exc:
            raise MatrixUnavailable(f"join failed: {type(exc).__name__}") from None
        if not isinstance(resp, JoinResponse):
            raise convert(resp, f"join {room_id}")

    async def reject(self, room_id: str) -> None:
        with contextlib.suppress(*CONNECTION_ERRORS):  # else rejected again next time
            await self.nio.room_leave(room_id)
