"""`history [n]` parsing and rendering, audit entries as stream fields and JSON, and the
export's ``--since``: malformed and huge inputs are refused with a way forward."""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.audit_export import since_of
from bot.audit import HISTORY_DEFAULT, HISTORY_MAX, AuditEntry, EntryKind, history_text
from bot.commands import History, command_of, help_text, parse
from bot.errors import CommandError

NOW = 1_795_000_000.0  # 2026-11-18 11:06:40 UTC


@pytest.mark.parametrize(
    ("text", "count"),
    [("history", HISTORY_DEFAULT), ("history 1", 1), ("HISTORY 50", 50), ("history +7", 7)],
)
def test_history_counts(text: str, count: int) -> None:
    assert parse(text) == History(count)


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("history 99999999999999999999", "1 to 50 entries, not a 20-digit number"),
        ("history " + "9" * 5000, "not a 5000-digit number"),
        ("history -1", "not -1"),
        ("history 0", "not 0"),
        ("history 51", "not 51"),
        ("history abc", "`abc` is not a number of entries"),
        ("history 1.5", "is not a number"),
        ("history 1e3", "is not a number"),
        ("history ٣", "is not a number"),  # a digit, but not one a person types here
        ("history 5 6", "at most one number"),
        ("history <!channel>", "is not a number"),
    ],
)
def test_bad_history_counts_say_what_is_allowed(text: str, needle: str) -> None:
    with pytest.raises(CommandError) as err:
        parse(text)
    message = err.value.user_message()
    assert needle in message and ("history" in message)


def test_history_is_in_help_and_permissions_name_it() -> None:
    assert "history [n]" in help_text() and f"at most {HISTORY_MAX}" in help_text()
    assert command_of("history 5") == "history" and command_of("history x") is None


@given(st.text(max_size=40))
def test_any_history_argument_parses_or_is_refused(arg: str) -> None:
    try:
        parsed = parse(f"history {arg}")
    except CommandError:
        return
    assert isinstance(parsed, History) and 1 <= parsed.count <= HISTORY_MAX


def _command(what: str, outcome: str = "info", user: str = "console:alice") -> AuditEntry:
    return AuditEntry(EntryKind.COMMAND, NOW - 60, user, "console", "general", what, outcome, 0.02)


def test_history_text_shows_who_where_what_outcome_duration_and_cost() -> None:
    job = AuditEntry(
        EntryKind.JOB,
        NOW - 30,
        "slack:U0BOB",
        "slack",
        "C0GEN",
        "stop",
        "ok",
        seconds=95.0,
        job_id="abc123",
        ok=True,
        cost=0.4213,
        aws_calls=17,
    )
    text = history_text([job, _command("start standup", "job job=abc")], NOW, "UTC")
    first, stop, start = text.splitlines()
    assert first == "Last 2 audit entries, newest first:"
    assert "stop job abc123 for slack:U0BOB (slack C0GEN) ended ok, 95.0 s" in stop
    assert "17 AWS calls" in stop and "session cost $0.42" in stop
    assert "console:alice (console general) `start standup` -> job job=abc, 20 ms" in start
    assert start.lstrip().startswith("today 11:05 UTC")
    assert history_text([], NOW, "UTC") == "The audit history is empty."


def test_history_text_never_passes_markup_or_controls_on() -> None:
    typed = "start `x` <!channel> <@U123>\x1b[31m\u202e" + "y" * 500
    line = history_text([_command(typed, user="<!here>")], NOW, "UTC").splitlines()[1]
    assert "<" not in line and ">" not in line.split("->")[0] and "\x1b" not in line
    assert "\u202e" not in line and line.count("`") == 2 and len(line) < 250


def test_entries_round_trip_through_stream_fields_and_json() -> None:
    job = AuditEntry(
        EntryKind.JOB, NOW, "u", "slack", "c", "start", "crashed", 1.5, "j1", False, None, 3
    )
    back = AuditEntry.from_fields("1795000000000-0", job.fields())
    assert back == AuditEntry(**{**_as_kwargs(job), "entry_id": "1795000000000-0"})
    assert "cost" not in job.fields()  # absent values are left out of the stream
    exported = json.loads(json.dumps(back.as_json()))
    assert exported["ok"] is False and exported["cost"] is None and exported["id"] == back.entry_id
    long = _command("x" * 1000)
    assert len(long.fields()["command"]) == 200


def _as_kwargs(entry: AuditEntry) -> dict[str, object]:
    return {name: getattr(entry, name) for name in AuditEntry.__slots__}  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90m", NOW - 5400),
        ("12h", NOW - 43_200),
        ("7d", NOW - 7 * 86_400),
        ("2W", NOW - 14 * 86_400),
        ("2026-11-18", 1_794_960_000.0),
        ("2026-11-18T00:00:00Z", 1_794_960_000.0),
        ("2026-11-18T02:00:00+02:00", 1_794_960_000.0),
    ],
)
def test_since_accepts_times_and_durations(text: str, expected: float) -> None:
    assert since_of(text, NOW) == pytest.approx(expected)


@pytest.mark.parametrize(
    "text",
    ["yesterday-ish garbage", "", "-7d", "7 days", "9999999d", "2026-13-45", "1e9", "\x1b[31m"],
)
def test_since_refuses_garbage(text: str) -> None:
    with pytest.raises(ValueError, match="ISO 8601") as err:
        since_of(text, NOW)
    assert "\x1b" not in str(err.value)
