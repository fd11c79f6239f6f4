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


@dataclass(frozen=True, slots=True)
class LoadBalancer:
    arn: str
    name: str
    dns_name: str
    state: str  # provisioning | active | active_impaired | failed
    availability_zones: int = 2

    @property
    def active(self) -> bool:
        return self.state == "active"


@dataclass(frozen=True, slots=True)
class TargetGroup:
    arn: str
    name: str
    protocol: str
    port: int


@dataclass(frozen=True, slots=True)
class Task:
    arn: str
    last_status: str  # PROVISIONING | PENDING | RUNNING | STOPPING | STOPPED ...
    private_ip: str | None
    desired_status: str = "RUNNING"
    public_ip: str | None = None


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


@dataclass(frozen=True, slots=True)
class ServiceState:
    desired_count: int
    running_count: int
    pending_count: int = 0


@dataclass(frozen=True, slots=True)
class PlatformObservation:
    """What AWS says exists right now, for ``status``."""

    service: ServiceState | None
    load_balancer: LoadBalancer | None
    tasks: tuple[Task, ...] = ()
    targets: tuple[TargetHealth, ...] = ()
    advertise_ips: tuple[str, ...] = ()
    calls: dict[str, int] = field(default_factory=dict)
