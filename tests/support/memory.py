"""In-memory stores and recorders of the core's ports, for fast unit tests: they keep
what they received so tests assert on it; the real implementations are exercised by
the contract and end-to-end suites."""

from __future__ import annotations

import time
from dataclasses import replace

from bot.audit import AuditEntry, EntryKind
from bot.events import Event
from bot.model import Actor, JobId, JobKind, JobSpec
from bot.state import Claim, DesiredState, PlatformStatus


class MemoryStore:
    def __init__(self) -> None:
        self.current = PlatformStatus()

    def status(self) -> PlatformStatus:
        return self.current

    def set_desired(self, desired: DesiredState, actor: Actor) -> None:
        self.current = replace(self.current, desired=desired)

    def save(self, status: PlatformStatus) -> None:
        self.current = replace(
            status,
            job_id=self.current.job_id,
            job_kind=self.current.job_kind,
            job_room=self.current.job_room,
            job_claimed_at=self.current.job_claimed_at,
            desired=self.current.desired,
        )

    def request(self, kind: JobKind, job_id: JobId, actor: Actor, room: str | None = None) -> Claim:
        c = self.current
        if (
            kind is JobKind.START
            and c.state.value == "running"
            and c.desired.value == "running"
            and c.url
            and not c.job_id
        ):
            return Claim(None, running_url=c.url)
        wanted = DesiredState.RUNNING if kind is JobKind.START else DesiredState.STOPPED
        self.set_desired(wanted, actor)
        if self.current.job_id and self.current.job_kind is kind:
            return Claim(self.current.job_id, joined=True)
        self.current = replace(
            self.current, job_id=job_id, job_kind=kind, job_room=room, job_claimed_at=time.time()
        )
        return Claim(job_id)

    def finish_job(self, job_id: JobId) -> None:
        if self.current.job_id == job_id:
            self.current = replace(
                self.current, job_id=None, job_kind=None, job_room=None, job_claimed_at=None
            )


class RecordingSink:
    def __init__(self, on_emit=None) -> None:  # type: ignore[no-untyped-def]
        self.events: list[Event] = []
        self.on_emit = on_emit

    def emit(self, event: Event) -> None:
        self.events.append(event)
        if self.on_emit:
            self.on_emit(event)

    def kinds(self) -> list[str]:
        return [e.kind.value for e in self.events]


class MemoryLedger:
    def __init__(self) -> None:
        self.sessions: list[tuple[float, float, float]] = []

    def record_session(self, started_at: float, ended_at: float, cost: float) -> None:
        self.sessions.append((started_at, ended_at, cost))

    def month_to_date(self, now: float) -> tuple[float, float]:
        return (sum(e - s for s, e, _ in self.sessions) / 3600.0, sum(c for *_, c in self.sessions))

    def sessions_between(self, start: float, end: float) -> list[tuple[float, float, float]]:
        return [row for row in self.sessions if start <= row[1] < end]


class RecordingQueue:
    def __init__(self) -> None:
        self.specs: list[JobSpec] = []

    def enqueue(self, spec: JobSpec, accepted: Event) -> None:
        self.specs.append(spec)


class RecordingAudit:
    def __init__(self) -> None:
        self.rows: list[tuple[str, str, str]] = []
        self.entries: list[AuditEntry] = []

    def record(
        self, actor: Actor, command: str, outcome: str, seconds: float | None = None
    ) -> None:
        self.rows.append((actor.user, command, outcome))
        self.entries.append(
            AuditEntry(
                EntryKind.COMMAND,
                0.0,
                actor.user,
                actor.platform.value,
                actor.channel,
                command,
                outcome,
                seconds=seconds,
            )
        )

    def recent(self, count: int) -> list[AuditEntry]:
        return list(reversed(self.entries))[:count]
