"""The command language: every verb, bad input, and a fuzzer that it never crashes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.commands import ROOM_MAX, Cost, Help, Start, Status, Stop, parse
from bot.errors import CommandError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("start", Start()),
        ("start standup", Start("standup")),
        ("  START   Team_Sync-2 ", Start("Team_Sync-2")),
        ("/jitsi start retro", Start("retro")),
        ("!jitsi stop", Stop()),
        ("status", Status()),
        ("cost", Cost()),
        ("help", Help()),
        ("help stop", Help("stop")),
        ("help nonsense", Help()),
        ("", Help()),
        ("!jitsi", Help()),
    ],
)
def test_valid_commands(text: str, expected: object) -> None:
    assert parse(text) == expected


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("strat", "Did you mean `start`"),
        ("launch", "Unknown command"),
        ("start my room", "cannot contain spaces"),
        ("start my room", "my-room"),
        ("start ro/om", "not a valid room name"),
        ("start -room", "not a valid room name"),
        ("start " + "a" * (ROOM_MAX + 1), "limit is 64"),
        ("stop now", "takes no arguments"),
        ("status please", "takes no arguments"),
    ],
)
def test_bad_commands_say_how_to_fix_them(text: str, needle: str) -> None:
    with pytest.raises(CommandError) as err:
        parse(text)
    assert needle in err.value.user_message()


def test_unknown_command_lists_help() -> None:
    with pytest.raises(CommandError) as err:
        parse("frobnicate")
    assert "start [room]" in err.value.user_message()


def test_configured_command_name_is_stripped() -> None:
    assert parse("/meet start x", "meet") == Start("x")
    with pytest.raises(CommandError):
        parse("/jitsi start x", "meet")  # another app's command is not ours


@given(st.text(max_size=200))
def test_parse_never_crashes(text: str) -> None:
    try:
        command = parse(text)
    except CommandError as exc:
        assert exc.user_message()
        assert len(str(exc)) < 400  # a pasted novel is not echoed back whole
    else:
        assert command.name in ("start", "stop", "status", "cost", "help")


@given(st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}", fullmatch=True))
def test_every_valid_room_round_trips(room: str) -> None:
    assert parse(f"start {room}") == Start(room)
