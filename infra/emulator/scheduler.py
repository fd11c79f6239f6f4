"""What AWS does on its own and moto does not: the ECS service scheduler, NLB
provisioning and network interfaces, task lifecycle timing and target health.

Every function here runs with ``state.lock`` held, either from the scheduler
thread's tick or synchronously from a patched moto call (so the ``instant``
profile shows the end state in the very response that caused it).
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Literal

from moto.backends import get_backend

from . import ecr_cache, pulls, sidecar, task_contract
from .state import EmulatorState, now

log = logging.getLogger("infra.emulator")

TICK_SECONDS = 0.05
# A service whose task fails to start is retried this often, not on every tick:
# each failed run_task in moto may leave debris behind, and the log stays readable.
RETRY_SECONDS = 5.0
_TASK_ORDER = ("PROVISIONING", "PENDING", "RUNNING")
_PENDING_STATES = ("PROVISIONING", "PENDING", "ACTIVATING")
_HIDDEN_WHILE_PROVISIONING = ("privateIPv4Address", "privateDnsName")


def backends(service: Literal["ecs", "elbv2", "ec2"]) -> list[Any]:
    """Every region backend of ``service`` that exists (never creates one)."""
    by_account: dict[str, Any] = get_backend(service)
    return [
        region_backend
        for account_backend in list(by_account.values())
        for region_backend in list(account_backend.values())
    ]


# ---------------------------------------------------------------- ECS tasks


def _rank(status: str) -> int:
    return _TASK_ORDER.index(status) if status in _TASK_ORDER else len(_TASK_ORDER)


def show_attachment(task: Any, attached: bool) -> None:
    """AWS shows the task's ENI details (its private IP) only once it leaves PROVISIONING."""
    details = getattr(task, "_emu_details", None)
    for attachment in task.attachments:
        if attachment.get("type") != "ElasticNetworkInterface" or details is None:
            continue
        attachment["status"] = "ATTACHED" if attached else "PRECREATED"
        attachment["details"] = (
            list(details)
            if attached
            else [d for d in details if d["name"] not in _HIDDEN_WHILE_PROVISIONING]
        )


def _release_task_eni(task: Any) -> None:
    ec2 = get_backend("ec2")[task._account_id][task.region_name]
    for attachment in task.attachments:
        if attachment.get("type") != "ElasticNetworkInterface":
            continue
        attachment["status"] = "DELETED"
        for detail in getattr(task, "_emu_details", None) or attachment["details"]:
            if detail["name"] == "networkInterfaceId":
                ec2.enis.pop(detail["value"], None)


def _images(task: Any) -> list[str]:
    return [c.image for c in getattr(task, "containers", None) or [] if getattr(c, "image", None)]


def running_after(state: EmulatorState, task: Any) -> float:
    """Seconds from start to RUNNING for this task: the profile's launch plus the pulls of
    the task's own images (a pull-through cache's warm images come faster)."""
    delays = state.profile.delays
    pinned = pulls.pinned_pull_seconds()
    images = _images(task)
    # A task with an image the data has no size for keeps the profile's fixed start.
    unknown = not images or any(pulls.size_mb(i) <= 0 for i in images)
    if delays.image_pulls <= 0 or pinned <= 0 or unknown:
        return delays.task_running
    scale = delays.image_pulls / pinned  # the profile's time scale
    # Fixed when the task is first seen (a cache warmed meanwhile does not speed it up);
    # the profile is read on every tick, so switching it still takes effect.
    if "_emu_pulls" not in task.__dict__:
        cold = [i for i in images if ecr_cache.is_cold(task, i)]
        task._emu_pulls = pulls.pull_seconds(images, cold=lambda image: image in cold)
    own: float = task._emu_pulls
    return delays.task_running - delays.image_pulls + own * scale


def advance_task(state: EmulatorState, task: Any, t: float) -> None:
    """Move a task along PROVISIONING -> PENDING -> RUNNING, or STOPPING -> STOPPED."""
    delays = state.profile.delays
    if task.desired_status == "RUNNING":
        elapsed = t - task.__dict__.setdefault("_emu_created", t)
        if elapsed >= running_after(state, task):
            target = "RUNNING"
        elif elapsed >= delays.task_pending:
            target = "PENDING"
        else:
            target = "PROVISIONING"
        # Only forward, and only along the start path (a profile switch never rewinds).
        if task.last_status in _TASK_ORDER and _rank(target) > _rank(task.last_status):
            task.last_status = target
            show_attachment(task, attached=target != "PROVISIONING")
            log.info("task %s: %s", task.id, target)
            if target == "RUNNING":
                ecr_cache.pulled(task, _images(task))
        task_contract.advance(state, task, t)
    if task.desired_status != "RUNNING" and task.last_status != "STOPPED":
        stop_at = task.__dict__.setdefault("_emu_stop_at", t)
        if t - stop_at >= delays.task_stopped:
            task.last_status = "STOPPED"
            _release_task_eni(task)
            task_contract.advance(state, task, t)
            log.info("task %s: STOPPED (%s)", task.id, task.stopped_reason or "no reason")


# ---------------------------------------------------------------- ECS services


def _group_tasks(backend: Any, service: Any) -> list[Any]:
    group = f"service:{service.name}"
    return [t for t in backend.tasks.get(service.cluster_name, {}).values() if t.group == group]


def update_counts(backend: Any, service: Any) -> None:
    """runningCount/pendingCount from the tasks that exist (moto copies desiredCount)."""
    tasks = _group_tasks(backend, service)
    running = sum(1 for t in tasks if t.last_status == "RUNNING")
    pending = sum(1 for t in tasks if t.last_status in _PENDING_STATES)
    service.running_count, service.pending_count = running, pending
    if service.deployments:
        done = running == service.desired_count and pending == 0
        service.deployments[0].update(
            desiredCount=service.desired_count,
            runningCount=running,
            pendingCount=pending,
            rolloutState="COMPLETED" if done else "IN_PROGRESS",
        )


def update_cluster_counts(backend: Any) -> None:
    """Each cluster's running/pending task counts from its tasks (moto adds up guesses)."""
    for cluster in backend.clusters.values():
        tasks = backend.tasks.get(cluster.name, {}).values()
        cluster.running_tasks_count = sum(1 for t in tasks if t.last_status == "RUNNING")
        cluster.pending_tasks_count = sum(1 for t in tasks if t.last_status in _PENDING_STATES)


def _start_tasks(state: EmulatorState, backend: Any, service: Any, count: int, t: float) -> None:
    key = (backend.account_id, backend.region_name, service.cluster_name, service.name)
    retry = state.service_errors.get(key)
    if retry is not None and t < retry[0]:
        return
    # moto records launchType EC2 when a service names none (e.g. uses a capacity
    # provider strategy); without container instances the only way to run is Fargate.
    has_instances = bool(backend.container_instances.get(service.cluster_name))
    launch_type = "EC2" if service.launch_type == "EC2" and has_instances else "FARGATE"
    tags = service.tags if getattr(service, "propagate_tags", "NONE") == "SERVICE" else []
    log.info(
        "service %s: desired %d, starting %d task(s) of %s",
        service.name,
        service.desired_count,
        count,
        service.task_definition,
    )
    try:
        tasks = backend.run_task(
            service.cluster_name,
            service.task_definition,
            count,
            None,
            f"ecs-svc/{service.name}",
            tags,
            launch_type,
            service.network_configuration or None,
            group=f"service:{service.name}",
            platform_version=service.platform_version,
        )
    except Exception as exc:
        message = f"{type(exc).__name__}: {exc}"
        state.service_errors[key] = (t + RETRY_SECONDS, message)
        log.error(
            "service %s: cannot start a task: %s (retrying every %.0fs; Fargate needs "
            "awsvpc subnets in the service's networkConfiguration)",
            service.name,
            message,
            RETRY_SECONDS,
        )
        return
    state.service_errors.pop(key, None)
    for task in tasks:
        log.info("service %s: started task %s (%s)", service.name, task.id, task.last_status)


def reconcile_service(state: EmulatorState, backend: Any, service: Any, t: float) -> None:
    """Start or stop tasks until the live ones match the desired count."""
    desired = service.desired_count if service.status == "ACTIVE" else 0
    live = [x for x in _group_tasks(backend, service) if x.desired_status == "RUNNING"]
    if len(live) < desired and service.task_definition:
        _start_tasks(state, backend, service, desired - len(live), t)
    elif len(live) > desired:
        # Like ECS, stop the tasks that are least far along first.
        for task in sorted(live, key=lambda x: _rank(x.last_status))[: len(live) - desired]:
            log.info("service %s: desired %d, stopping task %s", service.name, desired, task.id)
            backend.stop_task(
                service.cluster_name, task.task_arn, "Scaling activity initiated by the service"
            )
    update_counts(backend, service)


# ---------------------------------------------------------------- load balancers


def _create_lb_enis(state: EmulatorState, elbv2: Any, lb: Any, subnets: list[Any]) -> None:
    ec2 = elbv2.ec2_backend
    kind = "net" if lb.type == "network" else "app"
    description = f"ELB {kind}/{lb.name}/{lb.arn.rsplit('/', 1)[-1]}"
    public = (lb.scheme or "internet-facing") == "internet-facing"
    in_use = {e.public_ip for e in ec2.enis.values() if e.public_ip}
    ids = lb.__dict__.setdefault("_emu_enis", [])
    for subnet in subnets:
        eni = ec2.create_network_interface(
            subnet=subnet,
            private_ip_address=None,
            group_ids=list(lb.security_groups or []) or None,
            description=description,
        )
        eni.interface_type = "network_load_balancer" if kind == "net" else "interface"
        eni.status = "in-use"
        eni.requester_managed = True
        eni._emu_lb_arn = lb.arn
        if public:
            eni.public_ip = state.next_public_ip(in_use)
            in_use.add(eni.public_ip)
        ids.append(eni.id)
        log.info(
            "load balancer %s: interface %s in %s, %s / %s",
            lb.name,
            eni.id,
            subnet.id,
            eni.private_ip_address,
            eni.public_ip,
        )


def advance_load_balancer(state: EmulatorState, elbv2: Any, lb: Any, t: float) -> None:
    """provisioning -> active after the profile's delay; interfaces after theirs."""
    delays = state.profile.delays
    created = lb.__dict__.setdefault("_emu_created", t)
    if lb.state == "provisioning" and t - created >= delays.lb_active:
        lb.state = "active"
        lb._emu_active_at = t
        log.info("load balancer %s: active", lb.name)
    # One interface per zone, each a little after the one before: a reader that
    # stops at the first address misses the others.
    made = len(lb.__dict__.get("_emu_enis", []))
    waited = t - created - delays.lb_enis
    due = 0 if waited < 0 else len(lb.subnets)
    if due and delays.lb_eni_stagger > 0:
        due = min(due, 1 + int(waited / delays.lb_eni_stagger))
    if made < due:
        _create_lb_enis(state, elbv2, lb, list(lb.subnets)[made:due])


def sweep_lb_enis(state: EmulatorState, elbv2: Any, t: float) -> None:
    """Delete the interfaces of load balancers that no longer exist, after the delay."""
    ec2 = elbv2.ec2_backend
    for eni in list(ec2.enis.values()):
        arn = getattr(eni, "_emu_lb_arn", None)
        if arn is None or arn in elbv2.load_balancers:
            continue
        gone_at = eni.__dict__.setdefault("_emu_gone_at", t)
        if t - gone_at >= state.profile.delays.lb_enis_deleted:
            ec2.enis.pop(eni.id, None)
            log.info("interface %s of deleted load balancer deleted", eni.id)


# ---------------------------------------------------------------- target health


def target_health(state: EmulatorState, tg: Any, target_id: str, t: float) -> tuple[str, str, str]:
    """(state, reason, description) of a registered target, in place of moto's `healthy`."""
    elbv2 = get_backend("elbv2")[tg.account_id][tg.region_name]
    lbs = [elbv2.load_balancers[a] for a in tg.load_balancer_arns if a in elbv2.load_balancers]
    if not lbs:
        return (
            "unused",
            "Target.NotInUse",
            "Target group is not configured to receive traffic from the load balancer",
        )
    active = [getattr(lb, "_emu_active_at", t) for lb in lbs if lb.state == "active"]
    if not active:
        return "initial", "Elb.RegistrationInProgress", "Target registration is in progress"
    registered = getattr(tg, "_emu_registered", {}).get(target_id, t)
    checked_since = max(registered, min(active))
    if state.target_mode == "initial" or t - checked_since < state.profile.delays.target_healthy:
        return "initial", "Elb.InitialHealthChecking", "Initial health checks in progress"
    if state.target_mode == "unhealthy":
        return "unhealthy", "Target.FailedHealthChecks", "Health checks failed"
    return "healthy", "", ""


# ---------------------------------------------------------------- the thread


def tick(state: EmulatorState) -> None:
    """One pass over every backend: tasks, services, load balancers, orphaned ENIs."""
    with state.lock:
        t = now()
        for ecs in backends("ecs"):
            for cluster_tasks in list(ecs.tasks.values()):
                for task in list(cluster_tasks.values()):
                    advance_task(state, task, t)
            for service in list(ecs.services.values()):
                reconcile_service(state, ecs, service, t)
            update_cluster_counts(ecs)
            sidecar.publish(state, ecs, t)
        for elbv2 in backends("elbv2"):
            for lb in list(elbv2.load_balancers.values()):
                advance_load_balancer(state, elbv2, lb, t)
            sweep_lb_enis(state, elbv2, t)


class Scheduler:
    """Runs ``tick`` every ``interval`` seconds in a daemon thread until stopped."""

    def __init__(self, state: EmulatorState, interval: float = TICK_SECONDS) -> None:
        self.state = state
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="emulator-scheduler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)

    def _run(self) -> None:
        last_error = ""
        while not self._stop.wait(self.interval):
            try:
                tick(self.state)
            except Exception as exc:  # keep scheduling; log each distinct failure once
                if repr(exc) != last_error:
                    log.exception("scheduler tick failed")
                    last_error = repr(exc)
