"""The chat command language shared by every adapter: pure parsing, no I/O."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass

from bot.errors import CommandError

ROOM_MAX = 64
# Jitsi room names end up in URLs and XMPP MUC JIDs: keep to a conservative set.
_ROOM = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
VERBS = ("start", "stop", "status", "cost", "help")


@dataclass(frozen=True, slots=True)
class Start:
    room: str | None = None
    name = "start"


@dataclass(frozen=True, slots=True)
class Stop:
    name = "stop"


@dataclass(frozen=True, slots=True)
class Status:
    name = "status"


@dataclass(frozen=True, slots=True)
class Cost:
    name = "cost"


@dataclass(frozen=True, slots=True)
class Help:
    topic: str | None = None
    name = "help"


Command = Start | Stop | Status | Cost | Help

USAGE = {
    "start": "start [room]: bring the platform up (about 2-5 minutes) and post the meeting URL",
    "stop": "stop: tear the platform down, check nothing billable is left, post the session cost",
    "status": "status: what is running, the meeting URL and what it costs per hour",
    "cost": "cost: running cost per hour, idle cost per month, this month's hours and cost",
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
            f"`{room}` is not a valid room name: use letters, digits, - and _, "
            "starting with a letter or digit.",
            hint,
        )
    return room


def strip_prefix(text: str, command_name: str) -> str:
    """Drop a leading ``/jitsi`` or ``!jitsi`` (as typed in a console or a room)."""
    words = text.strip().split(maxsplit=1)
    if words and words[0].lower().lstrip("/!") == command_name and words[0][:1] in "/!":
        return words[1] if len(words) > 1 else ""
    return text.strip()


def parse(text: str, command_name: str = "jitsi") -> Command:
    """Parse the text after the command name; raise ``CommandError`` with help on bad input."""
    body = strip_prefix(text, command_name)
    words = body.split()
    if not words:
        return Help()
    verb, args = words[0].lower(), words[1:]
    if verb in ("help", "?", "-h", "--help"):
        topic = args[0].lower() if args else None
        return Help(topic if topic in USAGE else None)
    if verb == "start":
        if len(args) > 1:
            joined = "-".join(args)
            raise CommandError(
                "Room names cannot contain spaces.", f"Try `start {validate_room_or_none(joined)}`."
            )
        return Start(validate_room(args[0]) if args else None)
    if verb in ("stop", "status", "cost"):
        if args:
            raise CommandError(f"`{verb}` takes no arguments.", f"Usage: {USAGE[verb]}")
        simple: dict[str, Command] = {"stop": Stop(), "status": Status(), "cost": Cost()}
        return simple[verb]
    close = difflib.get_close_matches(verb, VERBS, n=1)
    hint = f"Did you mean `{close[0]}`?" if close else ""
    shown = verb if len(verb) <= 32 else verb[:32] + "…"
    raise CommandError(f"Unknown command `{shown}`. {hint}".strip(), "\n" + help_text())


def validate_room_or_none(room: str) -> str:
    cleaned = re.sub(r"[^A-Za-z0-9_-]+", "-", room).strip("-_")[:ROOM_MAX]
    return cleaned or "my-room"
