"""The pure Slack translation module, on recorded payloads (tests/slack/fixtures)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from adapters.slack import translate
from adapters.slack.translate import MalformedPayload
from bot.commands import command_of
from bot.events import Event, EventKind, Notice, NoticeKind
from bot.model import ChatPlatform, JobId
from bot.render import ProgressView
from bot.watch import SessionWatch

FIXTURES = Path(__file__).parent / "fixtures"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def test_slash_command_becomes_actor_and_text() -> None:
    req = translate.slash_command(fixture("slash_command"))
    assert req.actor.user == "slack:U0001" and req.actor.channel == "C0001"
    assert req.actor.platform is ChatPlatform.SLACK and req.actor.display_name == "alice"
    assert req.text == "start standup"  # whitespace folded
    assert (req.team, req.channel, req.user_id) == ("T0001", "C0001", "U0001")
    assert req.response_url and req.response_url.startswith("https://hooks.slack.com/")


def test_empty_slash_command_text_is_help() -> None:
    payload = fixture("slash_command") | {"text": ""}
    assert translate.slash_command(payload).text == ""
    assert command_of("") == "help"  # the core's parser names it for the allow lists
    assert command_of("start! at 18:00") is None and command_of("start at 18:00") == "start"


@pytest.mark.parametrize("name", ["malformed_slash_no_user", "malformed_slash_text_not_string"])
def test_malformed_slash_commands_are_refused(name: str) -> None:
    with pytest.raises(MalformedPayload):
        translate.slash_command(fixture(name))


def test_stop_button_is_the_stop_command_of_the_clicker() -> None:
    req = translate.block_action(fixture("block_actions_stop"))
    assert req.text == "stop" and req.actor.user == "slack:U0002"
    assert req.message_ts == "1700000000.000001" and req.team == "T0001"


def test_keep_button_is_keep_with_minutes() -> None:
    req = translate.block_action(fixture("block_actions_keep"))
    assert req.text == "keep 30" and req.actor.user == "slack:U0002"


def test_join_button_is_no_command() -> None:
    body = fixture("block_actions_stop")
    body["actions"][0]["action_id"] = translate.ACTION_JOIN
    assert translate.block_action(body).text == ""


@pytest.mark.parametrize(
    "name",
    [
        "block_actions_unknown",
        "malformed_block_actions_no_actions",
        "malformed_block_actions_no_user",
    ],
)
def test_unknown_and_malformed_actions_are_refused(name: str) -> None:
    with pytest.raises(MalformedPayload):
        translate.block_action(fixture(name))


def test_keep_with_a_non_number_is_refused() -> None:
    body = fixture("block_actions_keep")
    body["actions"][0]["value"] = "30; stop"
    with pytest.raises(MalformedPayload):
        translate.block_action(body)


def test_app_home_opened() -> None:
    opened = translate.app_home_opened(fixture("app_home_opened"))
    assert opened == translate.HomeOpened("U0001", "T0001")
    messages_tab = fixture("app_home_opened")
    messages_tab["event"]["tab"] = "messages"
    assert translate.app_home_opened(messages_tab) is None
    with pytest.raises(MalformedPayload):
        translate.app_home_opened(fixture("malformed_app_home_no_user"))


def test_place_denials() -> None:
    assert translate.place_denial("T1", "C1", [], []) is None
    assert "workspace" in (translate.place_denial("T2", "C1", ["T1"], []) or "")
    assert "<#C1>" in (translate.place_denial("T1", "C9", [], ["C1"]) or "")
    assert translate.place_denial("T1", "D9", [], ["C1"]) is None  # a DM with the bot


def started_view(*, url: bool, failed: bool = False) -> ProgressView:
    job = JobId("j1")
    view = ProgressView()
    events = [
        Event(EventKind.ACCEPTED, job, 0, "Starting requested by alice."),
        Event(EventKind.STEP_STARTED, job, 1, "", "lb", {"label": "Network Load Balancer"}),
        Event(
            EventKind.STEP_FINISHED,
            job,
            2,
            "",
            "lb",
            {"label": "Network Load Balancer", "seconds": 2.5},
        ),
        Event(EventKind.STEP_STARTED, job, 3, "", "health", {"label": "Targets healthy"}),
    ]
    if failed:
        events += [
            Event(
                EventKind.STEP_FINISHED,
                job,
                4,
                "targets unhealthy",
                "health",
                {"label": "Targets healthy", "ok": False, "seconds": 60.0},
            ),
            Event(EventKind.ERROR, job, 5, "Targets never became healthy. Check the task logs."),
            Event(EventKind.FINISHED, job, 6, "Start failed.", data={"ok": False}),
        ]
    elif url:
        events += [
            Event(
                EventKind.STEP_FINISHED,
                job,
                4,
                "",
                "health",
                {"label": "Targets healthy", "seconds": 30.0},
            ),
            Event(
                EventKind.URL_READY, job, 5, "", None, {"url": "https://meet.example.com/standup"}
            ),
            Event(EventKind.COST, job, 6, "Running costs $0.235 per hour."),
            Event(
                EventKind.FINISHED,
                job,
                7,
                "Platform running.",
                data={"ok": True, "aws_calls": 42, "seconds": 33.1},
            ),
        ]
    for event in events:
        view.apply(event)
    return view


def buttons(blocks: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    actions = [b for b in blocks if b["type"] == "actions"]
    return {e["action_id"]: e for a in actions for e in a["elements"]}


def test_progress_while_starting_shows_marks_and_stop() -> None:
    blocks = translate.progress_blocks(started_view(url=False))
    text = json.dumps(blocks, ensure_ascii=False)
    assert "✓ Network Load Balancer" in text and "… Targets healthy" in text
    assert set(buttons(blocks)) == {translate.ACTION_STOP}


def test_final_start_has_join_cost_and_dangerous_stop() -> None:
    view = started_view(url=True)
    blocks = translate.progress_blocks(view)
    b = buttons(blocks)
    assert b[translate.ACTION_JOIN]["url"] == "https://meet.example.com/standup"
    assert b[translate.ACTION_STOP]["confirm"]["style"] == "danger"
    assert "$0.235 per hour" in json.dumps(blocks)
    assert translate.fallback_text(view).endswith("https://meet.example.com/standup")
    details = translate.details_text(view)
    assert "Network Load Balancer: 2.5 s" in details and "AWS API calls: 42" in details
    assert "33.1 s" in details


def test_failed_start_shows_error_and_no_buttons() -> None:
    blocks = translate.progress_blocks(started_view(url=False, failed=True))
    text = json.dumps(blocks, ensure_ascii=False)
    assert "✗ Targets healthy" in text and "Check the task logs" in text
    assert buttons(blocks) == {}


def test_stop_job_message_has_no_stop_button() -> None:
    assert buttons(translate.progress_blocks(started_view(url=False), kind="stop")) == {}


def test_long_texts_are_cut_to_slacks_limit() -> None:
    view = ProgressView(job_id="j", title="x" * 5000)
    section = translate.progress_blocks(view)[0]
    assert len(section["text"]["text"]) <= translate.TEXT_LIMIT


def test_acted_note_removes_the_buttons() -> None:
    message = fixture("block_actions_stop")["message"]
    blocks = translate.acted_note(message["blocks"], "U0002", "stop")
    assert all(b["type"] != "actions" for b in blocks)
    assert "Stop requested by <@U0002>" in json.dumps(blocks)
    kept = translate.acted_note(message["blocks"], "U2", "keep 30")
    assert "`keep 30` sent by <@U2>" in json.dumps(kept)


def test_idle_warning_notice_has_keep_and_stop() -> None:
    notice = Notice(NoticeKind.IDLE_WARNING, 0.0, "Nobody in the meeting; stopping in 10 min.")
    b = buttons(translate.notice_blocks(notice))
    assert b[translate.ACTION_KEEP]["value"] == "30" and translate.ACTION_STOP in b
    assert b[translate.ACTION_STOP]["confirm"]["style"] == "danger"  # never redrawn: stays red
    assert buttons(translate.notice_blocks(Notice(NoticeKind.REPAIR, 0.0, "fixed"))) == {}


def test_cleared_and_max_session_warnings_offer_no_useless_buttons() -> None:
    joined = Notice(NoticeKind.IDLE_WARNING, 0.0, "Someone joined.", data={"cleared": True})
    assert buttons(translate.notice_blocks(joined)) == {}
    limit = Notice(NoticeKind.IDLE_WARNING, 0.0, "Limit soon.", data={"reason": "max-session"})
    assert set(buttons(translate.notice_blocks(limit))) == {translate.ACTION_STOP}


def test_home_view() -> None:
    view = translate.home_view(
        "Platform: running (asked: running).",
        "https://meet.example.com/x",
        3.25,
        0.76,
        1_700_000_000.0,
        "jitsi",
    )
    text = json.dumps(view)
    assert view["type"] == "home" and "November 2023 so far:* 3.2 h, $0.760" in text
    assert "https://meet.example.com/x" in text and "/jitsi start" in text


# -- the Stop confirmation follows the idle monitor's last reading ------------------
# Fixtures: SessionWatch records as bot.idle.decide() leaves them in Redis after a
# reading of 0 (jicofo), 3 (cloudwatch) and unknown (jvb, HTTP 503), at SESSION + 1200;
# and one written before the readings were typed (``last_reading: "jicofo: 0"``).
SESSION = 1_700_000_000.0
NOW = SESSION + 1300
MAX_AGE = translate.STALE_AFTER_CHECKS * 60.0  # the monitor's default check interval


def recorded_watch(name: str) -> SessionWatch:
    return SessionWatch.from_json(json.dumps(fixture(name)))


def final_stop(participants: int | None) -> dict[str, Any]:
    blocks = translate.progress_blocks(started_view(url=True), "start", participants)
    return buttons(blocks)[translate.ACTION_STOP]


def test_recorded_readings_give_the_participant_count() -> None:
    def count(name: str) -> int | None:
        return translate.session_participants(recorded_watch(name), SESSION, NOW, MAX_AGE)

    assert count("session_watch_empty") == 0
    assert count("session_watch_occupied") == 3
    assert count("session_watch_unknown") is None


def test_empty_meeting_gets_a_plain_stop_confirmation() -> None:
    watch = recorded_watch("session_watch_empty")
    stop = final_stop(translate.session_participants(watch, SESSION, NOW, MAX_AGE))
    assert "style" not in stop["confirm"] and "style" not in stop
    assert stop["confirm"]["text"]["text"].startswith("Nobody was in the meeting")
    assert stop["confirm"]["confirm"]["text"] == "Yes, stop"
    assert stop["value"] == "stop"  # the same command when clicked


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("session_watch_occupied", "3 people are in the meeting"),
        ("session_watch_unknown", "People may still be in the meeting"),
    ],
)
def test_occupied_or_unknown_meeting_gets_a_dangerous_confirmation(name: str, says: str) -> None:
    watch = recorded_watch(name)
    stop = final_stop(translate.session_participants(watch, SESSION, NOW, MAX_AGE))
    assert stop["style"] == "danger" and stop["confirm"]["style"] == "danger"
    assert stop["confirm"]["text"]["text"].startswith(says)
    assert "ends it for everyone" in stop["confirm"]["text"]["text"]


def test_a_reading_nobody_can_vouch_for_is_unknown() -> None:
    empty = recorded_watch("session_watch_empty")

    def count(
        watch: SessionWatch | None, started: float | None = SESSION, now: float = NOW
    ) -> int | None:
        return translate.session_participants(watch, started, now, MAX_AGE)

    assert count(None) is None
    assert count(empty, None) is None
    # Another session's record (the monitor replaces it on its next tick).
    assert count(empty, SESSION + 3600) is None
    # No reading yet (grace period) and a `keep` (no readings are taken meanwhile).
    assert count(empty.with_(last_read_at=None, last_participants=None, last_source=None)) is None
    kept = empty.with_(kept_until=NOW + 60)
    assert count(kept) is None
    assert count(kept, now=NOW + 61) == 0
    assert count(empty.with_(last_participants=-1)) is None
    # A reading the monitor has not renewed for three of its checks: it may have stopped.
    read_at = SESSION + 1200
    assert count(empty, now=read_at + MAX_AGE) == 0
    assert count(empty, now=read_at + MAX_AGE + 1) is None
    # A record from before the typed readings loads, and vouches for nothing.
    legacy = recorded_watch("session_watch_legacy")
    assert legacy.last_participants is None and count(legacy) is None
    assert final_stop(None)["confirm"]["style"] == "danger"
    assert "1 person is in the meeting" in json.dumps(final_stop(1))


def test_home_view_shows_how_many_are_in_the_meeting() -> None:
    def home(participants: int | None) -> str:
        view = translate.home_view(
            "Platform: running.", "https://m.example/x", 1.0, 0.2, NOW, "jitsi", participants
        )
        return json.dumps(view)

    assert "2 in the meeting" in home(2) and "0 in the meeting" in home(0)
    assert "in the meeting" not in home(None)
    stopped = translate.home_view("Platform: stopped.", None, 1.0, 0.2, NOW, "jitsi", 2)
    assert "in the meeting" not in json.dumps(stopped)
