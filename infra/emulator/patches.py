"""Monkeypatches of moto's in-process models, so the emulated AWS behaves like AWS
where the bot depends on it (see ARCHITECTURE.md section 6, "Known moto gaps").

``install`` is idempotent: the patches go in once per process; a later call only
swaps the emulator state they consult.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

from moto.backends import get_backend
from moto.ec2.models import elastic_network_interfaces as ec2_eni
from moto.ec2.utils import generate_dns_from_ip, random_private_ip
from moto.ecs import models as ecs
from moto.ecs.exceptions import InvalidParameterException
from moto.elbv2 import models as elbv2
from moto.moto_api import state_manager

from . import deployments, emf, iam_sim, quotas, route53, scheduler, task_contract
from .state import EmulatorState, now

log = logging.getLogger("infra.emulator")

_state: EmulatorState | None = None
_installed = False


def install(state: EmulatorState) -> None:
    """Patch moto (once) and point the patches at ``state``."""
    global _state, _installed
    _state = state
    pin_task_states()
    if _installed:
        return
    _installed = True
    _patch_ec2()
    _patch_ecs()
    _patch_elbv2()
    route53.install(_st)
    deployments.install()
    iam_sim.install(_st)
    quotas.install(_st)
    emf.install()


def pin_task_states() -> None:
    """Stop moto from advancing a task one state per DescribeTasks; the scheduler drives it.

    A moto reset forgets this, so the emulator calls it again after each reset.
    """
    state_manager.set_transition("ecs::task", {"progression": "manual", "times": 10**9})


def _st() -> EmulatorState:
    if _state is None:
        raise RuntimeError("infra.emulator.patches.install() was not called")
    return _state


def _wrap(owner: Any, name: str) -> Callable[[Callable[..., Any]], Any]:
    """Replace ``owner.name`` by the decorated function, which gets the original first."""
    original = owner.__dict__[name]

    def decorate(fn: Callable[..., Any]) -> Any:
        @functools.wraps(original)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            return fn(original, *args, **kwargs)

        setattr(owner, name, wrapper)
        return wrapper

    return decorate


# ---------------------------------------------------------------- EC2


def _patch_ec2() -> None:
    @_wrap(ec2_eni.NetworkInterface, "__init__")
    def eni_init(original: Any, self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        # moto sets a private DNS name only in VPCs with DNS hostnames enabled, and
        # ECS's run_task then dies on the missing attribute after creating the ENI.
        if not hasattr(self, "private_dns_name"):
            self.private_dns_name = generate_dns_from_ip(self.private_ip_address)


def _free_private_ip(ec2: Any, subnet: Any) -> str:
    used = {e.private_ip_address for e in ec2.enis.values()}
    for _ in range(100):
        ip = str(random_private_ip(subnet.cidr_block))
        if ip not in used:
            return ip
    raise RuntimeError(f"no free private IP in {subnet.id}")


# ---------------------------------------------------------------- ECS


def _fix_task_eni(task: Any, ec2: Any, conf: dict[str, Any]) -> None:
    """Give the task's ENI an address inside its subnet (moto picks any 10.x) and AWS's shape."""
    st = _st()
    for attachment in task.attachments:
        details = {d["name"]: d for d in attachment["details"]}
        eni = ec2.enis.get(details["networkInterfaceId"]["value"])
        if eni is None:
            continue
        ip = _free_private_ip(ec2, eni.subnet)
        eni.private_ip_address = ip
        eni.private_ip_addresses = [{"Primary": True, "PrivateIpAddress": ip}]
        eni.private_dns_name = generate_dns_from_ip(ip)
        eni.requester_managed = True
        eni.description = (
            f"arn:aws:ecs:{task.region_name}:{task._account_id}:attachment/{attachment['id']}"
        )
        if conf.get("assignPublicIp") == "ENABLED":
            eni.public_ip = st.next_public_ip({e.public_ip for e in ec2.enis.values()})
        details["privateIPv4Address"]["value"] = ip
        details["privateDnsName"]["value"] = eni.private_dns_name
        task._emu_details = [dict(d) for d in attachment["details"]]


def _patch_ecs() -> None:
    backend = ecs.EC2ContainerServiceBackend
    # Drive lastStatus ourselves: moto's getter consults the state manager on every read.
    ecs.Task.last_status = property(  # type: ignore[method-assign,assignment]
        lambda self: self._status, lambda self, value: setattr(self, "_status", value)
    )

    original_requirements = backend.__dict__["_calculate_task_resource_requirements"].__func__

    def requirements(task_definition: Any) -> Any:
        # Fargate sizes memory at task level; moto adds up per-container memory and
        # crashes on a container without one.
        defs = []
        for cd in task_definition.container_definitions:
            cd = dict(cd)
            if "Memory" not in cd and "MemoryReservation" not in cd:
                cd["memory"] = cd.get("memory") or cd.get("memoryReservation") or 0
            defs.append(cd)
        return original_requirements(SimpleNamespace(container_definitions=defs))

    backend._calculate_task_resource_requirements = staticmethod(requirements)  # type: ignore[method-assign]
    # Cluster task counts are recomputed from the tasks on every tick instead.
    backend.update_cluster_resources = lambda self, *args, **kwargs: None  # type: ignore[method-assign]

    @_wrap(ecs.Service, "_validate_network")
    def validate_network(original: Any, self: Any, nc: dict[str, Any]) -> Any:
        # AWS uses the VPC's default security group when none is given; moto KeyErrors.
        nc.get("awsvpcConfiguration", {}).setdefault("securityGroups", [])
        return original(self, nc)

    @_wrap(ecs.Task, "__init__")
    def task_init(original: Any, self: Any, *args: Any, **kwargs: Any) -> None:
        conf: dict[str, Any] = {}
        nc = kwargs.get("networking_configuration")
        if nc and "awsvpcConfiguration" in nc:
            conf = dict(nc["awsvpcConfiguration"])
            if not conf.get("subnets"):
                raise InvalidParameterException("subnets can not be empty.")
            conf.setdefault("securityGroups", [])
            kwargs["networking_configuration"] = {**nc, "awsvpcConfiguration": conf}
        owner = kwargs["backend"]
        cluster = kwargs.get("cluster") or args[0]
        ec2 = get_backend("ec2")[owner.account_id][cluster.region_name]
        before = set(ec2.enis)
        try:
            original(self, *args, **kwargs)
        except Exception:
            # A failed start must not leak the ENI moto already made (AWS makes none).
            for eni_id in set(ec2.enis) - before:
                ec2.enis.pop(eni_id, None)
            raise
        st = _st()
        with st.lock:
            self.last_status = "PROVISIONING"
            self._emu_created = now()
            # Real containers, judged by docker-jitsi-meet's contract (moto makes one, HEALTHY).
            task_definition = kwargs.get("task_definition") or args[1]
            task_contract.attach(self, task_definition)
            _fix_task_eni(self, ec2, conf)
            scheduler.show_attachment(self, attached=False)
            scheduler.advance_task(st, self, now())

    @_wrap(backend, "stop_task")
    def stop_task(original: Any, self: Any, cluster_str: str, task_str: str, reason: str) -> Any:
        tasks = self.tasks.get(self._get_cluster(cluster_str).name, {})
        before = {arn: t.last_status for arn, t in tasks.items()}
        task = original(self, cluster_str, task_str, reason)
        if before.get(task.task_arn) != "STOPPED":
            st = _st()
            with st.lock:
                task.last_status = "STOPPING"
                task._emu_stop_at = now()
                scheduler.advance_task(st, task, now())
        return task

    @_wrap(backend, "list_tasks")
    def list_tasks(
        original: Any,
        self: Any,
        cluster_str: str | None = None,
        container_instance: str | None = None,
        family: str | None = None,
        started_by: str | None = None,
        service_name: str | None = None,
        desiredStatus: str | None = None,
    ) -> list[Any]:
        # AWS filters on desiredStatus RUNNING unless told otherwise; moto lists all.
        tasks = original(
            self,
            cluster_str,
            container_instance,
            family,
            started_by,
            None,
            desiredStatus or "RUNNING",
        )
        if service_name:
            group = f"service:{service_name.rsplit('/', 1)[-1]}"
            tasks = [t for t in tasks if t.group == group]
        return list(tasks)

    for name in ("create_service", "update_service"):

        @_wrap(backend, name)
        def recount(original: Any, self: Any, *args: Any, **kwargs: Any) -> Any:
            # moto reports runningCount = desiredCount at once; AWS counts real tasks.
            service = original(self, *args, **kwargs)
            with _st().lock:
                scheduler.update_counts(self, service)
            return service


# ---------------------------------------------------------------- ELBv2


def _rekey(backend: Any, lb: Any, new_arn: str) -> None:
    old_arn = lb.arn
    backend.load_balancers[new_arn] = backend.load_balancers.pop(old_arn)
    tags = backend.tagging_service.tags
    if old_arn in tags:
        tags[new_arn] = tags.pop(old_arn)
    lb.arn = new_arn


def _same_target_group(tg: Any, kwargs: dict[str, Any]) -> bool:
    return (
        str(tg.protocol) == str(kwargs.get("protocol"))
        and str(tg.port) == str(kwargs.get("port"))
        and tg.vpc_id == kwargs.get("vpc_id")
        and tg.target_type == (kwargs.get("target_type") or "instance")
    )


def _patch_elbv2() -> None:
    backend = elbv2.ELBv2Backend
    # moto activates every load balancer on the first describe; the scheduler does it
    # after the profile's delay instead.
    elbv2.FakeLoadBalancer.activate = lambda self: None  # type: ignore[method-assign]

    @_wrap(backend, "create_load_balancer")
    def create_load_balancer(original: Any, self: Any, *args: Any, **kwargs: Any) -> Any:
        name = kwargs.get("name", args[0] if args else None)
        for lb in self.load_balancers.values():
            if lb.name == name:  # AWS returns the existing one
                return lb
        lb = original(self, *args, **kwargs)
        if lb.type == "network":
            _rekey(self, lb, lb.arn.replace(":loadbalancer/app/", ":loadbalancer/net/"))
        log.info("load balancer %s: created (%s)", lb.name, lb.arn)
        st = _st()
        with st.lock:
            lb._emu_created = now()
            scheduler.advance_load_balancer(st, self, lb, now())
        return lb

    @_wrap(backend, "delete_load_balancer")
    def delete_load_balancer(original: Any, self: Any, arn: str) -> None:
        original(self, arn)
        st = _st()
        with st.lock:
            scheduler.sweep_lb_enis(st, self, now())

    @_wrap(backend, "create_target_group")
    def create_target_group(original: Any, self: Any, name: str, **kwargs: Any) -> Any:
        for tg in self.target_groups.values():
            if tg.name == name and _same_target_group(tg, kwargs):
                return tg  # AWS: an identical create is idempotent
        return original(self, name, **kwargs)

    tg_class = elbv2.FakeTargetGroup

    @_wrap(tg_class, "register")
    def register(original: Any, self: Any, targets: list[dict[str, Any]]) -> None:
        fresh = [t["Id"] for t in targets if t["Id"] not in self.targets]
        original(self, targets)
        registered = self.__dict__.setdefault("_emu_registered", {})
        for target_id in fresh:
            registered[target_id] = now()

    @_wrap(tg_class, "deregister")
    def deregister(original: Any, self: Any, targets: list[dict[str, Any]]) -> None:
        original(self, targets)
        for target in targets:
            self.__dict__.get("_emu_registered", {}).pop(target["Id"], None)

    @_wrap(tg_class, "health_for")
    def health_for(original: Any, self: Any, target: dict[str, Any], ec2_backend: Any) -> Any:
        status = original(self, target, ec2_backend)
        if status.status != "healthy":
            return status
        st = _st()
        with st.lock:
            health, reason, description = scheduler.target_health(st, self, target["Id"], now())
        if health == "healthy":
            return status
        return elbv2.FakeHealthStatus(
            status.instance_id, status.port, status.health_check_port, health, reason, description
        )
