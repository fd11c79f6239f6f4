"""bot/containers.py: what a person reads about the task's containers."""

from __future__ import annotations

from bot.containers import failure, first_failure, healthy, progress
from bot.model import ContainerState, Task


def task(**kw: object) -> Task:
    base: dict[str, object] = {"arn": "arn:t/1", "last_status": "RUNNING", "private_ip": "10.0.1.5"}
    return Task(**(base | kw))  # type: ignore[arg-type]


def test_progress_names_what_it_waits_for_until_the_task_is_healthy() -> None:
    starting = task(
        containers=(
            ContainerState("prosody", "RUNNING", health="HEALTHY"),
            ContainerState("jvb", "RUNNING"),
        )
    )
    assert progress(starting) == "1/2 containers healthy (waiting: jvb)"
    assert not healthy(starting)
    done = task(
        health="HEALTHY",
        containers=(
            ContainerState("prosody", "RUNNING", health="HEALTHY"),
            ContainerState("participants", "RUNNING"),
        ),
    )
    assert healthy(done) and progress(done) == "1 containers healthy"
    assert progress(task(last_status="PROVISIONING")) == "task provisioning"


def test_failure_names_ecs_reason_and_the_culprit() -> None:
    stopped = task(
        last_status="STOPPED",
        desired_status="STOPPED",
        stopped_reason="Essential container in task exited",
        containers=(
            ContainerState("prosody", "STOPPED", exit_code=1),
            ContainerState("jvb", "STOPPED", exit_code=137, reason="OutOfMemoryError: x"),
            ContainerState("web", "STOPPED"),
        ),
    )
    assert failure(stopped) == (
        "Essential container in task exited "
        "(prosody exited with code 1; jvb exited with code 137, OutOfMemoryError: x)"
    )


def test_no_failure_while_running_or_when_stopped_on_purpose() -> None:
    assert failure(task()) is None
    scaled_in = task(
        last_status="STOPPED",
        desired_status="STOPPED",
        stopped_reason="Scaling activity initiated by (deployment ecs-svc/123)",
    )
    assert failure(scaled_in) is None
    unhealthy = task(
        health="UNHEALTHY", containers=(ContainerState("jicofo", "RUNNING", health="UNHEALTHY"),)
    )
    assert failure(unhealthy) == (
        "Task failed container health checks (jicofo health check failing)"
    )


def test_first_failure_ignores_tasks_stopped_before_this_start() -> None:
    old = task(
        arn="arn:t/old",
        desired_status="STOPPED",
        stopped_reason="Essential container in task exited",
    )
    assert first_failure([old], ignore={"arn:t/old"}) is None
    assert first_failure([old]) == "Essential container in task exited"
