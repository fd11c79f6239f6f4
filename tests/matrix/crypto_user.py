"""A test user with end-to-end encryption: a real matrix-nio ``AsyncClient`` (vodozemac)
with its own SQLite key store, driven from the synchronous tests through an event
loop: the BOT's loop, because nio's SQLite store binds its (module-global) peewee
models around each query, and two clients querying from two threads unbind each
other's models mid-query. It decrypts what it receives,
sends encrypted, and shares its room keys with every device of the room
(``ignore_unverified_devices``), as Element does by default."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from nio import (
    AsyncClient,
    AsyncClientConfig,
    MegolmEvent,
    RoomSendResponse,
    SyncResponse,
)

from tests.matrix.synapse import User

MEGOLM = {"algorithm": "m.megolm.v1.aes-sha2"}
ENCRYPTION = {"type": "m.room.encryption", "state_key": "", "content": MEGOLM}


class CryptoUser:
    """``user`` (registered over HTTP) logged in with nio and encryption on."""

    def __init__(self, user: User, store: Path, loop: asyncio.AbstractEventLoop) -> None:
        self.user = user
        self.loop = loop
        store.mkdir(parents=True, exist_ok=True)
        config = AsyncClientConfig(encryption_enabled=True, store_sync_tokens=False)

        async def build() -> AsyncClient:
            client = AsyncClient(
                user.hs.url, user.user_id, device_id=user.device_id, store_path=str(store),
                config=config,
            )  # fmt: skip
            client.restore_login(user.user_id, user.device_id, user.token)
            return client

        self.nio: AsyncClient = self._run(build())
        self.timeline: dict[str, list[Any]] = {}  # room -> nio events, decrypted when possible

    def _run(self, coro: Coroutine[Any, Any, Any], timeout: float = 30) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    @property
    def user_id(self) -> str:
        return self.user.user_id

    def create_encrypted_room(self, *invite: str) -> str:
        return self.user.create_room(initial_state=[ENCRYPTION], invite=list(invite))

    def sync(self, timeout_ms: int = 0) -> None:
        """One sync plus the key exchange nio's ``sync_forever`` would do after it."""
        self._run(self._sync(timeout_ms))

    async def _sync(self, timeout_ms: int) -> None:
        client = self.nio
        resp = await client.sync(timeout=timeout_ms, full_state=client.next_batch is None)
        if not isinstance(resp, SyncResponse):
            raise RuntimeError(f"sync failed: {resp}")
        for room_id, room in resp.rooms.join.items():
            self.timeline.setdefault(room_id, []).extend(room.timeline.events)
        await client.send_to_device_messages()
        if client.should_upload_keys:
            await client.keys_upload()
        if client.should_query_keys:
            await client.keys_query()
        if client.should_claim_keys:
            await client.keys_claim(client.get_users_for_key_claiming())

    def say(self, room_id: str, text: str) -> str:
        """Send ``text`` encrypted (after a sync, so the room's members and their
        devices are known and every one of them gets the room key)."""

        async def send() -> str:
            await self._sync(0)
            resp = await self.nio.room_send(
                room_id,
                "m.room.message",
                {"msgtype": "m.text", "body": text},
                ignore_unverified_devices=True,
            )
            if not isinstance(resp, RoomSendResponse):
                raise RuntimeError(f"send failed: {resp}")
            return str(resp.event_id)

        return str(self._run(send()))

    def received(self, room_id: str, pred: Callable[[Any], bool] = lambda e: True) -> list[Any]:
        """Sync (briefly) and return the room's events so far matching ``pred``."""
        self.sync(timeout_ms=200)
        return [e for e in self.timeline.get(room_id, []) if pred(e)]

    def from_bot(self, room_id: str, bot_id: str) -> list[Any]:
        """The bot's decrypted messages (``source`` is the decrypted event), and its
        events this client could not decrypt (``MegolmEvent``)."""

        def readable(e: Any) -> bool:
            return bool(getattr(e, "decrypted", False)) or isinstance(e, MegolmEvent)

        return self.received(room_id, lambda e: e.sender == bot_id and readable(e))

    def close(self) -> None:
        self._run(self.nio.close())
