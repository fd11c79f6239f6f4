"""A strict ECS: a task whose definition breaks docker-jitsi-meet's contract fails
the way it would on AWS, and container health follows the contract.

moto accepts any task definition and reports one made-up container, always
HEALTHY. Here each container of the definition becomes a container of the task;
the contract (infra/jitsi/contract.py) decides its fate:

- a secret whose SSM parameter does not exist, or that the task's execution role
  may not read (``ssm:GetParameters``): the task never starts (``TaskFailedToStart``,
  ECS's ResourceInitializationError);
- a required variable missing or empty: the container exits with code 1 as it
  starts, and an essential one stops the task ("Essential container in task exited");
- a heap larger than the container: the container is killed with code 137
  (OutOfMemoryError) once it has warmed up;
- a wrong value or port: it runs and its health check fails; an essential one
  stops the task ("Task failed container health checks");
- otherwise a container with a health check turns HEALTHY the profile's
  ``container_healthy`` delay after the task runs (its first passing check).

Runs with ``state.lock`` held, from the scheduler's tick or a patched moto call.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import Any

from moto.backends import get_backend

from infra.jitsi.contract import Effect, Violation, check, emitted_metrics

from . import ecr_cache
from .state import EmulatorState

log = logging.getLogger("infra.emulator")

ESSENTIAL_EXITED = "Essential container in task exited"
HEALTH_FAILED = "Task failed container health checks"
OOM_REASON = "OutOfMemoryError: Container killed due to memory usage"
# ECS retries a service's failing task with a backoff; a few seconds keeps the log readable.
RESTART_BACKOFF = 5.0


@dataclass
class EmuContainer:
    """A container of a task, with the attribute names moto's serializer looks up."""

    name: str
    image: str
    container_arn: str
    task_arn: str
    essential: bool
    has_health_check: bool
    cpu: str = "0"
    memory: str | None = None
    last_status: str = "PENDING"
    health_status: str = "UNKNOWN"
    exit_code: int | None = None
    reason: str | None = None
    network_interfaces: list[dict[str, Any]] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)
    # The metrics its command prints (the stats sidecar's): what the emulator publishes.
    emits: frozenset[str] = frozenset()

    @property
    def worst(self) -> Effect | None:
        return min((v.effect for v in self.violations), key=lambda e: e.rank, default=None)


def _parameter_exists(account: str, region: str) -> Any:
    ssm = get_backend("ssm")[account][region]

    def exists(name: str) -> bool:
        return name in ssm._parameters

    return exists


def _statements(document: Any) -> list[dict[str, Any]]:
    doc = json.loads(document) if isinstance(document, str) else document
    found = doc.get("Statement", []) if isinstance(doc, dict) else []
    return [found] if isinstance(found, dict) else list(found)


def _as_list(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else list(value or [])


def _role_can_read(account: str, role_arn: str | None) -> Any:
    """A predicate: may ``role_arn`` call ssm:GetParameters on a parameter ARN?

    Allow statements only (no Deny, no conditions): enough to catch a role that was
    never granted the task's parameters, which is what fails on AWS.
    """
    statements: list[dict[str, Any]] = []
    if role_arn:
        iam = get_backend("iam")[account]["global"]
        role = next((r for r in iam.roles.values() if r.arn == role_arn), None)
        if role is not None:
            for document in role.policies.values():
                statements.extend(_statements(document))
            for policy in role.managed_policies.values():
                for version in policy.versions:
                    if version.is_default:
                        statements.extend(_statements(version.document))

    def can_read(arn: str) -> bool:
        for st in statements:
            if st.get("Effect") != "Allow":
                continue
            actions = [a.lower() for a in _as_list(st.get("Action"))]
            if not any(fnmatchcase("ssm:getparameters", a) for a in actions):
                continue
            if any(fnmatchcase(arn, r) for r in _as_list(st.get("Resource"))):
                return True
        return False

    return can_read


def _denied_secrets(task: Any, task_definition: Any, defs: list[dict[str, Any]]) -> list[str]:
    """Secret ARNs the execution role may not read (ECS fetches them with that role)."""
    can_read = _role_can_read(
        task._account_id, getattr(task_definition, "execution_role_arn", None)
    )
    denied = []
    for cd in defs:
        for secret in cd.get("secrets", []):
            arn = str(secret.get("valueFrom", ""))
            if not arn.startswith("arn:"):
                name = arn.lstrip("/")
                arn = f"arn:aws:ssm:{task.region_name}:{task._account_id}:parameter/{name}"
            if not can_read(arn) and arn not in denied:
                denied.append(arn)
    return denied


def attach(task: Any, task_definition: Any) -> None:
    """Give a new task one container per definition, each judged by the contract."""
    defs: list[dict[str, Any]] = list(task_definition.container_definitions or [])
    memory = getattr(task_definition, "memory", None)
    violations = check(
        defs,
        parameter_exists=_parameter_exists(task._account_id, task.region_name),
        task_memory=int(memory) if memory else None,
    )
    containers = []
    for i, cd in enumerate(defs):
        hc = cd.get("healthCheck") or {}
        containers.append(
            EmuContainer(
                name=str(cd.get("name")),
                image=str(cd.get("image")),
                container_arn=f"{task.task_arn.replace(':task/', ':container/')}/{i}",
                task_arn=task.task_arn,
                essential=bool(cd.get("essential", True)),
                has_health_check=bool(hc.get("command")),
                memory=str(cd["memory"]) if cd.get("memory") else None,
                violations=[v for v in violations if v.container == cd.get("name") and _matters(v)],
                emits=emitted_metrics(cd),
            )
        )
    task.containers = containers
    task.health_status = "UNKNOWN"
    task._emu_secrets_missing = [v for v in violations if v.effect is Effect.SECRET]
    task._emu_secrets_denied = _denied_secrets(task, task_definition, defs)
    for v in violations:
        log.info("task %s: contract: %s (%s)", task.id, v, v.effect.value)


def emitted(task: Any) -> frozenset[str]:
    """The metrics a task's running containers print (its stats sidecar's), read from
    their commands as on AWS: a sidecar that does not print a metric publishes none."""
    containers = getattr(task, "containers", [])
    return frozenset().union(
        *(c.emits for c in containers if isinstance(c, EmuContainer) and c.last_status == "RUNNING")
    )


def _matters(v: Violation) -> bool:
    # Policy rules are ours, not docker-jitsi-meet's: the container would run.
    return v.effect is not Effect.POLICY


def _stop(state: EmulatorState, task: Any, t: float, reason: str, code: str) -> None:
    task.desired_status = "STOPPED"
    task.stopped_reason = reason
    task.stop_code = code
    task.last_status = "STOPPING"
    task._emu_stop_at = t
    # Like ECS, the service does not restart a failing task on the very next tick.
    service = task.group.removeprefix("service:") if task.group.startswith("service:") else None
    if service:
        key = (task._account_id, task.region_name, task.cluster_name, service)
        state.service_errors[key] = (t + RESTART_BACKOFF, reason)
    log.info("task %s: stopping: %s", task.id, reason)


def advance(state: EmulatorState, task: Any, t: float) -> None:
    """Apply the contract to a task that moved (or waits) along its start path."""
    containers: list[EmuContainer] = getattr(task, "containers", [])
    if not containers or not isinstance(containers[0], EmuContainer):
        return
    if task.desired_status != "RUNNING":
        if task.last_status == "STOPPED":
            for c in containers:
                c.last_status = "STOPPED"
        return
    missing = getattr(task, "_emu_secrets_missing", [])
    denied = getattr(task, "_emu_secrets_denied", [])
    # ECS fetches secrets while the task is PENDING (the instant profile skips past it).
    fetching = task.last_status in ("PENDING", "RUNNING")
    if denied and fetching:
        _stop(
            state,
            task,
            t,
            "ResourceInitializationError: unable to pull secrets or registry auth: "
            "unable to retrieve secrets from ssm: AccessDeniedException: the task's execution "
            f"role is not authorized to perform ssm:GetParameters on {', '.join(denied)}",
            "TaskFailedToStart",
        )
        return
    if missing and fetching:
        names = ", ".join(sorted(v.subject for v in missing))
        _stop(
            state,
            task,
            t,
            "ResourceInitializationError: unable to pull secrets or registry auth: "
            f"unable to retrieve secrets from ssm: invalid ssm parameters: {names}",
            "TaskFailedToStart",
        )
        return
    unpullable = [c.image for c in containers if ecr_cache.unpullable(task, c.image)]
    if unpullable and fetching:
        _stop(
            state,
            task,
            t,
            f"CannotPullContainerError: pull image manifest has been retried 1 time(s): "
            f"failed to resolve ref {unpullable[0]}: not found",
            "TaskFailedToStart",
        )
        return
    if task.last_status != "RUNNING":
        return
    running_since = task.__dict__.setdefault("_emu_running_at", t)
    warmed = t - running_since >= state.profile.delays.container_healthy
    for c in containers:
        if c.last_status == "PENDING":
            c.last_status = "RUNNING"
        worst = c.worst
        if worst is Effect.EXIT and c.last_status == "RUNNING":
            c.last_status, c.exit_code = "STOPPED", 1
        if not warmed:
            continue
        if worst is Effect.OOM and c.last_status == "RUNNING":
            c.last_status, c.exit_code, c.reason = "STOPPED", 137, OOM_REASON
        elif c.has_health_check and c.last_status == "RUNNING":
            c.health_status = "UNHEALTHY" if worst is Effect.UNHEALTHY else "HEALTHY"
    essential = [c for c in containers if c.essential]
    if any(c.last_status == "STOPPED" for c in essential):
        _stop(state, task, t, ESSENTIAL_EXITED, "EssentialContainerExited")
    elif any(c.health_status == "UNHEALTHY" for c in essential):
        task.health_status = "UNHEALTHY"
        _stop(state, task, t, HEALTH_FAILED, "TaskFailedToStart")
    else:
        checked = [c for c in essential if c.has_health_check]
        if checked and all(c.health_status == "HEALTHY" for c in checked):
            task.health_status = "HEALTHY"
