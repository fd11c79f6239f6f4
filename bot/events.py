"""Typed progress events of a lifecycle job, as they travel on the Redis Stream."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

from bot.model import JobId


class EventKind(StrEnum):
    ACCEPTED = "accepted"  # the job is queued; who asked for what
    STEP_STARTED = "step_started"
    STEP_FINISHED = "step_finished"
    WAITING = "waiting"  # a long wait: what for, how long so far
    URL_READY = "url_ready"
    COST = "cost"  # cost impact: running per hour, session cost, idle per month
    AUDIT = "audit"  # orphan audit after a stop
    NOTICE = "notice"  # anything else worth telling (cancelled, joined, retrying)
    ERROR = "error"  # the job failed; message says what to do
    FINISHED = "finished"  # last event of every job, success or not


TERMINAL = frozenset({EventKind.FINISHED})


@dataclass(frozen=True, slots=True)
class Event:
    """One progress event. ``data`` holds kind-specific fields (JSON-safe)."""

    kind: EventKind
    job_id: JobId
    at: float
    message: str = ""
    step: str | None = None
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def terminal(self) -> bool:
        return self.kind in TERMINAL

    def to_fields(self) -> dict[str, str]:
        """Flat string fields for XADD."""
        body = asdict(self)
        body["kind"] = self.kind.value
        return {"event": json.dumps(body, separators=(",", ":"), sort_keys=True)}

    @classmethod
    def from_fields(cls, fields: dict[str, str]) -> Event:
        """Inverse of ``to_fields``; raises ``ValueError`` on a malformed entry."""
        try:
            body = json.loads(fields["event"])
            return cls(
                kind=EventKind(body["kind"]),
                job_id=JobId(str(body["job_id"])),
                at=float(body["at"]),
                message=str(body.get("message", "")),
                step=body.get("step"),
                data=dict(body.get("data") or {}),
            )
        except (KeyError, TypeError, json.JSONDecodeError) as exc:
            raise ValueError(f"malformed event entry: {exc}") from exc

    def to_json(self) -> dict[str, Any]:
        body = asdict(self)
        body["kind"] = self.kind.value
        return body


class NoticeKind(StrEnum):
    IDLE_WARNING = "idle_warning"  # nobody in the meeting; stopping soon unless kept
    IDLE_STOP = "idle_stop"  # stopped because idle
    REPAIR = "repair"  # the reconciler fixed drift (and what it saved per hour)
    BUDGET = "budget"  # budget warning or stop
    SUMMARY = "summary"  # daily summary
    SCHEDULE = "schedule"  # a scheduled start or stop ran
    JOB_FAILED = "job_failed"  # a job nobody was watching failed
    SOURCE_UNKNOWN = "source_unknown"  # the idle source does not answer: no idle stop meanwhile
    CERTIFICATE = "certificate"  # the direct ingress's certificate could not be renewed


@dataclass(frozen=True, slots=True)
class Notice:
    """An unprompted message for the notice channels and, when known, the session's
    own channel (``platform`` + ``channel`` of whoever started it)."""

    kind: NoticeKind
    at: float
    text: str
    platform: str | None = None  # ChatPlatform value of the origin
    channel: str | None = None
    data: dict[str, Any] = field(default_factory=dict)

    def to_fields(self) -> dict[str, str]:
        body = asdict(self)
        body["kind"] = self.kind.value
        return {"notice": json.dumps(body, separators=(",", ":"), sort_keys=True)}

    @classmethod
    def from_fields(cls, fields: dict[str, str]) -> Notice:
        """Inverse of ``to_fields``; raises ``ValueError`` on a malformed entry."""
        try:
            body = json.loads(fields["notice"])
            return cls(
                kind=NoticeKind(body["kind"]),
                at=float(body["at"]),
                text=str(body["text"]),
                platform=body.get("platform"),
                channel=body.get("channel"),
                data=dict(body.get("data") or {}),
            )
        except (KeyError, TypeError, json.JSONDecodeError) as exc:
            raise ValueError(f"malformed notice entry: {exc}") from exc
