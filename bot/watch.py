"""What the worker remembers about the running session, for the idle and budget guards.

Plain data, stored as JSON in one Redis key while a session runs (``infra.sessions``).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields, replace
from enum import StrEnum
from typing import Any

from bot.model import ChatPlatform


class StopReason(StrEnum):
    """Why the guards (or a schedule) asked for the running session's stop."""

    IDLE = "idle"
    MAX_SESSION = "max-session"
    BUDGET = "budget"
    SCHEDULE = "schedule"


@dataclass(frozen=True, slots=True)
class Reading:
    """One look at who is in a meeting. ``participants`` None: the source could not tell."""

    participants: int | None
    source: str
    detail: str = ""

    @property
    def unknown(self) -> bool:
        return self.participants is None


@dataclass(frozen=True, slots=True)
class SessionWatch:
    session_started_at: float
    ready_at: float | None = None  # when the URL was ready: the grace period starts here
    # Where the session was started: notices go there too. None for the system's starts.
    origin_platform: ChatPlatform | None = None
    origin_channel: str | None = None
    started_by: str | None = None
    idle_readings: int = 0  # consecutive idle readings
    idle_since: float | None = None
    warned_at: float | None = None
    stop_at: float | None = None
    kept_until: float | None = None
    unknown_reported: bool = False
    budget_warned: bool = False
    max_warned: bool = False
    stop_reason: StopReason | None = None  # set once a stop is asked for
    # The monitor's last reading: its source, when it was taken, and the count (None:
    # the source could not tell). Chat shows the count; an old reading tells nothing.
    last_source: str | None = None
    last_read_at: float | None = None
    last_participants: int | None = None

    def __post_init__(self) -> None:
        # Accept the enums' values too (JSON records, callers passing ``.value``).
        if self.origin_platform is not None:
            object.__setattr__(self, "origin_platform", ChatPlatform(self.origin_platform))
        if self.stop_reason is not None:
            object.__setattr__(self, "stop_reason", StopReason(self.stop_reason))

    def with_(self, **changes: Any) -> SessionWatch:
        return replace(self, **changes)

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> SessionWatch:
        """Inverse of ``to_json``; unknown fields are ignored and missing ones take their
        defaults, so older records still load (their ``last_reading`` text is dropped:
        the next reading fills the typed fields)."""
        body = json.loads(text)
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in body.items() if k in known})


@dataclass(frozen=True, slots=True)
class ScheduledItem:
    """A start or stop to run at ``at`` (epoch seconds) on behalf of ``actor``."""

    item_id: str
    kind: str  # "start" | "stop"
    at: float
    actor: dict[str, str]
    room: str | None = None
    minutes: int | None = None  # a start's length: its stop is scheduled when it runs
    created_at: float = 0.0
    # A start runs this early so the URL is ready at ``at`` (bot.schedule.begin_at);
    # None: at ``at`` (stops, and items written before starts began early).
    begins_at: float | None = None

    @property
    def runs_at(self) -> float:
        """When the worker runs it."""
        return self.at if self.begins_at is None else self.begins_at

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> ScheduledItem:
        body = json.loads(text)
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in body.items() if k in known})
