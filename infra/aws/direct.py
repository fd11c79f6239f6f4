"""The task's own public IP as the platform's ``Ingress``: no load balancer.

The ECS service runs its task with ``assignPublicIp=ENABLED`` (bootstrap and
Terraform set it in both modes: with no NAT gateway the task pulls its images over
that address), the task's security group admits TCP 443 and 80 and UDP 10000 from
anywhere, and JVB finds its public address itself by STUN (task.json's ``direct``
feature). The meeting domain is an A record at that address with a low TTL.

Nothing here is created or deleted: bringing up and removing are free, and the
record is the DNS part's (deleted before the task stops, ``bot.stop``). An Elastic
IP would give a fixed address, but Fargate cannot associate one with a task's
interface (the open request aws/containers-roadmap#311, "[Fargate] [EIP support]").
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.config import Settings
from bot.model import (
    AddressTarget,
    DnsTarget,
    IngressKind,
    IngressView,
    Readiness,
    SessionTags,
    Task,
)
from bot.ports import ProgressNote
from infra.aws.ecs_tasks import describe_service_tasks, eni_public_ips, task_eni_id
from infra.aws.errors import translated
from infra.aws.session import AwsClients


class DirectIngress:
    """Clients reach the task at its own public IP: web on 443 (80 redirects), JVB on
    UDP 10000, the address found by JVB itself (STUN)."""

    kind = IngressKind.DIRECT
    advertises = False  # JVB learns its public address by STUN

    def __init__(self, settings: Settings, clients: AwsClients) -> None:
        self.settings = settings
        self.clients = clients

    # --- start -----------------------------------------------------------

    def bring_up(self, tags: SessionTags, note: ProgressNote) -> None:
        """Nothing to make: the task brings its address with it."""

    def advertised_addresses(self) -> list[str]:
        return []

    def attach(self, tasks: Sequence[Task]) -> None:
        """Nothing to register: clients are sent to a task by the DNS record alone."""

    @translated("reading the task's public IP")
    def dns_target(self, tasks: Sequence[Task]) -> DnsTarget | None:
        """An A record at the tasks' public IPs, once every one of them has one (the
        address appears with the task's interface, a little after its private IP)."""
        if not tasks:
            return None
        ips = [t.public_ip for t in tasks if t.public_ip]
        if len(ips) < len(tasks):
            wanted = {t.arn for t in tasks}
            found = {arn: ip for arn, ip in self._public_ips().items() if arn in wanted}
            if len(found) < len(wanted):
                return None
            ips = list(found.values())
        return AddressTarget(tuple(sorted(ips)), ttl=self.settings.direct_dns_ttl_seconds)

    @translated("reading the task's health")
    def readiness(self) -> Readiness:
        """Ready once a running task has a public IP and every essential container is
        healthy (ECS's task health: there is no load balancer to check it)."""
        tasks = self._live()
        if not tasks:
            return Readiness(False, "no running task yet")
        public = self._ips(tasks)
        failing: list[str] = []
        best: tuple[bool, str, str] = (False, "", "")
        for task in tasks:
            ip = public.get(task["taskArn"], "")
            status = str(task.get("lastStatus", ""))
            health = str(task.get("healthStatus", "UNKNOWN"))
            failing += [
                f"{c.get('name', '?')}: unhealthy"
                for c in task.get("containers", [])
                if c.get("healthStatus") == "UNHEALTHY"
            ]
            ready = bool(ip) and status == "RUNNING" and health == "HEALTHY"
            summary = f"task {status.lower()} ({health.lower()}), public IP {ip or 'not yet'}"
            if ready or not best[1]:
                best = (ready, summary, ip)
        return Readiness(
            ready=best[0],
            summary=best[1],
            failing=tuple(failing),
            address=best[2],
            hint=f"Check the task's logs (/ecs/{self.settings.project_name}).",
        )

    # --- stop ------------------------------------------------------------

    def remove(self, note: ProgressNote) -> None:
        """Nothing to remove: the address goes with the task (after the record)."""

    def remaining(self) -> list[str]:
        return []

    # --- read-only -------------------------------------------------------

    @translated("reading the task's public IP")
    def describe(self) -> IngressView | None:
        tasks = self._live()
        if not tasks:
            return None
        public = self._ips(tasks)
        task = tasks[0]
        return IngressView(
            kind=self.kind,
            name="task public IP",
            dns_name=self.settings.domain,
            state=str(task.get("lastStatus", "")).lower(),
            addresses=tuple(sorted(public.values())),
        )

    # --- helpers ---------------------------------------------------------

    def _live(self) -> list[dict[str, Any]]:
        raw = describe_service_tasks(self.clients, self.settings, ("RUNNING",))
        return [t for t in raw if t.get("desiredStatus", "RUNNING") == "RUNNING"]

    def _ips(self, tasks: list[dict[str, Any]]) -> dict[str, str]:
        """Task ARN -> public IP, for those that have one."""
        enis = {task_eni_id(t): t["taskArn"] for t in tasks}
        by_eni = eni_public_ips(self.clients, [e for e in enis if e])
        return {enis[eni]: ip for eni, ip in by_eni.items()}

    def _public_ips(self) -> dict[str, str]:
        return self._ips(self._live())
