"""The bootstrapped Jitsi task definition changed the way an operator's edit or a
careless upgrade would, for the tests of the emulator's task contract."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bot.config import Settings
from infra.aws import naming

TASK_FIELDS = (
    "family",
    "networkMode",
    "requiresCompatibilities",
    "cpu",
    "memory",
    "executionRoleArn",
    "runtimePlatform",
)
"""What a new revision keeps of the task definition besides its containers."""

Containers = list[dict[str, Any]]


def container(defs: Containers, name: str) -> dict[str, Any]:
    """The container definition called ``name``."""
    return next(c for c in defs if c["name"] == name)


def task_definition(
    ecs: Any, settings: Settings, mutate: Callable[[Containers], None] | None = None
) -> str:
    """The ARN of the bootstrapped task definition or, with ``mutate`` (which changes
    its container definitions in place), of a new revision of it so changed."""
    td = ecs.describe_task_definition(taskDefinition=naming.family(settings))["taskDefinition"]
    if mutate is None:
        return str(td["taskDefinitionArn"])
    defs = td["containerDefinitions"]
    mutate(defs)
    spec = {k: td[k] for k in TASK_FIELDS if k in td}
    registered = ecs.register_task_definition(**spec, containerDefinitions=defs)
    return str(registered["taskDefinition"]["taskDefinitionArn"])
