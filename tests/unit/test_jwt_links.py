"""Per-person meeting links from the core (bot/links.py, CommandService): every token is
decoded with PyJWT and its claims and expiry checked; `link` input is validated and
permissions apply as for the other commands."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import jwt
import pytest

from bot.commands import Link, parse
from bot.config import Settings
from bot.config_jwt import JwtSettings
from bot.cost import CostModel
from bot.errors import CloudError, CommandError
from bot.links import AUDIENCE, OPEN_NOTE
from bot.model import Actor, ChatPlatform, UserId
from bot.reply import ReplyKind
from bot.service import CommandService
from bot.state import DesiredState, PlatformState
from infra.jitsi.spec import raw_spec
from infra.links import JwtSigner
from infra.pricing import find_prices, unknown_reason
from infra.settings import load_settings
from tests.support.clocks import FakeClock
from tests.support.memory import (
    MemoryLedger,
    MemoryStore,
    RecordingAudit,
    RecordingQueue,
    RecordingSink,
)

SECRET = "s" * 48
DOMAIN = "meet.links.example"
ALICE = Actor(UserId("U-alice"), "C1", ChatPlatform.SLACK, "Alice")
BOB = Actor(UserId("@bob:example.org"), "!room:example.org", ChatPlatform.MATRIX, "")


class Built:
    def __init__(self, settings: Settings, signer: Any = None) -> None:
        self.settings = settings
        self.store = MemoryStore()
        self.clock = FakeClock()
        self.audit = RecordingAudit()
        self.sink = RecordingSink()
        self.queue = RecordingQueue()
        region = settings.price_region
        self.service = CommandService(
            settings,
            self.store,
            self.queue,
            self.sink,
            MemoryLedger(),
            self.audit,
            CostModel(settings, find_prices(region), unknown_reason(region)),
            self.clock,
            links=signer if signer is not None else JwtSigner(lambda: SECRET),
        )

    def running(self, started_by: str, room: str | None = "standup") -> None:
        self.store.current = replace(
            self.store.current,
            state=PlatformState.RUNNING,
            desired=DesiredState.RUNNING,
            url=f"https://{DOMAIN}/{room}" if room else f"https://{DOMAIN}",
            session_started_at=self.clock.now() - 600,
            session_room=room,
            started_by=started_by,
        )


def settings(**changes: Any) -> Settings:
    return Settings(domain=DOMAIN, **changes)


def token_of(link: str | None) -> str:
    assert link is not None
    url = next(w for w in link.split() if "?jwt=" in w)
    return url.split("?jwt=", 1)[1]


def decode(token: str, secret: str = SECRET, app_id: str = "jitsi-chatops") -> dict[str, Any]:
    return dict(
        jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            audience=AUDIENCE,
            issuer=app_id,
            options={"require": ["exp", "iss", "aud", "sub", "room"], "verify_exp": False},
        )
    )


def test_start_gives_the_asker_a_moderator_link_for_the_exact_room() -> None:
    b = Built(settings())
    reply = b.service.handle("start standup", ALICE)
    assert reply.kind is ReplyKind.JOB
    assert f"https://{DOMAIN}/standup?jwt=" in (reply.link or "")
    assert "jwt=" not in reply.text  # the channel's text keeps the plain URL
    claims = decode(token_of(reply.link))
    assert claims["sub"] == DOMAIN and claims["room"] == "standup"
    assert claims["moderator"] is True
    assert claims["context"]["user"] == {"id": "U-alice", "name": "Alice", "moderator": "true"}
    now = b.clock.now()
    # Expected end (start + the longest session the guards allow) + grace, capped.
    hours = b.settings.idle.max_session_hours
    assert claims["exp"] == min(int(now + hours * 3600 + 30 * 60), int(now + 12 * 3600))
    assert claims["iat"] == int(now) and claims["nbf"] <= claims["iat"]


def test_the_link_of_a_guest_is_not_a_moderators_and_expires_with_the_session() -> None:
    b = Built(settings(jwt=JwtSettings(grace_minutes=10, max_hours=48)))
    b.running(started_by="U-alice")
    reply = b.service.handle("link", BOB)
    assert reply.kind is ReplyKind.INFO and reply.private
    claims = decode(token_of(reply.link))
    assert claims["room"] == "standup" and claims["moderator"] is False
    assert claims["context"]["user"]["name"] == "@bob:example.org"  # no display name
    started = b.store.current.session_started_at or 0
    assert claims["exp"] == int(started + b.settings.idle.max_session_hours * 3600 + 600)
    # The token really expires: PyJWT refuses it once exp has passed.
    with pytest.raises(jwt.ExpiredSignatureError):
        jwt.decode(
            token_of(reply.link),
            SECRET,
            algorithms=["HS256"],
            audience=AUDIENCE,
            leeway=-(claims["exp"] - int(b.clock.now()) + 1),
        )


def test_expiry_is_capped_and_never_in_the_past() -> None:
    b = Built(settings(jwt=JwtSettings(grace_minutes=0, max_hours=1)))
    b.running(started_by="U-alice")
    claims = decode(token_of(b.service.handle("link", ALICE).link))
    assert claims["exp"] == int(b.clock.now() + 3600)  # capped at max_hours
    b.clock.t += 30 * 24 * 3600  # long past the expected end
    claims = decode(token_of(b.service.handle("link", ALICE).link))
    assert claims["exp"] >= int(b.clock.now())


def test_a_token_for_one_room_does_not_name_another() -> None:
    b = Built(settings())
    b.running(started_by="U-alice")
    one = decode(token_of(b.service.handle("link standup", BOB).link))
    other_link = b.service.handle("link retro", BOB).link
    other = decode(token_of(other_link))
    assert one["room"] == "standup" and other["room"] == "retro"
    assert "standup" not in str(other) and "standup" not in (other_link or "")
    assert (other_link or "").count(f"https://{DOMAIN}/retro?jwt=") == 1


def test_start_without_a_room_links_the_default_room() -> None:
    b = Built(settings(jwt=JwtSettings(default_room="team")))
    claims = decode(token_of(b.service.handle("start", ALICE).link))
    assert claims["room"] == "team"


def test_a_second_start_while_starting_gets_a_guest_link() -> None:
    b = Built(settings())
    b.service.handle("start", ALICE)
    b.store.current = replace(b.store.current, started_by="U-alice")
    joined = b.service.handle("start", BOB)
    assert joined.joined
    assert decode(token_of(joined.link))["moderator"] is False


def test_links_never_reach_audit_events_queue_or_repr() -> None:
    b = Built(settings())
    reply = b.service.handle("start standup", ALICE)
    b.running(started_by="U-alice")
    link_reply = b.service.handle("link", BOB)
    tokens = [token_of(reply.link), token_of(link_reply.link)]
    seen = repr(b.audit.rows) + repr(b.sink.events) + repr(b.queue.specs)
    seen += repr(reply) + repr(link_reply) + str(reply)
    for t in [*tokens, SECRET]:
        assert t not in seen


def test_jwt_off_says_once_that_the_platform_is_open() -> None:
    b = Built(settings(jwt=JwtSettings(enabled=False)))
    reply = b.service.handle("start standup", ALICE)
    assert reply.link is None and reply.text.count(OPEN_NOTE) == 1
    joined = b.service.handle("start standup", BOB)
    assert OPEN_NOTE not in joined.text
    b.running(started_by="U-alice")
    assert OPEN_NOTE not in b.service.handle("start standup", BOB).text
    link = b.service.handle("link", BOB)
    assert link.link is None and "anyone with the URL can join" in link.text


def test_link_while_stopped_says_how_to_start() -> None:
    b = Built(settings())
    reply = b.service.handle("link", ALICE)
    assert reply.link is None and "start" in reply.text


def test_a_secret_that_cannot_be_read_does_not_stop_the_start() -> None:
    class Broken:
        def sign(self, claims: Any) -> str:
            raise CloudError("The meeting-link secret /p/jwt/app-secret does not exist.")

    b = Built(settings(), signer=Broken())
    reply = b.service.handle("start standup", ALICE)
    assert reply.kind is ReplyKind.JOB and b.queue.specs
    assert "could not make your link" in (reply.link or "") and "jwt=" not in (reply.link or "")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("link two words", "Room names cannot contain spaces."),
        ("link ../etc", "is not a valid room name"),
        ("link " + "r" * 65, "the limit is 64"),
        ("link -dash", "is not a valid room name"),
        ("link st\u202eup", "invisible character"),
        ("link a\tb", "\\t at position 7"),
    ],
)
def test_malformed_link_input_is_refused_with_help(text: str, message: str) -> None:
    with pytest.raises(CommandError) as exc:
        parse(text)
    assert message in exc.value.user_message()
    b = Built(settings())
    b.running(started_by="U-alice")
    reply = b.service.handle(text, ALICE)
    assert reply.kind is ReplyKind.USAGE and reply.link is None
    assert b.audit.rows[-1][2] == "usage-error"


def test_link_parses() -> None:
    assert parse("link") == Link(None)
    assert parse("/jitsi link standup") == Link("standup")
    assert parse("LINK Standup") == Link("Standup")


def test_a_user_not_allowed_gets_no_link() -> None:
    b = Built(settings(allowed_users={"link": ["U-alice"], "start": ["U-alice"]}))
    b.running(started_by="U-alice")
    denied = b.service.handle("link", BOB)
    assert denied.kind is ReplyKind.DENIED and denied.link is None
    assert b.audit.rows[-1] == ("@bob:example.org", "link", "denied")
    assert b.service.handle("start", BOB).link is None
    assert b.service.handle("link", ALICE).link is not None


def test_settings_switch_and_audience_agree_with_the_task() -> None:
    assert load_settings({"JITSI_JWT": "off"}).jwt.enabled is False
    assert load_settings({}).jwt.enabled is True  # on by default
    assert load_settings({"JITSI_JWT_GUESTS": "lobby"}).jwt.guests.value == "lobby"
    assert load_settings({"JITSI_PROJECT_NAME": "acme"}).jwt.secret_parameter == (
        "/acme/jwt/app-secret"
    )
    prosody = raw_spec()["features"]["jwt"]["prosody"]["environment"]
    assert prosody["JWT_ACCEPTED_AUDIENCES"] == AUDIENCE
    assert prosody["JWT_ACCEPTED_ISSUERS"] == prosody["JWT_APP_ID"] == "${jwt_app_id}"
