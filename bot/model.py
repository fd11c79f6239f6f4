"""Plain data shared by the core, the adapters and the infrastructure."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import NewType

JobId = NewType("JobId", str)
"""An RQ job id; also names the job's event stream."""

UserId = NewType("UserId", str)
"""A chat user as the adapter knows them, e.g. ``slack:U123`` or ``@alice:example.org``."""


class ChatPlatform(StrEnum):
    CONSOLE = "console"
    SLACK = "slack"
    MATRIX = "matrix"
    SYSTEM = "system"  # reconciler, scheduler


@dataclass(frozen=True, slots=True)
class Actor:
    """Who asked, and where the answer goes."""

    user: UserId
    channel: str
    platform: ChatPlatform = ChatPlatform.CONSOLE
    display_name: str = ""

    def as_dict(self) -> dict[str, str]:
        return {
            "user": self.user,
            "channel": self.channel,
            "platform": self.platform.value,
            "display_name": self.display_name,
        }

    @classmethod
    def from_dict(cls, data: dict[str, str]) -> Actor:
        return cls(
            user=UserId(data["user"]),
            channel=data["channel"],
            platform=ChatPlatform(data.get("platform", "console")),
            display_name=data.get("display_name", ""),
        )


class JobKind(StrEnum):
    START = "start"
    STOP = "stop"


@dataclass(frozen=True, slots=True)
class JobSpec:
    """What a lifecycle job is asked to do; it travels through the queue as a dict."""

    job_id: JobId
    kind: JobKind
    actor: Actor
    room: str | None = None
    requested_at: float = 0.0

    def as_dict(self) -> dict[str, object]:
        return {
            "job_id": self.job_id,
            "kind": self.kind.value,
            "actor": self.actor.as_dict(),
            "room": self.room,
            "requested_at": self.requested_at,
        }

    @classmethod
    def from_dict(cls, data: dict[str, object]) -> JobSpec:
        actor = data["actor"]
        room = data.get("room")
        requested_at = data.get("requested_at", 0.0)
        if not isinstance(actor, dict):
            raise ValueError("job spec: actor must be a mapping")
        return cls(
            job_id=JobId(str(data["job_id"])),
            kind=JobKind(str(data["kind"])),
            actor=Actor.from_dict(actor),
            room=str(room) if room is not None else None,
            requested_at=float(requested_at) if isinstance(requested_at, int | float) else 0.0,
        )


class ResourceKind(StrEnum):
    LOAD_BALANCER = "load_balancer"
    TARGET_GROUP = "target_group"
    LISTENER = "listener"
    TASK = "task"
    ELASTIC_IP = "elastic_ip"
    NETWORK_INTERFACE = "network_interface"

    @property
    def billable(self) -> bool:
        """Whether this kind bills by the hour on its own (groups and listeners do not)."""
        return self in BILLABLE_KINDS


# What makes a stopped platform "not clean": each bills by the hour while it exists.
# Target groups and listeners are listed by the audit but cost nothing by themselves.
BILLABLE_KINDS = frozenset(
    {
        ResourceKind.LOAD_BALANCER,
        ResourceKind.TASK,
        ResourceKind.ELASTIC_IP,
        ResourceKind.NETWORK_INTERFACE,
    }
)


class IngressKind(StrEnum):
    """The way clients reach the meeting."""

    NLB = "nlb"  # an on-demand Network Load Balancer in front of the task
    DIRECT = "direct"  # the task's own public IP, an A record with a low TTL


@dataclass(frozen=True, slots=True)
class ContainerState:
    """One container of a task, as ECS describes it."""

    name: str
    last_status: str  # PENDING | RUNNING | STOPPED
    health: str = "UNKNOWN"  # HEALTHY | UNHEALTHY | UNKNOWN (no health check, or not yet)
    exit_code: int | None = None
    reason: str = ""  # why it stopped, when it did


@dataclass(frozen=True, slots=True)
class Task:
    arn: str
    last_status: str  # PROVISIONING | PENDING | RUNNING | STOPPING | STOPPED ...
    private_ip: str | None
    desired_status: str = "RUNNING"
    public_ip: str | None = None
    health: str = "UNKNOWN"  # the task's: HEALTHY once every essential container is
    containers: tuple[ContainerState, ...] = ()
    stopped_reason: str = ""  # ECS's stoppedReason, e.g. "Essential container in task exited"
    created_at: float | None = None  # epoch seconds; JVB read its advertised IPs after this


@dataclass(frozen=True, slots=True)
class TargetHealth:
    target_group: str  # target group name
    target_id: str  # the task's private IP
    port: int
    state: str  # initial | healthy | unhealthy | unused | draining | unavailable
    reason: str = ""

    @property
    def healthy(self) -> bool:
        return self.state == "healthy"


@dataclass(frozen=True, slots=True)
class BillableResource:
    """One thing the audit found that carries the project's tags (or belongs to it)."""

    kind: ResourceKind
    resource_id: str
    name: str = ""
    public_ipv4: int = 0  # public IPv4 addresses it holds (billed per hour)
    detail: str = ""

    @property
    def billable(self) -> bool:
        return self.kind.billable


@dataclass(frozen=True, slots=True)
class ServiceState:
    desired_count: int
    running_count: int
    pending_count: int = 0


@dataclass(frozen=True, slots=True)
class Finding:
    """One prerequisite of a start, checked: what was found and how to fix it."""

    check: str  # short name: "certificate", "hosted zone", "base infrastructure", ...
    ok: bool
    detail: str  # what was found
    fix: str = ""  # what to do about it, when not ok
    blocking: bool = True  # False: worth saying, but a start can still succeed


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """One HTTPS request to the meeting URL, as a browser makes it."""

    ok: bool
    detail: str  # e.g. "HTTP 200, the Jitsi Meet page, certificate valid until 2027-03-01"


@dataclass(frozen=True, slots=True)
class SessionTags:
    """Who a bring-up is for: carried as tags by every resource it creates."""

    session: str  # the job id that made it
    requested_by: str  # the chat user who asked


@dataclass(frozen=True, slots=True)
class Readiness:
    """Whether clients can reach the meeting through the ingress right now."""

    ready: bool
    summary: str  # what it waits for, short and stable (one WAITING event per change)
    failing: tuple[str, ...] = ()  # health failures; fatal once they outlast the grace
    gone: bool = False  # the ingress vanished while starting: fatal at once
    hint: str = ""  # what to check when it fails
    address: str = ""  # where clients connect (a DNS name or an IP), for ``status``


@dataclass(frozen=True, slots=True)
class AliasTarget:
    """A Route 53 alias to an AWS name (a load balancer's DNS name in its zone)."""

    zone_id: str
    dns_name: str


@dataclass(frozen=True, slots=True)
class AddressTarget:
    """Plain A records with a TTL, for an ingress that is an address."""

    addresses: tuple[str, ...]
    ttl: int = 60


DnsTarget = AliasTarget | AddressTarget


@dataclass(frozen=True, slots=True)
class IngressView:
    """What the ingress looks like in AWS now, for ``status``."""

    kind: IngressKind
    name: str
    dns_name: str
    state: str  # e.g. provisioning | active for an NLB
    addresses: tuple[str, ...] = ()
    targets: tuple[TargetHealth, ...] = ()


@dataclass(frozen=True, slots=True)
class SessionCost:
    """One ended session: how long it ran and what it cost."""

    seconds: float
    cost: float | None  # None: prices unknown for the region


@dataclass(frozen=True, slots=True)
class JobResult:
    """How a lifecycle job ended; ``session`` is set when it closed a session."""

    ok: bool
    session: SessionCost | None = None
    aws_calls: int | None = None  # AWS API calls the job made (None: not counted)


@dataclass(frozen=True, slots=True)
class PlatformObservation:
    """What AWS says exists right now, for ``status``."""

    service: ServiceState | None
    ingress: IngressView | None
    tasks: tuple[Task, ...] = ()
    advertise_ips: tuple[str, ...] = ()
    calls: dict[str, int] = field(default_factory=dict)
