"""The core's view of the world: every side effect goes through one of these."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from bot.events import Event, Notice
from bot.model import (
    Actor,
    BillableResource,
    JobId,
    JobKind,
    JobSpec,
    LoadBalancer,
    PlatformObservation,
    ServiceState,
    TargetGroup,
    TargetHealth,
    Task,
)
from bot.state import Claim, PlatformStatus
from bot.watch import Reading, ScheduledItem, SessionWatch


class Clock(Protocol):
    def now(self) -> float:
        """Wall-clock seconds since the epoch."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back."""

    def sleep(self, seconds: float) -> None:
        """Block for ``seconds``."""


class ProgressNote(Protocol):
    def __call__(self, message: str, data: dict[str, Any]) -> None: ...


class CloudPlatform(Protocol):
    """Idempotent AWS operations of the lifecycle (find-or-create, never create blindly).

    Failures raise ``bot.errors.CloudError``. Every resource created carries the
    project's tags.
    """

    def ensure_target_groups(self, requested_by: str, session: str) -> list[TargetGroup]: ...

    def ensure_load_balancer(self, requested_by: str, session: str) -> LoadBalancer: ...

    def ensure_listeners(self, lb: LoadBalancer, groups: list[TargetGroup]) -> int: ...

    def describe_load_balancer(self) -> LoadBalancer | None: ...

    def load_balancer_public_ips(self, lb: LoadBalancer) -> list[str]:
        """Public IPs of the NLB's interfaces (``ELB net/<name>/<id>``); empty until they exist."""

    def publish_advertise_ips(self, ips: list[str]) -> None:
        """Write the IPs to the SSM parameter JVB reads as ``JVB_ADVERTISE_IPS``."""

    def upsert_dns(self, lb: LoadBalancer) -> bool:
        """Alias the meeting domain to the NLB; False when no hosted zone is configured."""

    def delete_dns(self) -> bool: ...

    def set_desired_count(self, count: int) -> None: ...

    def service_state(self) -> ServiceState | None: ...

    def list_tasks(self, *, include_stopped: bool = False) -> list[Task]:
        """The service's tasks meant to run; with ``include_stopped`` also those told to stop."""

    def register_targets(self, ips: list[str]) -> None:
        """Register ``ips`` in every target group and deregister any other target."""

    def target_health(self) -> list[TargetHealth]: ...

    def delete_listeners(self, lb: LoadBalancer) -> int: ...

    def delete_load_balancer(self, lb: LoadBalancer) -> None: ...

    def delete_target_groups(self) -> int: ...

    def audit(self) -> list[BillableResource]:
        """Every billable resource that belongs to the project, whatever the desired state."""

    def observe(self) -> PlatformObservation: ...

    def call_counts(self) -> dict[str, int]:
        """AWS API calls made so far by this driver, per ``service.Operation``."""

    def observe_progress(self, note: ProgressNote | None) -> None:
        """Where to report progress from inside long operations (None: nowhere)."""


class EventSink(Protocol):
    def emit(self, event: Event) -> None: ...


class NoticeSink(Protocol):
    """Unprompted notices (idle warnings, repairs, budgets) for the chat adapters."""

    def notify(self, notice: Notice) -> None: ...


class PlatformStore(Protocol):
    """Desired and observed lifecycle state of one platform (Redis)."""

    def status(self) -> PlatformStatus: ...

    def set_desired(self, desired: str, actor: Actor) -> None: ...

    def save(self, status: PlatformStatus) -> None: ...

    def request(self, kind: JobKind, job_id: JobId, actor: Actor) -> Claim:
        """Atomically record what ``actor`` asked for and claim the current-job slot.

        A start while the platform runs (no job under way) changes nothing and
        returns its URL; otherwise the desired state is written, and ``job_id``
        becomes current unless a job of ``kind`` is already under way (joined).
        """

    def finish_job(self, job_id: JobId) -> None: ...


class JobQueue(Protocol):
    def enqueue(self, spec: JobSpec, accepted: Event) -> None:
        """Queue the job and publish its first event together."""


class Ledger(Protocol):
    """Ended sessions, for month-to-date hours and cost."""

    def record_session(self, started_at: float, ended_at: float, cost: float) -> None: ...

    def month_to_date(self, now: float) -> tuple[float, float]:
        """(hours, dollars) of sessions ended in the calendar month of ``now`` (UTC)."""


class AuditLog(Protocol):
    def record(self, actor: Actor, command: str, outcome: str) -> None: ...


class ParticipantSource(Protocol):
    """Who is in a meeting (Jicofo, JVB or the NLB's metrics)."""

    def read(self) -> Reading:
        """Never raises: a source that cannot answer returns ``Reading(None, ...)``."""


class SessionStore(Protocol):
    """The running session's ``SessionWatch`` (idle readings, warnings, keep)."""

    def load(self) -> SessionWatch | None: ...

    def save(self, watch: SessionWatch) -> None: ...

    def update(
        self, change: Callable[[SessionWatch | None], SessionWatch | None]
    ) -> SessionWatch | None:
        """Apply ``change`` atomically (retried if another writer got there first)."""

    def clear(self) -> None: ...


class Scheduler(Protocol):
    """Scheduled starts and stops, kept where a worker restart does not lose them."""

    def add(self, item: ScheduledItem) -> None: ...

    def items(self) -> list[ScheduledItem]: ...

    def cancel(self, item_id: str) -> ScheduledItem | None: ...
