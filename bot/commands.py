"""The chat command language shared by every adapter: pure parsing, no I/O."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from bot.audit import HISTORY_DEFAULT, HISTORY_MAX
from bot.errors import CommandError
from bot.fmt import safe_text, unsafe_char

ROOM_MAX = 64
# Jitsi room names end up in URLs and XMPP MUC JIDs: keep to a conservative set.
_ROOM = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
VERBS = (
    "start",
    "stop",
    "status",
    "cost",
    "help",
    "keep",
    "schedule",
    "cancel",
    "history",
    "link",
)
_CLOCK = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_DURATION = re.compile(r"^(?:(\d{1,2})h)?(?:(\d{1,4})m?)?$")
_SCHEDULE_ID = re.compile(r"^[a-z0-9]{1,16}$")
MAX_SCHEDULED_MINUTES = 24 * 60


@dataclass(frozen=True, slots=True)
class Start:
    room: str | None = None
    force: bool = False  # an admin starting past the monthly budget
    name = "start"


@dataclass(frozen=True, slots=True)
class StartAt:
    """``start at HH:MM [for 2h] [room]``: a session at the next HH:MM (configured zone)."""

    hour: int
    minute: int
    minutes: int | None = None  # how long; None: until stopped (or idle)
    room: str | None = None
    name = "start"


@dataclass(frozen=True, slots=True)
class StopAt:
    hour: int
    minute: int
    name = "stop"


@dataclass(frozen=True, slots=True)
class Keep:
    """``keep [minutes]``: postpone the idle stop; None means the configured default."""

    minutes: int | None = None
    name = "keep"


@dataclass(frozen=True, slots=True)
class Schedule:
    name = "schedule"


@dataclass(frozen=True, slots=True)
class Cancel:
    schedule_id: str
    name = "cancel"


@dataclass(frozen=True, slots=True)
class Stop:
    name = "stop"


@dataclass(frozen=True, slots=True)
class Link:
    """``link [room]``: the asker's own meeting link, sent only to them."""

    room: str | None = None
    name = "link"


@dataclass(frozen=True, slots=True)
class Status:
    name = "status"


@dataclass(frozen=True, slots=True)
class Cost:
    """``cost``: the estimate; ``cost actual [YYYY-MM]``: AWS's own figures beside it;
    ``cost report [YYYY-MM]``: the month's chart and its numbers (CSV)."""

    name = "cost"
    view: str = ""  # "" (the estimate), "actual" or "report"
    month: str | None = None  # YYYY-MM; None: this month


@dataclass(frozen=True, slots=True)
class History:
    """``history [n]``: the last ``n`` audit entries (commands and lifecycle jobs)."""

    count: int = HISTORY_DEFAULT
    name = "history"


@dataclass(frozen=True, slots=True)
class Help:
    topic: str | None = None
    name = "help"


Command = (
    Start
    | StartAt
    | Stop
    | StopAt
    | Status
    | Cost
    | Help
    | Keep
    | Schedule
    | Cancel
    | History
    | Link
)

USAGE = {
    "start": "start [room]: bring the platform up (about 2-5 minutes) and post the meeting URL; "
    "start at 18:45 [for 2h] [room]: schedule it",
    "stop": "stop: tear the platform down, check nothing billable is left, post the session cost; "
    "stop at 20:00: schedule it",
    "link": "link [room]: your own link to the running meeting, sent only to you "
    "(the meeting admits only people with a link)",
    "keep": "keep [minutes]: keep an idle platform running (default 30 minutes)",
    "schedule": "schedule: list the scheduled starts and stops",
    "cancel": "cancel <id>: cancel a scheduled start or stop (ids from `schedule`)",
    "status": "status: what is running, the meeting URL and what it costs per hour",
    "cost": "cost [actual|report [YYYY-MM]]: running cost per hour, idle cost per month, this "
    "month's hours and cost; `actual`: AWS's own figures (Cost Explorer) beside the estimate; "
    "`report`: the month's chart (PNG) of daily meeting hours and cost against the budget, "
    "with its numbers (CSV)",
    "history": f"history [n]: the last n commands and starts/stops, who asked, where, how "
    f"they ended, how long they took and what they cost (default {HISTORY_DEFAULT}, "
    f"at most {HISTORY_MAX})",
    "help": "help [command]: this text",
}


def help_text(prefix: str = "", topic: str | None = None) -> str:
    """Usage of one command, or of all of them, each line prefixed (e.g. ``/jitsi ``)."""
    if topic in USAGE:
        return f"{prefix}{USAGE[topic]}"
    return "\n".join(f"{prefix}{line}" for line in USAGE.values())


def validate_room(room: str) -> str:
    """Return ``room`` when Jitsi can use it; else raise ``CommandError`` saying how to fix it."""
    if len(room) > ROOM_MAX:
        raise CommandError(
            f"Room name is {len(room)} characters long; the limit is {ROOM_MAX}.",
            "Pick a shorter name.",
        )
    if not _ROOM.match(room):
        suggestion = re.sub(r"[^A-Za-z0-9_-]+", "-", room).strip("-_")[:ROOM_MAX]
        hint = f"Try `{suggestion}`." if suggestion else "Use letters, digits, - and _."
        raise CommandError(
            f"`{safe_text(room, ROOM_MAX)}` is not a valid room name: "
            "use letters, digits, - and _, starting with a letter or digit.",
            hint,
        )
    return room


def strip_prefix(text: str, command_name: str) -> str:
    """Drop a leading ``/jitsi`` or ``!jitsi`` (as typed in a console or a room)."""
    words = text.strip().split(maxsplit=1)
    if words and words[0].lower().lstrip("/!") == command_name and words[0][:1] in "/!":
        return words[1] if len(words) > 1 else ""
    return text.strip()


def refuse_unsafe(text: str) -> None:
    """Raise ``CommandError`` when ``text`` holds a character other than a plain space
    that is whitespace, a control or a format character (tab, CR, BEL, U+202E...).

    Refused rather than normalised: ``start\tstop`` is more likely a paste gone wrong
    than a room named ``stop``, and a bot that starts a paid platform should not
    guess. Leading and trailing whitespace (the newline a chat client adds) is
    trimmed before this check."""
    for index, char in enumerate(text):
        if unsafe_char(char):
            raise CommandError(
                f"The command contains {_char_name(char)} at position {index + 1}: "
                "separate words with plain spaces only.",
                "Type the command again without tabs, line breaks or control characters.",
            )


def _char_name(char: str) -> str:
    escaped = safe_text(char)
    named = {"\t": "a tab", "\n": "a line break", "\r": "a carriage return"}
    return named.get(escaped, f"the invisible character {escaped}")


def parse(text: str, command_name: str = "jitsi") -> Command:
    """Parse the text after the command name; raise ``CommandError`` with help on bad input.

    Words are separated by plain spaces; any other whitespace or control character
    inside the command is refused (see ``refuse_unsafe``)."""
    refuse_unsafe(text.strip())
    body = strip_prefix(text, command_name)
    words = body.split()
    if not words:
        return Help()
    verb, args = words[0].lower(), words[1:]
    if verb in ("help", "?", "-h", "--help"):
        topic = args[0].lower() if args else None
        return Help(topic if topic in USAGE else None)
    if verb in ("start!", "start"):
        force = verb == "start!"
        if args and args[0].lower() in ("--force", "-f"):
            force, args = True, args[1:]
        if args and args[0].lower() == "at":
            if force:
                raise CommandError(
                    "A scheduled start cannot be forced.", f"Usage: {USAGE['start']}"
                )
            return _start_at(args[1:])
        if len(args) > 1:
            joined = "-".join(args)
            raise CommandError(
                "Room names cannot contain spaces.", f"Try `start {validate_room_or_none(joined)}`."
            )
        return Start(validate_room(args[0]) if args else None, force=force)
    if verb == "stop" and args and args[0].lower() == "at":
        if len(args) != 2:
            raise CommandError("Usage: stop at HH:MM (24-hour clock).")
        hour, minute = _clock(args[1])
        return StopAt(hour, minute)
    if verb == "keep":
        if len(args) > 1:
            raise CommandError(
                "`keep` takes at most one number of minutes.", f"Usage: {USAGE['keep']}"
            )
        return Keep(_minutes(args[0], "keep") if args else None)
    if verb in ("schedule", "schedules"):
        if args:
            raise CommandError("`schedule` takes no arguments.", f"Usage: {USAGE['schedule']}")
        return Schedule()
    if verb == "cancel":
        if len(args) != 1 or not _SCHEDULE_ID.match(args[0].lower()):
            raise CommandError("Usage: cancel <id>, with an id from `schedule`.")
        return Cancel(args[0].lower())
    if verb == "history":
        if len(args) > 1:
            raise CommandError("`history` takes at most one number.", f"Usage: {USAGE['history']}")
        return History(_history_count(args[0]) if args else HISTORY_DEFAULT)
    if verb == "link":
        if len(args) > 1:
            raise CommandError(
                "Room names cannot contain spaces.",
                f"Try `link {validate_room_or_none('-'.join(args))}`.",
            )
        return Link(validate_room(args[0]) if args else None)
    if verb == "cost" and args:
        return _cost(args)
    if verb in ("stop", "status", "cost"):
        if args:
            raise CommandError(f"`{verb}` takes no arguments.", f"Usage: {USAGE[verb]}")
        simple: dict[str, Command] = {"stop": Stop(), "status": Status(), "cost": Cost()}
        return simple[verb]
    close = difflib.get_close_matches(verb, VERBS, n=1)
    hint = f"Did you mean `{close[0]}`?" if close and close[0] != verb else ""
    shown = safe_text(verb, 32)
    raise CommandError(f"Unknown command `{shown}`. {hint}".strip(), "\n" + help_text())


def command_of(text: str, command_name: str = "jitsi") -> str | None:
    """The name of the command ``text`` asks for (``start`` for ``start at 18:45``), as
    allow lists and power levels name it; None when ``text`` does not parse."""
    try:
        return parse(text, command_name).name
    except CommandError:
        return None


_COUNT = re.compile(r"^[+-]?[0-9]+$")
_MONTH = re.compile(r"^[0-9]{4}-(0[1-9]|1[0-2])$")
COST_VIEWS = ("actual", "report")


def _history_count(text: str) -> int:
    """How many entries ``history`` lists: a whole number from 1 to HISTORY_MAX.

    A number with more than 6 digits is refused by its length, never converted (a
    paste of 10,000 digits costs nothing)."""
    if not _COUNT.match(text):
        raise CommandError(
            f"`{safe_text(text, 16)}` is not a number of entries.",
            f"Usage: {USAGE['history']}",
        )
    digits = text.lstrip("+-")
    count = int(text) if len(digits) <= 6 else None
    if count is None or not 1 <= count <= HISTORY_MAX:
        shown = str(count) if count is not None else f"a {len(digits)}-digit number"
        raise CommandError(
            f"`history` lists 1 to {HISTORY_MAX} entries, not {shown}.",
            f"Try `history {HISTORY_MAX}`; `jitsi-bot audit export` writes the whole log.",
        )
    return count


def _cost(args: list[str]) -> Cost:
    """``cost actual|report [YYYY-MM]``; ``args`` is what follows ``cost`` (not empty)."""
    view = args[0].lower()
    if view not in COST_VIEWS:
        close = difflib.get_close_matches(view, COST_VIEWS, n=1)
        guess = f" Did you mean `cost {close[0]}`?" if close else ""
        raise CommandError(
            f"`cost` takes `actual` or `report`, not `{safe_text(args[0], 16)}`.{guess}",
            f"Usage: {USAGE['cost']}",
        )
    if len(args) > 2:
        raise CommandError(
            f"`cost {view}` takes at most one month (YYYY-MM).", f"Usage: {USAGE['cost']}"
        )
    if len(args) == 2 and not _MONTH.match(args[1]):
        raise CommandError(
            f"`{safe_text(args[1], 16)}` is not a month.",
            f"Write it as YYYY-MM, e.g. `cost {view} 2026-11`.",
        )
    return Cost(view, args[1] if len(args) == 2 else None)


def _clock(text: str) -> tuple[int, int]:
    match = _CLOCK.match(text)
    if not match:
        shown = safe_text(text, 16)
        raise CommandError(
            f"`{shown}` is not a time of day.", "Use HH:MM on a 24-hour clock, e.g. 18:45."
        )
    return int(match.group(1)), int(match.group(2))


def _minutes(text: str, what: str) -> int:
    """``30``, ``30m``, ``2h``, ``1h30m`` -> minutes, between 1 and 24 hours."""
    match = _DURATION.match(text.lower())
    if not match or not any(match.groups()):
        shown = safe_text(text, 16)
        raise CommandError(
            f"`{shown}` is not a duration for `{what}`.",
            "Use minutes or hours: 30, 90m, 2h, 1h30m.",
        )
    minutes = int(match.group(1) or 0) * 60 + int(match.group(2) or 0)
    if not 1 <= minutes <= MAX_SCHEDULED_MINUTES:
        raise CommandError(
            f"A duration must be between 1 minute and 24 hours, not {minutes} minutes."
        )
    return minutes


def _start_at(args: list[str]) -> StartAt:
    if not args:
        raise CommandError("Usage: start at HH:MM [for 2h] [room].")
    hour, minute = _clock(args[0])
    rest = args[1:]
    minutes = None
    if rest and rest[0].lower() == "for":
        if len(rest) < 2:
            raise CommandError("`for` needs a duration, e.g. `for 2h`.")
        minutes, rest = _minutes(rest[1], "for"), rest[2:]
    if len(rest) > 1:
        raise CommandError(
            "Room names cannot contain spaces.",
            f"Try `start at {args[0]} {validate_room_or_none('-'.join(rest))}`.",
        )
    return StartAt(hour, minute, minutes, validate_room(rest[0]) if rest else None)


def validate_room_or_none(room: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9_-]+", "-", room).strip("-_")[:ROOM_MAX]
    return cleaned or "my-room"
