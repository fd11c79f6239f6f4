"""Matrix <-> core, no I/O: room events in, commands out; progress views out as
``m.notice`` contents, edits (``m.replace``) and thread replies (``m.thread``);
power levels from room state, with the room version 12 creator rule.

Everything here takes plain JSON (as the Client-Server API delivers it) and is
tested on recorded events, malformed ones included.
"""

from __future__ import annotations

import html
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeGuard

from bot.commands import command_of
from bot.events import Notice, NoticeKind
from bot.model import Actor, ChatPlatform, UserId
from bot.render import ProgressView

INFINITE = math.inf
"""A room version 12 creator's power level: above every number in power_levels."""

# Room versions where the creators are privileged and absent from power_levels
# (MSC4289). Unstable identifiers of the same rules are included.
PRIVILEGED_CREATOR_VERSIONS = frozenset({"12", "org.matrix.hydra.11"})

MAX_COMMAND_CHARS = 500
# Lines of a final message beyond which the details go to a thread.
THREAD_AFTER_LINES = 12


@dataclass(frozen=True, slots=True)
class CommandMessage:
    """A command addressed to the bot: who, where, which event, what text (prefix removed)."""

    actor: Actor
    room_id: str
    event_id: str
    text: str

    @property
    def verb(self) -> str | None:
        """The command's name as the core parses it (``help`` for no text); None when it
        does not parse (the core answers it with usage help)."""
        return command_of(self.text)


# -- incoming ------------------------------------------------------------------
def command_from_event(
    event: Any,
    room_id: str,
    *,
    bot_user: str,
    prefix: str,
    not_before_ms: int = 0,
) -> CommandMessage | None:
    """The command in a room timeline event, or None for anything the bot must ignore:
    its own messages, edits, notices, non-text, text without the prefix, events
    older than ``not_before_ms``, and malformed events."""
    if not isinstance(event, Mapping) or event.get("type") != "m.room.message":
        return None
    sender, event_id, ts = event.get("sender"), event.get("event_id"), event.get("origin_server_ts")
    content = event.get("content")
    if not (_is_user_id(sender) and isinstance(event_id, str) and isinstance(content, Mapping)):
        return None
    if sender == bot_user or isinstance(ts, bool) or not isinstance(ts, int) or ts < not_before_ms:
        return None
    if content.get("msgtype") != "m.text":  # notices are bots talking: never commands
        return None
    relates = content.get("m.relates_to")
    if isinstance(relates, Mapping) and relates.get("rel_type") == "m.replace":
        return None
    body = content.get("body")
    if not isinstance(body, str):
        return None
    text = _strip_reply_fallback(body).strip()
    words = text.split(maxsplit=1)
    if not words or words[0].lower() != prefix.lower():
        return None
    rest = words[1] if len(words) > 1 else ""
    actor = Actor(UserId(sender), room_id, ChatPlatform.MATRIX, _localpart(sender))
    return CommandMessage(actor, room_id, event_id, rest[:MAX_COMMAND_CHARS])


def _strip_reply_fallback(body: str) -> str:
    """Drop the ``> <@user> quoted`` lines a client puts before a reply's own text."""
    lines = body.split("\n")
    if not lines or not lines[0].startswith("> "):
        return body
    while lines and lines[0].startswith(">"):
        lines.pop(0)
    return "\n".join(lines)


def _is_user_id(value: object) -> TypeGuard[str]:
    return isinstance(value, str) and value.startswith("@") and ":" in value


def _localpart(user_id: str) -> str:
    return user_id[1:].split(":", 1)[0]


def homeserver_of(user_id: str) -> str:
    """``@alice:example.org`` -> ``example.org`` (ports kept)."""
    return user_id.split(":", 1)[1] if ":" in user_id else ""


def is_allowed(
    user_id: str,
    room_id: str,
    *,
    homeservers: Sequence[str],
    rooms: Sequence[str],
    users: Sequence[str],
) -> bool:
    """Allow lists from configuration; an empty list allows everyone."""
    if homeservers and homeserver_of(user_id) not in homeservers:
        return False
    if rooms and room_id not in rooms:
        return False
    return not users or user_id in users


def invite_from_state(events: Iterable[Any], bot_user: str) -> str | None:
    """Who invited the bot, from an invited room's stripped state (None if unknown)."""
    for ev in events:
        if (
            isinstance(ev, Mapping)
            and ev.get("type") == "m.room.member"
            and ev.get("state_key") == bot_user
            and isinstance(ev.get("content"), Mapping)
            and ev["content"].get("membership") == "invite"
            and _is_user_id(ev.get("sender"))
        ):
            return str(ev["sender"])
    return None


def is_encrypted(state: Iterable[Any]) -> bool:
    """Whether a room's state turns encryption on (any ``m.room.encryption`` with an
    algorithm: clients encrypt then, whatever the algorithm)."""
    return any(
        isinstance(ev, Mapping)
        and ev.get("type") == "m.room.encryption"
        and ev.get("state_key") == ""
        and isinstance(ev.get("content"), Mapping)
        and isinstance(ev["content"].get("algorithm"), str)
        for ev in state
    )


# -- power levels --------------------------------------------------------------
def power_level(user_id: str, state: Iterable[Any]) -> float:
    """The user's power level from the room's state events (``/rooms/{id}/state``).

    Room version 12: the creators (the create event's sender and
    ``content.additional_creators``) have infinite power and are not listed in
    ``m.room.power_levels``. Older versions: ``users``, else ``users_default``;
    without a power-levels event the creator has 100 and everyone else 0.
    Malformed values count as 0, never as power.
    """
    create: Mapping[str, Any] | None = None
    levels: Mapping[str, Any] | None = None
    for ev in state:
        if not isinstance(ev, Mapping) or ev.get("state_key") != "":
            continue
        if ev.get("type") == "m.room.create" and isinstance(ev.get("content"), Mapping):
            create = ev
        elif ev.get("type") == "m.room.power_levels" and isinstance(ev.get("content"), Mapping):
            levels = ev["content"]
    creators: set[str] = set()
    version = "1"
    if create is not None:
        content = create["content"]
        version = str(content.get("room_version", "1"))
        creator = create.get("sender")
        if not _is_user_id(creator):  # very old rooms name the creator in content
            creator = content.get("creator")
        if _is_user_id(creator):
            creators.add(str(creator))
        if version in PRIVILEGED_CREATOR_VERSIONS:
            extra = content.get("additional_creators")
            if isinstance(extra, list):
                creators.update(u for u in extra if _is_user_id(u))
            if user_id in creators:
                return INFINITE
    if levels is None:
        return 100 if user_id in creators else 0
    users = levels.get("users")
    if isinstance(users, Mapping) and user_id in users:
        return _level(users[user_id])
    return _level(levels.get("users_default", 0))


def _level(value: object) -> float:
    # Room versions before 10 allow numeric strings; booleans and floats are invalid.
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            return 0
    return 0


def required_level(verb: str | None, levels: Mapping[str, int]) -> int:
    """Minimum power level for a command; commands not configured (or not parsed) need
    none."""
    return levels.get(verb, 0) if verb is not None else 0


# -- outgoing ------------------------------------------------------------------
def notice(text: str, *, reply_to: str | None = None) -> dict[str, Any]:
    """An ``m.notice`` (bots speak in notices so other bots ignore them) with HTML."""
    content: dict[str, Any] = {
        "msgtype": "m.notice",
        "body": text,
        "format": "org.matrix.custom.html",
        "formatted_body": _html(text),
    }
    if reply_to:
        content["m.relates_to"] = {"m.in_reply_to": {"event_id": reply_to}}
    return content


def _html(text: str) -> str:
    out = []
    for line in text.split("\n"):
        esc = html.escape(line)
        if line.startswith("Join: "):
            url = html.escape(line[6:], quote=True)
            esc = f'<b>Join:</b> <a href="{url}">{html.escape(line[6:])}</a>'
        out.append(esc)
    return "<br>".join(out)


def edit(original_event_id: str, new_content: Mapping[str, Any]) -> dict[str, Any]:
    """An ``m.replace`` edit: clients that understand edits show ``m.new_content``,
    others show the ``* `` fallback."""
    new = {k: v for k, v in new_content.items() if k != "m.relates_to"}
    content: dict[str, Any] = {
        "msgtype": new.get("msgtype", "m.notice"),
        "body": f"* {new.get('body', '')}",
        "m.new_content": new,
        "m.relates_to": {"rel_type": "m.replace", "event_id": original_event_id},
    }
    if "formatted_body" in new:
        content["format"] = new.get("format", "org.matrix.custom.html")
        content["formatted_body"] = f"* {new['formatted_body']}"
    return content


def in_thread(root_event_id: str, content: Mapping[str, Any]) -> dict[str, Any]:
    """``content`` as a reply in the thread under ``root_event_id``."""
    return {
        **content,
        "m.relates_to": {
            "rel_type": "m.thread",
            "event_id": root_event_id,
            "is_falling_back": True,
            "m.in_reply_to": {"event_id": root_event_id},
        },
    }


def view_message(view: ProgressView) -> dict[str, Any]:
    """The job's ONE message: title, steps, URL, cost, result (details go to a thread)."""
    lines = view.text().split("\n")
    main, _ = split_details(view, lines)
    return notice("\n".join(main))


def view_details(view: ProgressView) -> str | None:
    """What is too long for the main message (full cost and audit), or None."""
    _, details = split_details(view, view.text().split("\n"))
    return "\n".join(details) if details else None


def split_details(view: ProgressView, lines: list[str]) -> tuple[list[str], list[str]]:
    """(main message lines, thread lines); only a finished job's long text is split,
    since the thread is written once, at the end."""
    if not view.finished or len(lines) <= THREAD_AFTER_LINES:
        return lines, []
    # Keep what a reader needs at a glance; everything goes to the thread in full.
    keep = [lines[0]]
    keep += [line for line in lines[1:] if line[:1] in "✓✗…"]
    if view.error:
        keep.append(f"Error: {view.error}")
    if view.url:
        keep.append(f"Join: {view.url}")
    if view.cost_lines:
        keep.append(view.cost_lines[0])
    if view.audit:
        keep.append(view.audit.split("\n", 1)[0])
    if view.finished:
        keep.append(lines[-1])
    keep.append("Details in the thread.")
    return keep, lines


def notice_text(item: Notice, prefix: str) -> str:
    """An unprompted notice; idle warnings say how to keep the platform."""
    if item.kind is NoticeKind.IDLE_WARNING and "keep" not in item.text:
        return f"{item.text}\nType `{prefix} keep 30` to keep it running 30 more minutes."
    return item.text


def first_reply(text: str, job_id: str) -> dict[str, Any]:
    """The message a job starts with; ``job_id`` is hidden in the content so a
    restarted bot (or a test) can tell which job a message belongs to."""
    content = notice(text)
    content["org.jitsi_chatops.job"] = job_id
    return content
