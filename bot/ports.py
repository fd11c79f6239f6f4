"""The core's view of the world: every side effect goes through one of these."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from bot.actual import ActualSpend
from bot.audit import AuditEntry
from bot.events import Event, Notice
from bot.model import (
    Actor,
    BillableResource,
    DnsTarget,
    Finding,
    IngressKind,
    IngressView,
    JobId,
    JobKind,
    JobSpec,
    ProbeResult,
    Readiness,
    ServiceState,
    SessionTags,
    Task,
)
from bot.state import Claim, DesiredState, PlatformStatus
from bot.traffic import TrafficReading
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


class Ingress(Protocol):
    """The way clients reach the meeting: an on-demand NLB today.

    Every method is idempotent and returns without waiting; the lifecycle polls.
    Failures raise ``bot.errors.CloudError``. A second implementation (the task's
    own public address, no load balancer) fits the same methods.
    """

    @property
    def kind(self) -> IngressKind: ...

    def bring_up(self, tags: SessionTags, note: ProgressNote) -> None:
        """Find or create the way in (for an NLB: the NLB, its target groups and listeners)."""

    @property
    def advertises(self) -> bool:
        """Whether JVB must be told the public addresses (False: the task finds its own)."""

    def advertised_addresses(self) -> list[str]:
        """The public addresses clients reach, once all of them exist (one per zone of an
        NLB); empty until then: JVB reads them once, at start."""

    def attach(self, tasks: Sequence[Task]) -> None:
        """Send clients to exactly these tasks (register them, deregister any other)."""

    def readiness(self) -> Readiness:
        """Can clients reach the attached task through it now?"""

    def dns_target(self, tasks: Sequence[Task]) -> DnsTarget | None:
        """What the meeting domain should point at; None while it is not known yet."""

    def remove(self, note: ProgressNote) -> None:
        """Ask AWS to remove everything the way in is made of; does not wait."""

    def remaining(self) -> list[str]:
        """What of it still exists (and bills, or blocks a new start); empty once gone."""

    def describe(self) -> IngressView | None:
        """How it looks in AWS now, for ``status``; None when nothing of it exists."""


class Compute(Protocol):
    """The ECS service that runs the Jitsi task."""

    def scale(self, count: int) -> None:
        """Set the service's desired count; does not wait."""

    def service(self) -> ServiceState | None:
        """None when the service does not exist (the base infrastructure is missing)."""

    def tasks(self, *, include_stopped: bool = False) -> list[Task]:
        """The service's tasks meant to run; with ``include_stopped`` also those told to stop."""

    def redeploy(self) -> None:
        """Replace the service's tasks with new ones (each reads its configuration again,
        e.g. ``JVB_ADVERTISE_IPS``); does not wait."""


class Dns(Protocol):
    """The meeting domain's record in the hosted zone (when one is configured)."""

    @property
    def enabled(self) -> bool:
        """False when no hosted zone is configured: every call is then a no-op."""

    def upsert(self, target: DnsTarget) -> None: ...

    def delete(self) -> None:
        """Remove the domain's record, whatever it points at; nothing when absent."""

    def current_target(self) -> DnsTarget | None:
        """What the domain's record points at now; None when there is none (or no zone)."""

    def in_sync(self) -> bool:
        """Whether every authoritative name server answers with the domain's record as
        it stands (Route 53: the last change is INSYNC). Works after a worker restart:
        a change this process did not make is found out from the zone itself."""


class AdvertisedAddresses(Protocol):
    """The parameter JVB reads at start as ``JVB_ADVERTISE_IPS``."""

    def publish(self, addresses: Sequence[str]) -> None: ...

    def current(self) -> list[str]: ...

    def published_at(self) -> float | None:
        """When the addresses were last written (epoch seconds), None if never: a task
        created before that started with older ones."""


class Audit(Protocol):
    """Every billable resource that belongs to the project, whatever made it."""

    def billable(self) -> list[BillableResource]: ...

    def sweep(self, found: Sequence[BillableResource]) -> int:
        """Delete the load balancers among ``found``: after a stop, the ones carrying the
        project's tags under another name than the ingress's own (the lifecycle only
        knows its own). Returns how many deletions were asked for."""


class Preflight(Protocol):
    """The cheap prerequisites of a start: a few read-only calls (certificate, hosted
    zone, base infrastructure). A missing prerequisite is a ``Finding``, not an error."""

    def check(self) -> list[Finding]: ...


class MeetingProbe(Protocol):
    """Is the meeting reachable as a browser would reach it?"""

    def check(self, url: str) -> ProbeResult:
        """One HTTPS request to ``url`` with certificate verification; never raises."""


class CallMeter(Protocol):
    def calls(self) -> dict[str, int]:
        """AWS API calls made so far, per ``service.Operation`` (and ``terraform.<command>``)."""


@dataclass(frozen=True, slots=True)
class PlatformParts:
    """The platform's parts as the lifecycle sees them; each can be replaced alone."""

    ingress: Ingress
    compute: Compute
    dns: Dns
    advertised: AdvertisedAddresses
    audit: Audit
    meter: CallMeter
    preflight: Preflight
    probe: MeetingProbe


class EventSink(Protocol):
    def emit(self, event: Event) -> None: ...


class NoticeSink(Protocol):
    """Unprompted notices (idle warnings, repairs, budgets) for the chat adapters."""

    def notify(self, notice: Notice) -> None: ...


class PlatformStore(Protocol):
    """Desired and observed lifecycle state of one platform (Redis)."""

    def status(self) -> PlatformStatus: ...

    def set_desired(self, desired: DesiredState, actor: Actor) -> None: ...

    def save(self, status: PlatformStatus) -> None: ...

    def request(self, kind: JobKind, job_id: JobId, actor: Actor, room: str | None = None) -> Claim:
        """Atomically record what ``actor`` asked for and claim the current-job slot.

        A new claim records ``room`` and the time with it (``job_room``,
        ``job_claimed_at``), for a reconciler that resumes it before it is queued.

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

    def sessions_between(self, start: float, end: float) -> list[tuple[float, float, float]]:
        """(started_at, ended_at, cost) of the sessions recorded in [start, end)."""


class AuditLog(Protocol):
    """The append-only audit history (``bot.audit``): commands in, recent entries out."""

    def record(
        self, actor: Actor, command: str, outcome: str, seconds: float | None = None
    ) -> None:
        """Append one command: who, where, the text, how it ended, how long it took."""

    def recent(self, count: int) -> list[AuditEntry]:
        """The last ``count`` entries (commands and jobs), newest first."""


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


class ReadyTimes(Protocol):
    """How long this deployment's starts take to a URL (infra.ready_times)."""

    def ready_seconds(self) -> float:
        """The time a scheduled start should begin ahead of its meeting, in seconds."""
        ...


class Scheduler(Protocol):
    """Scheduled starts and stops, kept where a worker restart does not lose them."""

    def add(self, item: ScheduledItem) -> None: ...

    def items(self) -> list[ScheduledItem]: ...

    def cancel(self, item_id: str) -> ScheduledItem | None: ...


class LinkSigner(Protocol):
    """Signs a meeting link's claims (``bot.links.claims``) with the JWT app secret,
    which stays with the implementation: the core never sees it."""

    def sign(self, claims: Mapping[str, Any]) -> str:
        """The token; raises ``bot.errors.CloudError`` when the secret cannot be read."""


class TrafficMeter(Protocol):
    """A session's measured traffic (bot.traffic), read after it ended."""

    def session_traffic(self, started_at: float, ended_at: float) -> TrafficReading | None:
        """The bytes and flows between the two times; None when nothing can be read
        (no metrics, an AWS error): the stop message then leaves traffic out."""


class TrafficLog(Protocol):
    """Each ended session's measured traffic, for the per-participant-hour estimate."""

    def record(
        self, ended_at: float, gigabytes: float, dollars: float, people_hours: float
    ) -> None:
        """Append one session's traffic (GB, dollars) and its participant-hours."""

    def recent(self, count: int) -> list[tuple[float, float, float]]:
        """(GB, dollars, participant-hours) of the last ``count`` sessions."""


class SpendSource(Protocol):
    """AWS's own figures for a month (Cost Explorer), cached: each request is billed."""

    def actual(self, month: str) -> ActualSpend:
        """The project's spend in ``month`` (YYYY-MM) by service; ``BotError`` with a
        hint when Cost Explorer cannot answer (not enabled, no permission)."""
