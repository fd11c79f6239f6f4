"""The platform lifecycle as a str Enum and an explicit transition table."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from enum import StrEnum

from bot.errors import IllegalTransition
from bot.model import JobId, JobKind


class PlatformState(StrEnum):
    STOPPED = "stopped"
    STARTING = "starting"
    RUNNING = "running"
    STOPPING = "stopping"
    FAILED = "failed"


class DesiredState(StrEnum):
    RUNNING = "running"
    STOPPED = "stopped"


S = PlatformState
# A start may begin again from STARTING or RUNNING: a job killed half way is
# re-run by the reconciler, and every step is idempotent.
TRANSITIONS: dict[PlatformState, frozenset[PlatformState]] = {
    S.STOPPED: frozenset({S.STARTING, S.STOPPING}),
    S.STARTING: frozenset({S.STARTING, S.RUNNING, S.STOPPING, S.FAILED}),
    S.RUNNING: frozenset({S.STARTING, S.STOPPING}),
    S.STOPPING: frozenset({S.STOPPING, S.STOPPED, S.FAILED, S.STARTING}),
    S.FAILED: frozenset({S.STARTING, S.STOPPING}),
}


def check_transition(current: PlatformState, target: PlatformState) -> None:
    """Raise ``IllegalTransition`` unless the table allows ``current -> target``."""
    if target not in TRANSITIONS[current]:
        raise IllegalTransition(f"the platform cannot go from {current} to {target}")


@dataclass(frozen=True, slots=True)
class Claim:
    """The answer of ``PlatformStore.request``."""

    job_id: JobId | None  # None when the platform already runs (see running_url)
    joined: bool = False
    running_url: str | None = None


@dataclass(frozen=True, slots=True)
class PlatformStatus:
    """What Redis records about the platform: asked-for state and last known state."""

    desired: DesiredState = DesiredState.STOPPED
    state: PlatformState = PlatformState.STOPPED
    url: str | None = None
    ingress_address: str | None = None  # where clients connect (the NLB's DNS name)
    job_id: JobId | None = None
    job_kind: JobKind | None = None
    job_room: str | None = None  # the room the current job's requester named
    # When a command claimed it, until the command has queued it (None after).
    job_claimed_at: float | None = None
    session_started_at: float | None = None
    session_room: str | None = None
    started_by: str | None = None
    updated_at: float = 0.0
    last_error: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    def moved_to(self, target: PlatformState, now: float) -> PlatformStatus:
        check_transition(self.state, target)
        return replace(self, state=target, updated_at=now)
