"""Terraform's machine-readable UI (``-json``): one JSON object per line, parsed.

No I/O here: ``parse_line`` turns one line into a ``UiEvent``, ``ApplyLog``
collects a run's events, and ``summarise`` writes diagnostics for a chat user.
The format is Terraform's "machine-readable UI" (version 1.x of ``ui``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

# Events that say what happens to a resource, in the order Terraform emits them.
RESOURCE_EVENTS = ("apply_start", "apply_progress", "apply_complete", "apply_errored")
LOCK_SUMMARY = "Error acquiring the state lock"
_LOCK_ID = re.compile(r"^\s*ID:\s*(\S+)", re.MULTILINE)
_ID_SUFFIX = re.compile(r"\s*\[id=[^\]]*\]$")
MAX_DETAIL = 400


@dataclass(frozen=True, slots=True)
class Diagnostic:
    severity: str  # "error" | "warning"
    summary: str
    detail: str = ""
    address: str | None = None
    where: str | None = None  # "file.tf:12" when Terraform points at configuration

    def one_line(self) -> str:
        """``summary: detail`` on one line, the detail cut to a readable length."""
        detail = " ".join(self.detail.split())
        if len(detail) > MAX_DETAIL:
            detail = detail[: MAX_DETAIL - 1].rstrip() + "…"
        text = f"{self.summary}: {detail}" if detail else self.summary
        prefix = f"{self.address}: " if self.address else ""
        return prefix + text


@dataclass(frozen=True, slots=True)
class UiEvent:
    """One line of ``terraform ... -json`` output."""

    type: str
    message: str
    level: str = "info"
    address: str | None = None
    resource_type: str | None = None
    action: str | None = None  # create | update | delete | replace | read | noop
    elapsed: float | None = None  # seconds, on apply_progress/complete/errored
    diagnostic: Diagnostic | None = None
    changes: dict[str, Any] | None = None  # change_summary: add/change/remove/operation
    outputs: dict[str, Any] | None = None  # outputs: name -> {"value", "sensitive", ...}

    @property
    def resource_event(self) -> bool:
        return self.type in RESOURCE_EVENTS

    def chat_message(self) -> str:
        """Terraform's own line without the trailing ``[id=...]`` (long ARNs say nothing)."""
        return _ID_SUFFIX.sub("", self.message)


def parse_line(line: str) -> UiEvent | None:
    """The event on ``line``; None for blank or non-JSON lines (Terraform's stray text)."""
    line = line.strip()
    if not line.startswith("{"):
        return None
    try:
        raw = json.loads(line)
    except json.JSONDecodeError:
        return None
    if not isinstance(raw, dict) or "type" not in raw:
        return None
    hook = _mapping(raw.get("hook"))
    resource = _mapping(hook.get("resource"))
    diagnostic = None
    if isinstance(raw.get("diagnostic"), dict):
        diagnostic = _diagnostic(raw["diagnostic"])
    elapsed = hook.get("elapsed_seconds")
    return UiEvent(
        type=str(raw["type"]),
        message=str(raw.get("@message", "")),
        level=str(raw.get("@level", "info")),
        address=resource.get("addr") or (diagnostic.address if diagnostic else None),
        resource_type=resource.get("resource_type"),
        action=hook.get("action"),
        elapsed=float(elapsed) if isinstance(elapsed, int | float) else None,
        diagnostic=diagnostic,
        changes=raw.get("changes") if isinstance(raw.get("changes"), dict) else None,
        outputs=raw.get("outputs") if isinstance(raw.get("outputs"), dict) else None,
    )


def _mapping(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _diagnostic(raw: dict[str, Any]) -> Diagnostic:
    where = None
    rng = raw.get("range")
    if isinstance(rng, dict) and rng.get("filename"):
        start = rng.get("start") or {}
        where = f"{rng['filename']}:{start.get('line', '?')}"
    return Diagnostic(
        severity=str(raw.get("severity", "error")),
        summary=str(raw.get("summary", "")).strip(),
        detail=str(raw.get("detail", "")).strip(),
        address=raw.get("address"),
        where=where,
    )


@dataclass
class ApplyLog:
    """What one ``terraform apply -json`` run said, collected line by line."""

    events: list[UiEvent] = field(default_factory=list)

    def add(self, event: UiEvent) -> None:
        self.events.append(event)

    @property
    def errors(self) -> list[Diagnostic]:
        return [
            e.diagnostic
            for e in self.events
            if e.diagnostic is not None and e.diagnostic.severity == "error"
        ]

    @property
    def changes(self) -> dict[str, Any]:
        """The apply's ``change_summary`` (``add``/``change``/``remove``), empty if none came."""
        for event in reversed(self.events):
            if event.type == "change_summary" and event.changes is not None:
                return event.changes
        return {}

    def completed(self) -> list[UiEvent]:
        """Resources that finished, with Terraform's durations."""
        return [e for e in self.events if e.type == "apply_complete"]

    def count(self, action: str, resource_type: str | None = None) -> int:
        """Completed resources of ``action`` (create/delete/...), optionally of one type."""
        return sum(
            1
            for e in self.completed()
            if e.action == action and (resource_type is None or e.resource_type == resource_type)
        )

    def lock_error(self) -> Diagnostic | None:
        return next((d for d in self.errors if d.summary.startswith(LOCK_SUMMARY)), None)


def lock_id(diagnostic: Diagnostic) -> str | None:
    """The lock's ID from Terraform's ``Lock Info`` block (for ``terraform force-unlock``)."""
    found = _LOCK_ID.search(diagnostic.detail)
    return found.group(1) if found else None


def summarise(diagnostics: list[Diagnostic], limit: int = 3) -> str:
    """The first ``limit`` error diagnostics, one per line, for a chat message."""
    lines = [d.one_line() for d in diagnostics[:limit]]
    if len(diagnostics) > limit:
        lines.append(f"(and {len(diagnostics) - limit} more)")
    return "\n".join(lines)
