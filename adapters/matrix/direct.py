"""A private room per person for their meeting links: the one recorded in the bot's
``m.direct`` account data while they are still in it or invited (so a restart does
not open a new room per person), else a new one, recorded there."""

from __future__ import annotations

import asyncio
import json
import logging
import time
import urllib.parse
from collections.abc import Callable

from nio import (
    AsyncClient,
    DirectRoomsResponse,
    MatrixRoom,
    RoomCreateResponse,
    RoomGetStateEventResponse,
    RoomPreset,
)

from adapters.matrix.errors import CONNECTION_ERRORS, MatrixUnavailable, convert

log = logging.getLogger("jitsi.matrix")


class DirectRooms:
    """The bot's direct rooms, one per person, remembered for the process's life;
    ``rate_limited`` is called for each 429 waited out."""

    def __init__(self, nio: AsyncClient, user_id: str, rate_limited: Callable[[], None]) -> None:
        self.nio = nio
        self.user_id = user_id
        self._rate_limited = rate_limited
        self._rooms: dict[str, str] = {}  # user id -> the direct room made for them

    async def room(self, user_id: str) -> str:
        """A private room with ``user_id`` alone (``is_direct``, their clients list it
        under direct messages): the recorded one while usable, else a new one."""
        known = self._rooms.get(user_id) or await self._recorded(user_id)
        if known is not None:
            self._rooms[user_id] = known
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
            except CONNECTION_ERRORS as exc:
                raise MatrixUnavailable(
                    f"creating a direct room failed: {type(exc).__name__}"
                ) from None
            if isinstance(resp, RoomCreateResponse):
                break
            err = convert(resp, f"a direct room with {user_id}")
            # A 429 made nothing, so asking again is safe (unlike a lost connection,
            # after which the room may exist): wait as the homeserver says, as send() does.
            after = getattr(err, "retry_after", None)
            if after is None or time.monotonic() > give_up:
                raise err
            self._rate_limited()
            await asyncio.sleep(after)
        room_id = str(resp.room_id)
        # With encryption on, nio sends only to rooms a sync has shown it, and this one
        # is answered from inside a sync's handling: tell nio of it now. It is
        # unencrypted (we made it so); the next sync fills in the rest.
        self.nio.rooms.setdefault(room_id, MatrixRoom(room_id, self.user_id))
        self._rooms[user_id] = room_id
        await self._record(user_id, room_id)
        return room_id

    async def _direct_map(self) -> dict[str, list[str]] | None:
        """The bot's ``m.direct`` account data (user id -> room ids); {} when never
        set; None when it cannot be read now."""
        try:
            resp = await self.nio.list_direct_rooms()
        except CONNECTION_ERRORS:
            return None
        if isinstance(resp, DirectRoomsResponse):
            return {str(k): [str(r) for r in v] for k, v in resp.rooms.items()}
        return {} if getattr(resp, "status_code", None) == "M_NOT_FOUND" else None

    async def _recorded(self, user_id: str) -> str | None:
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
        except CONNECTION_ERRORS:
            return None
        if isinstance(resp, RoomGetStateEventResponse):
            return str(resp.content.get("membership") or "") or None
        return None

    async def _record(self, user_id: str, room_id: str) -> None:
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
        except CONNECTION_ERRORS as exc:
            log.warning("recording the direct room failed: %s", type(exc).__name__)
