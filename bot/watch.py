"""What the worker remembers about the running session, for the idle and budget guards.

Plain data, stored as JSON in one Redis key while a session runs (``infra.sessions``).
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields, replace
from typing import Any


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
    origin_platform: str | None = None  # where the session was started: notices go there too
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
    stop_reason: str | None = None  # idle | max-session | budget | schedule, once asked
    last_reading: str = ""

    def with_(self, **changes: Any) -> SessionWatch:
        return replace(self, **changes)

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> SessionWatch:
        """Inverse of ``to_json``; unknown fields are ignored, so old records still load."""
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

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"), sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> ScheduledItem:
        body = json.loads(text)
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in body.items() if k in known})
