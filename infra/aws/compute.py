"""The ECS service as the platform's ``Compute``: its desired count and its tasks."""

from __future__ import annotations

from datetime import datetime

from bot.config import Settings
from bot.model import ServiceState, Task
from infra.aws.ecs_tasks import (
    describe_service_tasks,
    eni_public_ips,
    task_containers,
    task_eni_id,
    task_private_ip,
)
from infra.aws.errors import translated
from infra.aws.network import active_service
from infra.aws.session import AwsClients


def _epoch(value: object) -> float | None:
    """boto3 parses ECS timestamps into datetimes."""
    return value.timestamp() if isinstance(value, datetime) else None


class EcsCompute:
    def __init__(self, settings: Settings, clients: AwsClients) -> None:
        self.settings = settings
        self.clients = clients

    @translated("scaling the ECS service")
    def scale(self, count: int) -> None:
        self.clients.ecs.update_service(
            cluster=self.settings.cluster_name,
            service=self.settings.service_name,
            desiredCount=count,
        )

    @translated("redeploying the ECS service")
    def redeploy(self) -> None:
        self.clients.ecs.update_service(
            cluster=self.settings.cluster_name,
            service=self.settings.service_name,
            forceNewDeployment=True,
        )

    @translated("reading the ECS service")
    def service(self) -> ServiceState | None:
        found = active_service(self.settings, self.clients)
        if found is None:
            return None
        return ServiceState(
            desired_count=int(found.get("desiredCount", 0)),
            running_count=int(found.get("runningCount", 0)),
            pending_count=int(found.get("pendingCount", 0)),
        )

    @translated("listing the service's tasks")
    def tasks(self, *, include_stopped: bool = False) -> list[Task]:
        """The service's tasks that should run (stopping/stopped ones too if asked)."""
        statuses = ("RUNNING", "STOPPED") if include_stopped else ("RUNNING",)
        raw = describe_service_tasks(self.clients, self.settings, statuses)
        public = eni_public_ips(self.clients, [eni for eni in map(task_eni_id, raw) if eni])
        out = []
        for task in raw:
            eni = task_eni_id(task)
            out.append(
                Task(
                    arn=task["taskArn"],
                    last_status=task.get("lastStatus", "PROVISIONING"),
                    private_ip=task_private_ip(task),
                    desired_status=task.get("desiredStatus", "RUNNING"),
                    public_ip=public.get(eni) if eni else None,
                    created_at=_epoch(task.get("createdAt")),
                    health=task.get("healthStatus", "UNKNOWN"),
                    containers=task_containers(task),
                    stopped_reason=task.get("stoppedReason", ""),
                )
            )
        return out
