"""Encrypted rooms and rate limits on a real Synapse: a user with real end-to-end
encryption (matrix-nio + vodozemac) talks to the bot in a megolm room, across a bot
restart; a bot without encryption explains itself once per encrypted room; a start
whose edits hit Synapse's ``M_LIMIT_EXCEEDED`` still finishes, with nothing sent twice."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from adapters.matrix.client import encryption_available
from bot.config_jwt import JwtSettings
from tests.e2e.conftest import Platform
from tests.matrix.conftest import (
    BotRunner,
    bot_messages,
    bot_settings,
    edits_of,
    join_room,
    latest_text,
    matrix_settings,
    originals,
)
from tests.matrix.crypto_user import MEGOLM, CryptoUser
from tests.matrix.synapse import Synapse
from tests.support.services import wait_for

pytestmark = pytest.mark.e2e
# The test user encrypts for real, whatever the bot does: it needs the e2e extra.
needs_e2e = pytest.mark.skipif(not encryption_available(), reason="needs jitsi-chatops[e2e]")

JOB = "org.jitsi_chatops.job"


@pytest.fixture
def crypto_users(runners: list[BotRunner]) -> Iterator[list[CryptoUser]]:
    """Closed before the runners stop the loops they share."""
    made: list[CryptoUser] = []
    yield made
    for user in made:
        user.close()


def joined(user: Any, room_id: str, user_id: str) -> bool:
    return bool(user.state(room_id, "m.room.member", user_id).get("membership") == "join")


def content(event: Any) -> dict[str, Any]:
    return dict(event.source.get("content") or {})


def body(event: Any) -> str:
    """The text of a decrypted message, or of the edit it carries."""
    c = content(event)
    return str((c.get("m.new_content") or c).get("body", ""))


@needs_e2e
def test_encrypted_room_round_trip_and_restart(
    synapse: Synapse,
    platform: Platform,
    runners: list[BotRunner],
    crypto_users: list[CryptoUser],
    tmp_path: Path,
) -> None:
    bot = synapse.register()
    runner = BotRunner(bot_settings(platform.settings, matrix_settings(synapse, bot, tmp_path)))
    runners.append(runner)
    alice = CryptoUser(synapse.register(), tmp_path / "alice-store", runner.loop)
    crypto_users.append(alice)
    adapter = runner.start()
    assert adapter.client.encrypted
    device = adapter.client.nio.device_id
    identity = dict(adapter.client.nio.olm.account.identity_keys)  # type: ignore[union-attr]

    room = alice.create_encrypted_room(bot.user_id)
    wait_for(lambda: joined(alice.user, room, bot.user_id), 20, "the bot to join")
    alice.say(room, "!jitsi status")

    def statuses() -> list[Any]:
        return [e for e in alice.from_bot(room, bot.user_id) if body(e).startswith("Platform:")]

    [status] = wait_for(statuses, 20, "the decrypted status answer")  # type: ignore[misc]
    assert content(status)["msgtype"] == "m.notice"
    assert content(status)["m.relates_to"]["m.in_reply_to"]["event_id"]  # a reply, still

    # A start, and the bot restarts after its first reply: the same device and keys
    # come back from the store, the job's message is finished with encrypted edits,
    # and new encrypted commands are read and answered.
    alice.say(room, "!jitsi start secret")  # no worker yet: the job waits in the queue
    wait_for(
        lambda: [e for e in alice.from_bot(room, bot.user_id) if JOB in content(e)],
        20,
        "the decrypted first reply",
    )
    runner.stop()
    platform.start_worker()
    adapter = runner.start()
    assert adapter.client.nio.device_id == device
    assert dict(adapter.client.nio.olm.account.identity_keys) == identity  # type: ignore[union-attr]
    final = wait_for(
        lambda: [e for e in alice.from_bot(room, bot.user_id) if "Join: " in body(e)],
        90,
        "the decrypted meeting URL",
    )
    assert "https://meet.e2e.example/secret" in body(final[-1])
    alice.say(room, "!jitsi status")
    wait_for(lambda: len(statuses()) == 2, 20, "the status answer after the restart")
    mine = alice.from_bot(room, bot.user_id)
    roots = [e for e in mine if JOB in content(e)]
    assert len(roots) == 1
    edits = [e for e in mine if content(e).get("m.relates_to", {}).get("rel_type") == "m.replace"]
    assert edits and all(content(e)["m.relates_to"]["event_id"] == roots[0].event_id for e in edits)
    assert all(content(e)["body"] == "* " + body(e) for e in edits)
    on_server = [e for e in alice.user.messages(room) if e["sender"] == bot.user_id]
    assert {e["type"] for e in on_server if "state_key" not in e} == {"m.room.encrypted"}
    assert len([e for e in on_server if e["type"] == "m.room.encrypted"]) == len(mine)
    undecryptable = [e for e in alice.from_bot(room, bot.user_id) if not getattr(e, "decrypted", 0)]
    assert not undecryptable


@needs_e2e
def test_without_encryption_each_encrypted_room_gets_one_notice(
    synapse: Synapse,
    platform: Platform,
    runners: list[BotRunner],
    crypto_users: list[CryptoUser],
    tmp_path: Path,
) -> None:
    bot = synapse.register()
    cfg = matrix_settings(synapse, bot, tmp_path, encryption=False)
    runner = BotRunner(bot_settings(platform.settings, cfg))
    runners.append(runner)
    alice = CryptoUser(synapse.register(), tmp_path / "alice-store", runner.loop)
    crypto_users.append(alice)
    assert not runner.start().client.encrypted

    def e2e_notices(room_id: str) -> list[str]:
        bodies = [e["content"]["body"] for e in bot_messages(alice.user, room_id, bot.user_id)]
        return [b for b in bodies if "jitsi-chatops[e2e]" in b]

    # Encrypted when the bot joins: the notice comes with the join.
    room = alice.create_encrypted_room(bot.user_id)
    [notice] = wait_for(lambda: e2e_notices(room), 20, "the notice on joining")
    assert "end-to-end encrypted" in notice
    # Encrypted after the bot joined: the first command it cannot read brings it.
    later = alice.user.create_room(invite=[bot.user_id])
    wait_for(lambda: joined(alice.user, later, bot.user_id), 20, "the bot to join")
    alice.user.set_state(later, "m.room.encryption", MEGOLM)
    alice.say(later, "!jitsi help")
    wait_for(lambda: e2e_notices(later), 20, "the notice on an unreadable command")

    # More unreadable commands, then readable ones as a barrier: still one notice each.
    alice.say(room, "!jitsi status")
    alice.say(later, "!jitsi status")
    alice.user.say(room, "!jitsi help")  # plain text: the bot can read it
    alice.user.say(later, "!jitsi help")
    for r in (room, later):
        wait_for(
            lambda r=r: [
                e for e in originals(bot_messages(alice.user, r, bot.user_id))
                if "stop" in e["content"]["body"] and "e2e" not in e["content"]["body"]
            ],
            20,
            "the help answer",
        )  # fmt: skip
        assert len(e2e_notices(r)) == 1
    # A restart does not repeat it either.
    runner.stop()
    runner.start()
    alice.say(room, "!jitsi cost")
    alice.user.say(room, "!jitsi cost")
    wait_for(
        lambda: [
            e for e in originals(bot_messages(alice.user, room, bot.user_id))
            if "Break-even" in e["content"]["body"]
        ],
        20,
        "the cost answer",
    )  # fmt: skip
    assert len(e2e_notices(room)) == 1


def test_rate_limited_start_finishes_with_nothing_sent_twice(
    synapse: Synapse, platform: Platform, runners: list[BotRunner], tmp_path: Path
) -> None:
    admin, bot, alice = synapse.register(admin=True), synapse.register(), synapse.register()
    room = join_room(alice, bot)
    admin.override_ratelimit(bot.user_id, per_second=1, burst=1)  # Synapse: real 429s
    cfg = matrix_settings(synapse, bot, tmp_path, edit_interval_seconds=0.2)
    # The job's own messages under rate limits; meeting links (a direct room, more
    # sends) are tests/matrix/test_matrix_jwt_links.py's.
    no_links = platform.settings.model_copy(update={"jwt": JwtSettings(enabled=False)})
    runner = BotRunner(bot_settings(no_links, cfg))
    runners.append(runner)
    client = runner.start().client
    platform.start_worker()

    alice.say(room, "!jitsi start busy")

    def job_messages() -> list[dict[str, Any]]:
        return [e for e in originals(bot_messages(alice, room, bot.user_id)) if JOB in e["content"]]

    [first] = wait_for(job_messages, 30, "the first reply")  # type: ignore[misc]
    root = first["event_id"]
    wait_for(
        lambda: "Join: " in latest_text(bot_messages(alice, room, bot.user_id), root),
        90,
        "the meeting URL",
    )
    wait_for(lambda: not runner.adapter._following, 20, "the bot to finish the job's message")  # type: ignore[union-attr]
    events = bot_messages(alice, room, bot.user_id)
    assert "https://meet.e2e.example/busy" in latest_text(events, root)
    assert client.rate_limited >= 1  # Synapse did say M_LIMIT_EXCEEDED
    assert len(events) == client.sent  # every retry reused its transaction: no duplicates
    # One message per job; a finished job's long details go to one thread reply under it.
    threads = [e for e in originals(events) if _rel(e) == "m.thread"]
    assert [e["event_id"] for e in originals(events) if _rel(e) != "m.thread"] == [root]
    assert all(e["content"]["m.relates_to"]["event_id"] == root for e in threads)
    bodies = [e["content"]["m.new_content"]["body"] for e in edits_of(events, root)]
    assert bodies and all(a != b for a, b in itertools.pairwise(bodies)), bodies


def _rel(event: dict[str, Any]) -> str | None:
    return (event["content"].get("m.relates_to") or {}).get("rel_type")
