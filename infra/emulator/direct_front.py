"""The HTTPS front in direct mode: a name whose Route 53 A record points at a task's
own public IP reaches that task's jitsi-web, with no load balancer in between.

For such a name it finds the RUNNING task (of the account) whose interface holds one
of the record's addresses, and the certificate its web container is handed: the PEM
SecureStrings ``/{project}/tls/fullchain`` and ``/{project}/tls/privkey`` (the project
is the cluster's ``jitsi:project`` tag, else its name without ``-cluster``).
No certificate stored: the handshake fails, as a browser would see it; web not yet
HEALTHY: the connection closes without an answer (nginx is not listening yet).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from moto.backends import get_backend

from . import scheduler
from .state import EmulatorState

FULLCHAIN, PRIVKEY = "tls/fullchain", "tls/privkey"
WEB = "web"


@dataclass(frozen=True, slots=True)
class DirectRoute:
    """Where a name leads in direct mode: a task, its certificate (None: none stored)."""

    task_arn: str
    address: str
    pems: tuple[str, str] | None  # (fullchain, privkey)
    healthy: bool  # the task RUNNING and its web container HEALTHY


def _a_records(account: str, host: str) -> set[str]:
    """The addresses of ``host``'s plain A records (not aliases) in the account's zones."""
    found: set[str] = set()
    for partition_backend in get_backend("route53").get(account, {}).values():
        for zone in list(partition_backend.zones.values()):
            for rrset in list(zone.rrsets):
                if rrset.name.lower().rstrip(".") != host or rrset.type != "A":
                    continue
                if rrset.alias_target:
                    continue
                for record in rrset.records or []:
                    value = record.get("Value") if isinstance(record, dict) else record
                    if value:
                        found.add(str(value))
    return found


def _task_address(ecs: Any, task: Any) -> str | None:
    ec2 = get_backend("ec2")[ecs.account_id][ecs.region_name]
    for attachment in task.attachments:
        if attachment.get("type") != "ElasticNetworkInterface":
            continue
        for detail in attachment.get("details", []):
            if detail.get("name") == "networkInterfaceId":
                eni = ec2.enis.get(detail.get("value"))
                if eni is not None and eni.public_ip:
                    return str(eni.public_ip)
    return None


def _secure(ssm: Any, name: str) -> str | None:
    found = ssm.get_parameter(name)
    if found is None:
        return None
    value = found.decrypt(found.value)
    return str(value) if value else None


def _project(ecs: Any, cluster: str) -> str:
    """The project a cluster belongs to: its ``jitsi:project`` tag, else its name."""
    found = ecs.clusters.get(cluster)
    for tag in (getattr(found, "tags", None) or []) if found is not None else []:
        if tag.get("key") == "jitsi:project" and tag.get("value"):
            return str(tag["value"])
    return cluster.removesuffix("-cluster")


def _pems(ecs: Any, cluster: str) -> tuple[str, str] | None:
    """The project's stored certificate and key; another project's never stand in."""
    ssm = get_backend("ssm")[ecs.account_id][ecs.region_name]
    prefix = f"/{_project(ecs, cluster)}"
    chain, key = _secure(ssm, f"{prefix}/{FULLCHAIN}"), _secure(ssm, f"{prefix}/{PRIVKEY}")
    return (chain, key) if chain and key else None


def route(state: EmulatorState, host: str) -> DirectRoute | None:
    """The task a direct-mode name leads to, or None when no record leads to a live task."""
    host = host.lower().rstrip(".")
    with state.lock:
        for ecs in scheduler.backends("ecs"):
            addresses = _a_records(ecs.account_id, host)
            if not addresses:
                continue
            for cluster, tasks in list(ecs.tasks.items()):
                for task in list(tasks.values()):
                    if task.last_status == "STOPPED" or task.desired_status != "RUNNING":
                        continue
                    address = _task_address(ecs, task)
                    if address not in addresses:
                        continue
                    web = [c for c in getattr(task, "containers", []) if c.name == WEB]
                    healthy = (
                        task.last_status == "RUNNING"
                        and bool(web)
                        and all(c.health_status == "HEALTHY" for c in web)
                    )
                    return DirectRoute(task.task_arn, address, _pems(ecs, cluster), healthy)
    return None
