"""A start whose task would not start on AWS fails the way AWS fails it, and rolls back.

The task definition is broken on purpose after the bootstrap (as an operator's edit or
a careless upgrade would); the strict emulator applies docker-jitsi-meet's contract,
so `jitsi-bot say start` must end with ECS's stopped reason and the culprit container,
and leave nothing billable behind.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.e2e.conftest import Platform
from tests.support.task_definitions import Containers, container, task_definition

pytestmark = pytest.mark.e2e


def _no_jvb_password(defs: Containers) -> None:
    jvb = container(defs, "jvb")
    jvb["secrets"] = [s for s in jvb["secrets"] if s["name"] != "JVB_AUTH_PASSWORD"]


def _jicofo_default_heap(defs: Containers) -> None:
    # Without JICOFO_MAX_MEMORY jicofo.sh uses -Xmx3072m: more than jicofo's 1024 MiB.
    jicofo = container(defs, "jicofo")
    jicofo["environment"] = [e for e in jicofo["environment"] if e["name"] != "JICOFO_MAX_MEMORY"]


def _break(p: Platform, mutate: Callable[[Containers], None]) -> None:
    """The service points at a revision of its task definition changed by ``mutate``."""
    p.clients.ecs.update_service(
        cluster=p.settings.cluster_name,
        service=p.settings.service_name,
        taskDefinition=task_definition(p.clients.ecs, p.settings, mutate),
    )


@pytest.mark.parametrize(
    ("mutate", "culprit"),
    [
        (_no_jvb_password, "jvb exited with code 1"),
        (_jicofo_default_heap, "jicofo exited with code 137, OutOfMemoryError"),
    ],
    ids=["missing-password", "heap-larger-than-container"],
)
def test_a_broken_task_fails_the_start_with_ecs_reason_and_rolls_back(
    platform: Platform, mutate: Callable[[Containers], None], culprit: str
) -> None:
    _break(platform, mutate)
    platform.start_worker()
    result = platform.say("start")
    assert result.code == 1
    error = result.events("error")[0]["message"]
    assert "The Jitsi task stopped: Essential container in task exited" in error
    assert culprit in error
    assert result.events("audit")[0]["data"]["clean"] is True
    service = platform.clients.ecs.describe_services(
        cluster=platform.settings.cluster_name, services=[platform.settings.service_name]
    )["services"][0]
    assert service["desiredCount"] == 0
    assert platform.cli("infra", "audit").code == 0
