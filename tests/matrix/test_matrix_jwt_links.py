"""Meeting links through Matrix, on a real Synapse: each asker gets their link in a
direct room the bot opens with them (``is_direct``), never in the room they asked in;
a power level gates ``link`` as it gates the other commands; no token or secret is in
the shared room, Redis, the worker's log or the bot's log."""

from __future__ import annotations

import json
import logging
import urllib.parse
import uuid
from pathlib import Path
from typing import Any

import jwt
import pytest

from bot.links import AUDIENCE
from tests.e2e.conftest import Platform
from tests.e2e.test_jwt_links_e2e import secret_of, zoned
from tests.matrix.conftest import (
    BotRunner,
    bot_messages,
    bot_settings,
    join_room,
    latest_text,
    matrix_settings,
    originals,
)
from tests.matrix.synapse import Synapse, User
from tests.support.leaks import assert_absent, redis_dump
from tests.support.services import wait_for

pytestmark = pytest.mark.e2e
LEVELS = {"start": 0, "link": 50, "status": 0, "cost": 0, "keep": 0, "stop": 50}


def invites(user: User) -> list[tuple[str, dict[str, Any]]]:
    """Rooms ``user`` is invited to, with the invite's stripped state."""
    # A filter of its own per call: Synapse answers identical initial syncs from a cache.
    unique = urllib.parse.quote(json.dumps({"account_data": {"not_types": [uuid.uuid4().hex]}}))
    sync = user.call("GET", f"/_matrix/client/v3/sync?timeout=0&filter={unique}")
    return list(sync.get("rooms", {}).get("invite", {}).items())


def direct_token(user: User, bot: User) -> str | None:
    """The token in the bot's direct message to ``user`` (joining its invite first)."""
    for room_id, _ in invites(user):  # only the bot invites anyone here
        user.join(room_id)
    rooms = user.call("GET", "/_matrix/client/v3/joined_rooms")["joined_rooms"]
    for room_id in rooms:
        for e in bot_messages(user, room_id, bot.user_id):
            body = str(e["content"].get("body", ""))
            if "?jwt=" in body:
                return body.split("?jwt=", 1)[1].split()[0]
    return None


def test_links_arrive_as_direct_messages_and_nowhere_else(
    synapse: Synapse,
    platform: Platform,
    runners: list[BotRunner],
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    bot, alice, bob, carol = (synapse.register() for _ in range(4))
    room = join_room(alice, bot, bob, carol)
    levels = alice.state(room, "m.room.power_levels")
    levels.setdefault("users", {})[bob.user_id] = 50
    alice.set_state(room, "m.room.power_levels", levels)
    settings = zoned(platform)
    matrix = matrix_settings(synapse, bot, tmp_path, power_levels=LEVELS)
    runner = BotRunner(bot_settings(settings, matrix))
    runners.append(runner)
    runner.start()
    platform.start_worker()
    secret = secret_of(platform)

    alice.say(room, "!jitsi start standup")
    alice_token = wait_for(lambda: direct_token(alice, bot), 30, "Alice's direct message")
    claims = jwt.decode(alice_token, secret, algorithms=["HS256"], audience=AUDIENCE)
    assert (claims["room"], claims["moderator"]) == ("standup", True)
    assert claims["context"]["user"]["id"] == alice.user_id

    def url_posted() -> bool:
        return any(
            "Join: " in latest_text(bot_messages(alice, room, bot.user_id), e["event_id"])
            for e in originals(bot_messages(alice, room, bot.user_id))
        )

    wait_for(url_posted, 90, "the meeting URL")
    bob.say(room, "!jitsi link")
    bob_token = wait_for(lambda: direct_token(bob, bot), 30, "Bob's direct message")
    guest = jwt.decode(bob_token, secret, algorithms=["HS256"], audience=AUDIENCE)
    assert (guest["room"], guest["moderator"]) == ("standup", False)

    carol.say(room, "!jitsi link")
    wait_for(
        lambda: any(
            "`link` needs power level 50" in e["content"]["body"]
            for e in originals(bot_messages(alice, room, bot.user_id))
        ),
        30,
        "Carol's refusal",
    )
    assert invites(carol) == [] and direct_token(carol, bot) is None

    alice.say(room, "!jitsi stop")
    wait_for(
        lambda: any(
            "clean" in latest_text(bot_messages(alice, room, bot.user_id), e["event_id"])
            for e in originals(bot_messages(alice, room, bot.user_id))
        ),
        90,
        "a clean audit",
    )
    assert_absent(
        [alice_token, bob_token, secret],
        shared_room=str(alice.messages(room, limit=500)),
        redis=redis_dump(settings.redis_dsn),
        worker_log=platform.worker_log(),
        bot_log=caplog.text,
    )
