"""Slack payloads <-> core types, and core views -> Block Kit. Pure: no I/O, no SDK.

Everything Slack sends is untrusted JSON; each reader either returns a typed
request or raises ``MalformedPayload`` naming the missing field, so the I/O
module never indexes a raw dict.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from bot.cost import money
from bot.errors import BotError
from bot.events import Notice, NoticeKind
from bot.model import Actor, ChatPlatform, UserId
from bot.render import ProgressView
from bot.watch import SessionWatch

ACTION_STOP = "jitsi_stop"
ACTION_KEEP = "jitsi_keep"
ACTION_JOIN = "jitsi_join"
KEEP_MINUTES = 30
TEXT_LIMIT = 3000  # Slack's limit for a section's text


class SlackAdapterError(BotError):
    """Root of the Slack adapter's errors."""


class MalformedPayload(SlackAdapterError):
    """A Slack payload lacks a field we need, or has the wrong type."""


@dataclass(frozen=True, slots=True)
class SlackRequest:
    """One user action from Slack, as the core should see it."""

    actor: Actor
    text: str  # the command text for the core, e.g. "start standup" or "stop"
    team: str
    channel: str
    user_id: str  # the raw Slack user id (U...)
    response_url: str | None = None
    message_ts: str | None = None  # the message a button was clicked in


def _str(data: Mapping[str, Any], key: str, where: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value:
        raise MalformedPayload(f"{where}: `{key}` is missing or not a string")
    return value


def _map(data: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    value = data.get(key)
    if not isinstance(value, Mapping):
        raise MalformedPayload(f"{where}: `{key}` is missing or not an object")
    return value


def actor_for(user_id: str, channel: str, display_name: str = "") -> Actor:
    return Actor(UserId(f"slack:{user_id}"), channel, ChatPlatform.SLACK, display_name)


def slash_command(payload: Mapping[str, Any]) -> SlackRequest:
    """The form fields of a slash command -> request; ``text`` is what followed the command."""
    if not isinstance(payload, Mapping):
        raise MalformedPayload("slash command: not an object")
    user = _str(payload, "user_id", "slash command")
    channel = _str(payload, "channel_id", "slash command")
    team = _str(payload, "team_id", "slash command")
    text = payload.get("text", "")
    if not isinstance(text, str):
        raise MalformedPayload("slash command: `text` is not a string")
    name = payload.get("user_name")
    return SlackRequest(
        actor=actor_for(user, channel, name if isinstance(name, str) else ""),
        text=" ".join(text.split()),
        team=team,
        channel=channel,
        user_id=user,
        response_url=_optional_str(payload, "response_url"),
    )


def _optional_str(data: Mapping[str, Any], key: str) -> str | None:
    value = data.get(key)
    return value if isinstance(value, str) and value else None


def block_action(body: Mapping[str, Any]) -> SlackRequest:
    """A ``block_actions`` payload -> the command its (first) action stands for.

    Raises ``MalformedPayload`` for a payload we cannot read, and for an action
    id this app does not know (an old message, or a forged request)."""
    if not isinstance(body, Mapping) or body.get("type") != "block_actions":
        raise MalformedPayload("block action: not a block_actions payload")
    user = _map(body, "user", "block action")
    user_id = _str(user, "id", "block action user")
    team_id = _team_of(body)
    channel = body.get("channel")
    container = body.get("container")
    channel_id = (channel.get("id") if isinstance(channel, Mapping) else None) or (
        container.get("channel_id") if isinstance(container, Mapping) else None
    )
    if not isinstance(channel_id, str) or not channel_id:
        raise MalformedPayload("block action: no channel")
    actions = body.get("actions")
    if not isinstance(actions, Sequence) or not actions or not isinstance(actions[0], Mapping):
        raise MalformedPayload("block action: `actions` is empty")
    action = actions[0]
    action_id = _str(action, "action_id", "block action")
    if action_id == ACTION_STOP:
        text = "stop"
    elif action_id == ACTION_KEEP:
        minutes = action.get("value") or str(KEEP_MINUTES)
        if not isinstance(minutes, str) or not minutes.isdigit():
            raise MalformedPayload("block action: keep needs a number of minutes")
        text = f"keep {minutes}"
    elif action_id == ACTION_JOIN:
        text = ""  # a link button: Slack opens the URL, we only acknowledge
    else:
        raise MalformedPayload(f"block action: unknown action `{action_id[:40]}`")
    message_ts = container.get("message_ts") if isinstance(container, Mapping) else None
    name = user.get("username") or user.get("name") or ""
    return SlackRequest(
        actor=actor_for(user_id, channel_id, name if isinstance(name, str) else ""),
        text=text,
        team=team_id,
        channel=channel_id,
        user_id=user_id,
        response_url=_optional_str(body, "response_url"),
        message_ts=message_ts if isinstance(message_ts, str) else None,
    )


def _team_of(body: Mapping[str, Any]) -> str:
    team = body.get("team")
    if isinstance(team, Mapping) and isinstance(team.get("id"), str):
        return str(team["id"])
    user = body.get("user")
    if isinstance(user, Mapping) and isinstance(user.get("team_id"), str):
        return str(user["team_id"])
    if isinstance(body.get("team_id"), str):
        return str(body["team_id"])
    raise MalformedPayload("payload: no team id")


@dataclass(frozen=True, slots=True)
class HomeOpened:
    user_id: str
    team: str


def app_home_opened(body: Mapping[str, Any]) -> HomeOpened | None:
    """An ``events_api`` body with an ``app_home_opened`` event; None for the Messages tab."""
    if not isinstance(body, Mapping):
        raise MalformedPayload("event: not an object")
    event = _map(body, "event", "event callback")
    if event.get("type") != "app_home_opened":
        raise MalformedPayload("event: not app_home_opened")
    if event.get("tab", "home") != "home":
        return None
    return HomeOpened(_str(event, "user", "app_home_opened"), _team_of(body))


# -- permissions --------------------------------------------------------------


def place_denial(
    team: str, channel: str, allowed_teams: Sequence[str], allowed_channels: Sequence[str]
) -> str | None:
    """Why this workspace or channel may not use the bot, or None when it may."""
    if allowed_teams and team not in allowed_teams:
        return f"This workspace ({team}) is not allowed to use this bot."
    if allowed_channels and channel not in allowed_channels and not channel.startswith("D"):
        shown = ", ".join(f"<#{c}>" for c in allowed_channels[:5])
        return f"This bot does not take commands in this channel; use {shown}."
    return None


# -- rendering ----------------------------------------------------------------

_MARK = {"running": "…", "done": "✓", "failed": "✗"}


def _section(text: str) -> dict[str, Any]:
    if len(text) > TEXT_LIMIT:
        text = text[: TEXT_LIMIT - 1] + "…"
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text[:TEXT_LIMIT]}]}


STALE_AFTER_CHECKS = 3
"""A reading older than this many of the monitor's check intervals counts as unknown."""


def session_participants(
    watch: SessionWatch | None, session_started_at: float | None, now: float, max_age: float
) -> int | None:
    """How many people the idle monitor last saw in the running session, or None when
    nobody can vouch for a number: no record, another session's record, no reading
    yet (grace period, source off), an unknown reading, a reading older than
    ``max_age`` seconds, or a `keep` (no readings are taken then, so the last one may
    be old)."""
    if watch is None or session_started_at is None:
        return None
    if abs(watch.session_started_at - session_started_at) > 1e-3:
        return None
    if watch.kept_until is not None and now < watch.kept_until:
        return None
    if watch.last_read_at is None or now - watch.last_read_at > max_age:
        return None
    count = watch.last_participants
    return count if count is not None and count >= 0 else None


def _people(n: int) -> str:
    return f"{n} {'person is' if n == 1 else 'people are'}"


def stop_button(participants: int | None) -> dict[str, Any]:
    """Stop, behind a confirmation: red unless the last reading says the meeting is empty."""
    danger = participants != 0
    if participants is None:
        body = "People may still be in the meeting: stopping ends it for everyone."
    elif participants:
        body = f"{_people(participants)} in the meeting: stopping ends it for everyone."
    else:
        body = "Nobody was in the meeting at the last check. Stop the platform?"
    confirm: dict[str, Any] = {
        "title": {"type": "plain_text", "text": "Stop the platform?"},
        "text": {"type": "mrkdwn", "text": body},
        "confirm": {"type": "plain_text", "text": "Stop" if danger else "Yes, stop"},
        "deny": {"type": "plain_text", "text": "Cancel"},
    }
    button: dict[str, Any] = {
        "type": "button",
        "action_id": ACTION_STOP,
        "text": {"type": "plain_text", "text": "Stop"},
        "value": "stop",
        "confirm": confirm,
    }
    if danger:
        confirm["style"] = "danger"
        button["style"] = "danger"
    return button


def join_button(url: str) -> dict[str, Any]:
    return {
        "type": "button",
        "action_id": ACTION_JOIN,
        "text": {"type": "plain_text", "text": "Join"},
        "url": url,
        "style": "primary",
    }


def progress_blocks(
    view: ProgressView, kind: str = "start", participants: int | None = None
) -> list[dict[str, Any]]:
    """The job's one channel message: title, steps with ✓/…/✗, error, Join, cost, Stop.

    ``participants``: the last reading of the running session (``session_participants``);
    it only changes the Stop confirmation."""
    blocks: list[dict[str, Any]] = [_section(f"*{view.title or 'Job ' + view.job_id}*")]
    steps = []
    for step in view.steps.values():
        note = f" — {step.note}" if step.note and step.state != "done" else ""
        steps.append(f"{_MARK[step.state]} {step.label}{note}")
    if steps:
        blocks.append(_section("\n".join(steps)))
    lines = [f"• {n}" for n in view.notices]
    if view.error:
        lines.append(f":x: *Failed:* {view.error}")
    if view.url:
        lines.append(f"*Join:* <{view.url}>")
    lines.extend(view.cost_lines)
    if view.audit:
        lines.append(view.audit)
    if lines:
        blocks.append(_section("\n".join(lines)))
    if view.finished:
        blocks.append(_context(view.summary or ("Done." if view.ok else "Failed.")))
    buttons = []
    if view.url:
        buttons.append(join_button(view.url))
    # Stop is offered while a start runs (it wins at the next step) and once it is up.
    if kind == "start" and (not view.finished or (view.ok and view.url)):
        buttons.append(stop_button(participants))
    if buttons:
        blocks.append({"type": "actions", "block_id": "jitsi_job_actions", "elements": buttons})
    return blocks


def fallback_text(view: ProgressView) -> str:
    """The notification text that goes with the blocks (and screen readers read)."""
    head = view.title or f"Job {view.job_id}"
    if view.url:
        return f"{head} Join: {view.url}"
    if view.error:
        return f"{head} Failed: {view.error}"
    return head


def details_text(view: ProgressView) -> str:
    """Step durations and AWS call count, for the thread under the progress message."""
    lines = ["*Details*"]
    for step in view.steps.values():
        took = f"{step.seconds:.1f} s" if step.seconds is not None else "—"
        lines.append(f"{_MARK[step.state]} {step.label}: {took}")
    if view.seconds is not None:
        lines.append(f"Total: {view.seconds:.1f} s")
    if view.aws_calls is not None:
        lines.append(f"AWS API calls: {view.aws_calls}")
    return "\n".join(lines)


def acted_note(
    blocks: Sequence[Mapping[str, Any]], user_id: str, text: str
) -> list[dict[str, Any]]:
    """The clicked message without its buttons, noting who did what (no double clicks)."""
    kept = [dict(b) for b in blocks if not str(b.get("block_id", "")).startswith("jitsi_")]
    what = "Stop requested" if text == "stop" else f"`{text}` sent"
    return [*kept, _context(f"{what} by <@{user_id}>.")]


def link_reply(text: str, permalink: str | None) -> str:
    return f"{text} <{permalink}|Progress is here.>" if permalink else text


def notice_blocks(notice: Notice) -> list[dict[str, Any]]:
    blocks = [_section(notice.text)]
    if notice.kind is not NoticeKind.IDLE_WARNING or notice.data.get("cleared"):
        return blocks  # "Someone joined": nothing to click
    elements: list[dict[str, Any]] = []
    if notice.data.get("reason") != "max-session":  # keep does not extend the max session
        minutes = str(notice.data.get("keep_minutes") or KEEP_MINUTES)
        elements.append(
            {
                "type": "button",
                "action_id": ACTION_KEEP,
                "text": {"type": "plain_text", "text": f"Keep for {minutes} min"},
                "value": minutes,
                "style": "primary",
            }
        )
    # A notice is never redrawn: someone may join before the click, so Stop stays red.
    elements.append(stop_button(None))
    blocks.append({"type": "actions", "block_id": "jitsi_notice_actions", "elements": elements})
    return blocks


def home_view(
    status: str,
    url: str | None,
    hours: float,
    cost: float | None,  # None: the region's prices are unknown
    now: float,
    command: str,
    participants: int | None = None,
) -> dict[str, Any]:
    """The App Home tab: platform state, meeting URL (with the number of people in the
    meeting when the last reading is known), this month's hours and cost so far (the
    running session included, as ``cost`` counts them)."""
    month = datetime.fromtimestamp(now, UTC).strftime("%B %Y")
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": "Jitsi platform"}},
        _section(status),
    ]
    if url:
        meeting = f"*Meeting:* <{url}>"
        if participants is not None:
            meeting += f"\n{participants} in the meeting (last check)"
        blocks.append(
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": meeting},
                "accessory": join_button(url),
            }
        )
    blocks.append(_section(f"*{month} so far:* {hours:.1f} h, {money(cost)}"))
    blocks.append(_context(f"Type `/{command} start [room]` in a channel to start a meeting."))
    return {"type": "home", "blocks": blocks}
