"""End to end on a real Synapse: a Matrix user types ``!jitsi start`` -> the bot's
ONE message is edited through the steps -> URL; power-level gated ``stop``; a
homeserver restart mid-job; exactly-once commands across a bot restart."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis

from infra.keys import Keys
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
from tests.matrix.synapse import Synapse
from tests.support.services import wait_for

pytestmark = pytest.mark.e2e


def job_message(events: list[dict], job_marker: str = "org.jitsi_chatops.job") -> list[dict]:  # type: ignore[type-arg]
    return [e for e in originals(events) if job_marker in e["content"]]


def audit_entries(platform: Platform) -> list[dict[str, str]]:
    r = redis.Redis.from_url(platform.settings.redis_dsn)
    try:
        rows = r.xrange(Keys(platform.settings.project_name).audit_log)
        decoded = [{k.decode(): v.decode() for k, v in f.items()} for _, f in rows]
        # Commands only: the worker's job ends share the stream (kind "job").
        return [row for row in decoded if row.get("kind", "command") == "command"]
    finally:
        r.close()


def finished_text(user, room_id: str, bot_id: str, root: str, marker: str) -> str | None:  # type: ignore[no-untyped-def]
    events = bot_messages(user, room_id, bot_id)
    text = latest_text(events, root)
    return text if marker in text else None


def test_start_progress_power_levels_and_stop(
    synapse: Synapse, platform: Platform, runners: list[BotRunner], tmp_path: Path
) -> None:
    bot, alice, bob = synapse.register(), synapse.register(), synapse.register()
    room = join_room(alice, bot, bob)  # alice created it: room v12, not in power_levels
    assert alice.user_id not in alice.state(room, "m.room.power_levels").get("users", {})
    runner = BotRunner(bot_settings(platform.settings, matrix_settings(synapse, bot, tmp_path)))
    runners.append(runner)
    runner.start()
    platform.start_worker()

    alice.say(room, "!jitsi start standup")
    [first] = wait_for(lambda: job_message(bot_messages(alice, room, bot.user_id)), 20, "reply")
    assert first["content"]["msgtype"] == "m.notice"
    root = first["event_id"]
    final = wait_for(
        lambda: finished_text(alice, room, bot.user_id, root, "Join: "), 90, "the meeting URL"
    )
    events = bot_messages(alice, room, bot.user_id)
    edits = edits_of(events, root)
    assert "https://meet.e2e.example/standup" in str(final)
    assert 2 <= len(edits) <= 12, [e["content"]["body"] for e in edits]  # throttled
    for e in edits:  # proper m.replace edits with a "* " fallback
        assert e["content"]["body"] == "* " + e["content"]["m.new_content"]["body"]
        assert e["content"]["m.new_content"]["msgtype"] == "m.notice"
    assert any("…" in e["content"]["m.new_content"]["body"] for e in edits)  # steps seen live
    assert len(job_message(events)) == 1  # ONE message for the job

    # stop needs power level 50: bob (0) is refused, briefly, and audited.
    bob.say(room, "!jitsi stop")
    refusal = wait_for(
        lambda: [
            e
            for e in originals(bot_messages(alice, room, bot.user_id))
            if "needs power level 50" in e["content"]["body"]
        ],
        20,
        "the refusal",
    )
    assert refusal and "(you have 0)" in refusal[0]["content"]["body"]
    assert any(
        a["user"] == bob.user_id and a["outcome"].startswith("denied: power level")
        for a in audit_entries(platform)
    )

    # alice created the room (v12): infinite power although power_levels omits her.
    alice.say(room, "!jitsi stop")
    stop_msgs = wait_for(
        lambda: [
            m for m in job_message(bot_messages(alice, room, bot.user_id)) if m["event_id"] != root
        ],
        20,
        "the stop's message",
    )
    stop_root = stop_msgs[0]["event_id"]
    final_stop = wait_for(
        lambda: finished_text(alice, room, bot.user_id, stop_root, "clean"), 90, "a clean audit"
    )
    assert "Error" not in str(final_stop)
    audit = platform.cli("infra", "audit", "--json")
    assert audit.code == 0, audit.stdout
    outcomes = [(a["user"], a["command"], a["outcome"]) for a in audit_entries(platform)]
    assert (alice.user_id, "stop", outcomes[-1][2]) == outcomes[-1]
    assert outcomes[-1][2].startswith("job job=")


def test_homeserver_and_bot_restart_mid_job(
    synapse: Synapse, platform: Platform, runners: list[BotRunner], tmp_path: Path
) -> None:
    """Synapse restarts during a start, then the bot restarts: the progress message is
    finished, no message is duplicated, and no command runs twice or is lost."""
    bot, alice = synapse.register(), synapse.register()
    room = join_room(alice, bot)
    settings = bot_settings(platform.settings, matrix_settings(synapse, bot, tmp_path))
    runner = BotRunner(settings)
    runners.append(runner)
    runner.start()
    alice.say(room, "!jitsi start")  # no worker yet: the job waits in the queue
    [first] = wait_for(lambda: job_message(bot_messages(alice, room, bot.user_id)), 20, "reply")
    root = first["event_id"]

    synapse.stop()
    platform.start_worker()  # progress piles up while the homeserver is away
    synapse.start()
    alice.say(room, "!jitsi status")  # sent after the restart: must be answered once
    final = wait_for(
        lambda: finished_text(alice, room, bot.user_id, root, "Join: "), 90, "the URL after it"
    )
    assert "Join: https://meet.e2e.example" in str(final)

    runner.stop()  # the bot restarts; the command sent while it is down runs once
    alice.say(room, "!jitsi cost")
    runner.start()
    wait_for(
        lambda: [
            e
            for e in originals(bot_messages(alice, room, bot.user_id))
            if "Break-even" in e["content"]["body"]
        ],
        20,
        "the cost answer",
    )
    runner.stop()
    runner.start()  # and once more: nothing is replayed
    alice.say(room, "!jitsi status")
    wait_for(
        lambda: (
            len(
                [
                    e
                    for e in originals(bot_messages(alice, room, bot.user_id))
                    if e["content"]["body"].startswith("Platform:")
                ]
            )
            >= 2
        ),
        20,
        "the second status",
    )
    events = bot_messages(alice, room, bot.user_id)
    bodies = [e["content"]["body"] for e in originals(events)]
    assert len(job_message(events)) == 1, bodies  # the start's message was never resent
    assert sum(b.startswith("Platform:") for b in bodies) == 2, bodies
    assert sum("Break-even" in b for b in bodies) == 1, bodies
    starts = [a for a in audit_entries(platform) if a["command"].startswith("start")]
    assert len(starts) == 1


def test_invites_allow_lists_and_bad_commands(
    synapse: Synapse, platform: Platform, runners: list[BotRunner], tmp_path: Path
) -> None:
    bot, alice, mallory = synapse.register(), synapse.register(), synapse.register()
    allowed = [alice.user_id]
    cfg = matrix_settings(synapse, bot, tmp_path, allowed_users=allowed)
    runner = BotRunner(bot_settings(platform.settings, cfg))
    runners.append(runner)
    runner.start()

    bad = mallory.create_room()
    mallory.invite(bad, bot.user_id)
    room = alice.create_room()
    alice.invite(room, bot.user_id)
    wait_for(
        lambda: alice.state(room, "m.room.member", bot.user_id).get("membership") == "join",
        20,
        "the bot to accept alice's invite",
    )
    wait_for(
        lambda: mallory.state(bad, "m.room.member", bot.user_id).get("membership") == "leave",
        20,
        "the bot to reject mallory's invite",
    )
    alice.invite(room, mallory.user_id)
    mallory.join(room)

    mallory.say(room, "!jitsi start")  # not allowed: refused and audited
    alice.say(room, "!jitsi strat")  # typo: usage help
    alice.say(room, "!jitsi start my room")  # bad room name: a suggestion
    alice.say(room, "!jitsiX start")  # not our prefix: ignored
    alice.send(room, {"msgtype": "m.notice", "body": "!jitsi start"})  # notices: ignored
    alice.say(room, "!jitsi " + "x" * 5000)  # very long: answered, truncated
    alice.say(room, "!jitsi help")
    replies = wait_for(
        lambda: (lambda b: b if len(b) >= 5 else None)(
            [e["content"]["body"] for e in originals(bot_messages(alice, room, bot.user_id))]
        ),
        20,
        "five answers",
    )
    assert "You may not use this bot." in replies[0]
    assert "Did you mean `start`?" in replies[1]
    assert "start my-room" in replies[2]
    assert "Unknown command" in replies[3] and len(replies[3]) < 2000
    assert "start" in replies[4] and "stop" in replies[4]
    outcomes = [(a["user"], a["outcome"]) for a in audit_entries(platform)]
    assert (mallory.user_id, "denied: not in the Matrix allow list") in outcomes
    assert not platform.workers  # nothing was queued for a worker
