"""ECS deployments as the service scheduler runs them, where moto does nothing: a
forced new deployment replaces the service's tasks (so each reads its secrets and
parameters again), and every task carries ``createdAt``.

The project's service allows one task at a time (``maximumPercent`` 100,
``minimumHealthyPercent`` 0): ECS stops the old task first, then starts the new one.
"""

from __future__ import annotations

import functools
import logging
from datetime import UTC, datetime
from typing import Any

from moto.ecs import models as ecs

log = logging.getLogger("infra.emulator")


def install() -> None:
    """Patch moto's ECS models (call once per process, after ``patches`` made its own)."""
    task_init = ecs.Task.__init__

    @functools.wraps(task_init)
    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        task_init(self, *args, **kwargs)
        # moto's tasks have no createdAt; the bot compares it with when the
        # advertised addresses were published.
        self.created_at = datetime.now(UTC)

    ecs.Task.__init__ = init  # type: ignore[method-assign]

    backend = ecs.EC2ContainerServiceBackend
    update_service = backend.update_service

    @functools.wraps(update_service)
    def update(self: Any, service_properties: dict[str, Any]) -> Any:
        force = bool(service_properties.get("force_new_deployment"))
        service = update_service(self, service_properties)
        if force:
            _replace_tasks(self, service)
        return service

    backend.update_service = update  # type: ignore[method-assign]


def _replace_tasks(backend: Any, service: Any) -> None:
    """Stop the service's live tasks; the scheduler's next tick starts their successors."""
    group = f"service:{service.name}"
    deployment = service.deployments[0]["id"] if service.deployments else "ecs-svc/0"
    for task in list(backend.tasks.get(service.cluster_name, {}).values()):
        if task.group != group or task.desired_status != "RUNNING":
            continue
        log.info("service %s: new deployment, stopping task %s", service.name, task.id)
        backend.stop_task(
            service.cluster_name,
            task.task_arn,
            f"Scaling activity initiated by (deployment {deployment})",
        )
