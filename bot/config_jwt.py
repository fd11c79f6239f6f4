"""The ``jwt`` section: per-person meeting links signed for docker-jitsi-meet's JWT auth.

Written as a section (``{"jwt": {"guests": "lobby"}}``), as flat keys (``jwt_enabled``,
``JITSI_JWT_GUESTS``) or as one switch (``jwt: off``, ``JITSI_JWT=off``).
"""

from __future__ import annotations

import re
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, field_validator

_APP_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class GuestPolicy(StrEnum):
    """What happens to someone who opens the meeting without a token."""

    # No anonymous XMPP domain (ENABLE_GUESTS=0): the page asks for a login and the
    # visitor cannot join or create a room. The default: the link is the key, and
    # anyone allowed to meet can ask the bot for one.
    REFUSE = "refuse"
    # The anonymous guest domain (ENABLE_GUESTS=1): a visitor without a token waits
    # until a token holder opened the room, and is let in by a moderator when the
    # moderator turns the lobby on (ENABLE_LOBBY, on by default at the pinned release).
    LOBBY = "lobby"


class JwtSettings(BaseModel):
    """Meeting links ``https://DOMAIN/ROOM?jwt=TOKEN`` (HS256, checked by prosody)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = True
    app_id: str = "jitsi-chatops"  # JWT_APP_ID, and every token's ``iss``
    secret_parameter: str = ""  # SSM SecureString with JWT_APP_SECRET; derived when empty
    guests: GuestPolicy = GuestPolicy.REFUSE
    # A token lives until the session's expected end plus this grace, never longer
    # than ``max_hours`` from when it is made.
    grace_minutes: float = Field(default=30.0, ge=0, le=24 * 60)
    max_hours: float = Field(default=12.0, gt=0, le=7 * 24)
    # Without a room in ``start``/``link`` and no session room, links name this one:
    # a token names one exact room.
    default_room: str = Field(default="meeting", pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
    # The worker's and serve's copy of the secret is read again after this long, so
    # a rotation reaches new links without a restart.
    secret_cache_seconds: float = Field(default=300.0, ge=0, le=86400)

    @field_validator("app_id")
    @classmethod
    def _app_id(cls, value: str) -> str:
        if not _APP_ID.match(value):
            raise ValueError(f"{value!r} is not an app id (letters, digits, '.', '_', '-')")
        return value
