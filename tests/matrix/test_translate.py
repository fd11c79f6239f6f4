"""The pure Matrix translation, on recorded Client-Server API JSON (malformed included)."""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path
from typing import Any

import pytest

from adapters.matrix import translate as t
from bot.events import Event, EventKind, Notice, NoticeKind
from bot.model import ChatPlatform, JobId
from bot.render import ProgressView

EV: dict[str, Any] = json.loads((Path(__file__).parent / "recorded" / "events.json").read_text())
BOT = "@bot:hs.test"


def cmd(event: Any, **kw: Any) -> t.CommandMessage | None:
    return t.command_from_event(event, "!r:hs.test", bot_user=BOT, prefix="!jitsi", **kw)


def test_a_command_becomes_actor_and_text() -> None:
    c = cmd(EV["command"])
    assert c is not None
    assert (c.actor.user, c.actor.channel, c.actor.platform) == (
        "@alice:hs.test",
        "!r:hs.test",
        ChatPlatform.MATRIX,
    )
    assert (c.text, c.verb, c.event_id, c.actor.display_name) == (
        "start standup",
        "start",
        "$c1",
        "alice",
    )


def test_reply_fallback_is_stripped() -> None:
    c = cmd(EV["reply_fallback"])
    assert c is not None and c.text == "status"


@pytest.mark.parametrize("name", ["edit", "notice", "own"])
def test_ignored_events(name: str) -> None:
    assert cmd(EV[name]) is None


def test_old_events_and_other_prefixes_are_ignored() -> None:
    assert cmd(EV["command"], not_before_ms=EV["command"]["origin_server_ts"] + 1) is None
    other = copy.deepcopy(EV["command"])
    other["content"]["body"] = "!jitsiX start"
    assert cmd(other) is None
    bare = copy.deepcopy(EV["command"])
    bare["content"]["body"] = "  !JITSI  "
    c = cmd(bare)
    assert c is not None and c.text == "" and c.verb == "help"


def _broken() -> list[Any]:
    base = EV["command"]
    cases: list[Any] = [None, 42, "text", [], {}, {"type": "m.room.message"}]
    for key, value in [
        ("sender", None),
        ("sender", "alice"),
        ("event_id", 5),
        ("origin_server_ts", "now"),
        ("origin_server_ts", True),
        ("content", "!jitsi start"),
        ("content", {"msgtype": "m.text", "body": 42}),
        ("content", {"body": "!jitsi start"}),
        ("content", {"msgtype": "m.text"}),
        ("type", "m.room.encrypted"),
    ]:
        case = copy.deepcopy(base)
        case[key] = value
        cases.append(case)
    return cases


@pytest.mark.parametrize("event", _broken())
def test_malformed_events_are_ignored(event: Any) -> None:
    assert cmd(event) is None


def test_long_commands_are_cut() -> None:
    long = copy.deepcopy(EV["command"])
    long["content"]["body"] = "!jitsi " + "x" * 10_000
    c = cmd(long)
    assert c is not None and len(c.text) == t.MAX_COMMAND_CHARS


def test_power_levels_room_version_12_creators_are_infinite() -> None:
    state = [EV["create_v12"], EV["power_levels"]]
    assert t.power_level("@alice:hs.test", state) == math.inf  # creator, not in users
    assert t.power_level("@carol:hs.test", state) == math.inf  # additional creator
    assert t.power_level("@bob:hs.test", state) == 50
    assert t.power_level("@dave:hs.test", state) == 75  # numeric string (old rooms)
    assert t.power_level("@eve:hs.test", state) == 0  # a boolean is no power
    assert t.power_level("@zed:hs.test", state) == 0
    assert t.power_level("7", state) == 0


def test_power_levels_before_version_12() -> None:
    state = [EV["create_v10"], EV["power_levels_v10"]]
    assert t.power_level("@alice:hs.test", state) == 100
    assert t.power_level("@carol:hs.test", state) == 10  # additional_creators means nothing
    assert t.power_level("@bob:hs.test", state) == 50
    assert t.power_level("@alice:hs.test", [EV["create_v10"]]) == 100  # no power_levels event
    assert t.power_level("@bob:hs.test", [EV["create_v10"]]) == 0


@pytest.mark.parametrize(
    "state",
    [
        [],
        [None, 3, "x"],
        [{"type": "m.room.power_levels", "state_key": "", "content": "bad"}],
        [
            {
                "type": "m.room.power_levels",
                "state_key": "",
                "content": {"users": [], "users_default": "x"},
            }
        ],
        [{"type": "m.room.create", "state_key": "", "content": {"room_version": "12"}}],
    ],
)
def test_power_levels_malformed_state_gives_no_power(state: list[Any]) -> None:
    assert t.power_level("@alice:hs.test", state) == 0


def test_required_levels() -> None:
    levels = {"start": 0, "stop": 50}
    assert t.required_level("stop", levels) == 50 and t.required_level("help", levels) == 0


def test_allow_lists() -> None:
    ok = {"homeservers": ["hs.test"], "rooms": ["!r:hs.test"], "users": []}
    assert t.is_allowed("@a:hs.test", "!r:hs.test", **ok)
    assert not t.is_allowed("@a:evil.test", "!r:hs.test", **ok)
    assert not t.is_allowed("@a:hs.test", "!other:hs.test", **ok)
    assert not t.is_allowed(
        "@a:hs.test", "!r:hs.test", homeservers=[], rooms=[], users=["@b:hs.test"]
    )
    assert t.homeserver_of("@a:hs.test:8448") == "hs.test:8448"


def test_invite_from_stripped_state() -> None:
    state = [
        {"type": "m.room.create", "state_key": "", "sender": "@x:hs.test", "content": {}},
        {
            "type": "m.room.member",
            "state_key": BOT,
            "sender": "@alice:hs.test",
            "content": {"membership": "invite"},
        },
    ]
    assert t.invite_from_state(state, BOT) == "@alice:hs.test"
    assert t.invite_from_state([None, {"type": "m.room.member"}], BOT) is None


def _view(finished: bool = False, extra_costs: int = 0) -> ProgressView:
    view = ProgressView()
    j = JobId("j1")
    view.apply(Event(EventKind.ACCEPTED, j, 0, "Starting requested by alice."))
    view.apply(Event(EventKind.STEP_STARTED, j, 1, "", step="nlb", data={"label": "NLB"}))
    if finished:
        view.apply(Event(EventKind.STEP_FINISHED, j, 2, "", step="nlb", data={"seconds": 1.5}))
        view.apply(Event(EventKind.URL_READY, j, 3, "", data={"url": "https://m.test/r<1>"}))
        for i in range(extra_costs + 1):
            view.apply(Event(EventKind.COST, j, 4, f"cost line {i}"))
        view.apply(Event(EventKind.FINISHED, j, 5, "Platform running.", data={"ok": True}))
    return view


def test_view_message_edit_and_thread() -> None:
    content = t.view_message(_view())
    assert content["msgtype"] == "m.notice" and "… NLB" in content["body"]
    e = t.edit("$root", content)
    assert e["m.relates_to"] == {"rel_type": "m.replace", "event_id": "$root"}
    assert e["body"] == "* " + content["body"] and e["m.new_content"]["body"] == content["body"]
    assert "m.relates_to" not in e["m.new_content"]
    assert e["formatted_body"].startswith("* ")
    done = t.view_message(_view(finished=True))
    assert '<a href="https://m.test/r&lt;1&gt;">' in done["formatted_body"]  # escaped
    assert t.view_details(_view(finished=True)) is None  # short: no thread
    long = _view(finished=True, extra_costs=15)
    main, details = t.view_message(long)["body"], t.view_details(long)
    assert details is not None and "cost line 15" in details and "cost line 15" not in main
    assert "Join: https://m.test/r<1>" in main and main.endswith("Details in the thread.")
    thread = t.in_thread("$root", t.notice(details))
    assert thread["m.relates_to"]["rel_type"] == "m.thread"
    assert thread["m.relates_to"]["event_id"] == "$root"


def test_idle_warning_shows_the_keep_hint() -> None:
    warn = Notice(NoticeKind.IDLE_WARNING, 0, "Nobody in the meeting for 20 min; stopping in 10.")
    assert "`!jitsi keep 30`" in t.notice_text(warn, "!jitsi")
    repair = Notice(NoticeKind.REPAIR, 0, "Removed a stray NLB.")
    assert t.notice_text(repair, "!jitsi") == "Removed a stray NLB."
    assert t.notice("x", reply_to="$e")["m.relates_to"] == {"m.in_reply_to": {"event_id": "$e"}}


def test_is_encrypted() -> None:
    megolm = {
        "type": "m.room.encryption",
        "state_key": "",
        "content": {"algorithm": "m.megolm.v1.aes-sha2"},
    }
    assert t.is_encrypted([{"type": "m.room.create", "state_key": "", "content": {}}, megolm])
    assert not t.is_encrypted([])
    for bad in (
        {**megolm, "state_key": "x"},
        {**megolm, "content": {}},
        {**megolm, "content": 3},
        None,
        "x",
    ):
        assert not t.is_encrypted([bad])
