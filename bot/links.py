"""Per-person meeting links: the claims of a docker-jitsi-meet JWT, and the link around it.

Pure: the signing (the app secret, PyJWT) is behind ``bot.ports.LinkSigner``. The
claims follow prosody's token verification (jitsi-meet ``token/util.lib.lua``):
``iss`` is JWT_APP_ID, ``aud`` one of JWT_ACCEPTED_AUDIENCES, ``sub`` the domain,
``room`` the exact room, ``exp`` when the link stops working, and ``context.user``
who it is for; ``moderator`` makes its holder a moderator of the room.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.config import Settings
from bot.model import Actor
from bot.state import PlatformStatus
from bot.watch import SessionWatch

# infra/jitsi/task.json gives prosody the same value as JWT_ACCEPTED_AUDIENCES (a test
# checks the two agree).
AUDIENCE = "jitsi"
OPEN_NOTE = (
    "Note: meeting links are off (jwt: off), so anyone with the URL can join, and "
    "anyone who finds the domain can create rooms while it runs. Turn on `jwt` "
    "(docs/security.md) to hand out per-person links instead."
)


@dataclass(frozen=True, slots=True)
class LinkGrant:
    """Who a link is for, the room it opens and until when (epoch seconds)."""

    actor: Actor
    room: str
    moderator: bool
    issued_at: int
    expires_at: int


def expected_end(
    settings: Settings, status: PlatformStatus, watch: SessionWatch | None, now: float
) -> float:
    """When the session is expected to end: a stop already set for it, else its start
    plus the longest session the guards allow (or the usual session length)."""
    if watch is not None and watch.stop_at is not None:
        return watch.stop_at
    started = status.session_started_at or now
    hours = settings.idle.max_session_hours or settings.average_session_hours
    return started + hours * 3600


def grant(
    settings: Settings,
    actor: Actor,
    room: str,
    *,
    moderator: bool,
    now: float,
    session_end: float,
) -> LinkGrant:
    """The link's validity: the session's expected end plus the grace, capped at
    ``max_hours`` from now (and never already expired)."""
    cfg = settings.jwt
    cap = now + cfg.max_hours * 3600
    until = min(max(session_end, now) + cfg.grace_minutes * 60, cap)
    return LinkGrant(actor, room, moderator, int(now), math.ceil(until))


def claims(settings: Settings, g: LinkGrant) -> dict[str, Any]:
    """The token's payload, as prosody reads it."""
    name = g.actor.display_name or g.actor.user
    return {
        "iss": settings.jwt.app_id,
        "aud": AUDIENCE,
        "sub": settings.domain,
        "room": g.room,
        "iat": g.issued_at,
        "nbf": g.issued_at - 60,  # a little clock skew between the bot and prosody
        "exp": g.expires_at,
        "moderator": g.moderator,
        "context": {
            "user": {
                "id": str(g.actor.user),
                "name": name,
                "moderator": "true" if g.moderator else "false",
            }
        },
    }


def link_url(settings: Settings, room: str, token: str) -> str:
    return f"{settings.meeting_base_url}/{room}?jwt={token}"


def link_text(url: str, g: LinkGrant, room_url: str) -> str:
    """What the person reads next to their link (only they see it)."""
    role = " as a moderator" if g.moderator else ""
    return (
        f"Your personal link to {room_url}{role} (do not share it: it is yours, "
        f"valid until {_utc(g.expires_at)}): {url}"
    )


def _utc(epoch: int) -> str:
    # UTC: the reader's zone is unknown here.
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M UTC")
