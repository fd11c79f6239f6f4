"""The Jitsi task's containers, read for a person: progress while they start, and
why the task stopped when ECS stopped it.

Pure functions over ``Task`` (filled from ECS's describe_tasks); the start's
"containers healthy" step uses them.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.model import ContainerState, Task

# stoppedReason of tasks stopped on purpose (a scale-down, a stop or a new deployment):
# nothing went wrong with them.
_ON_PURPOSE = (
    "Scaling activity initiated by",
    "Task stopped by user",
    "Deployment",
    "ECS is performing maintenance",
)


def healthy(task: Task) -> bool:
    """ECS says every essential container with a health check passes it."""
    return task.health == "HEALTHY"


def progress(task: Task) -> str:
    """Short, stable summary: ``3/5 containers healthy (waiting: jvb, participants)``.

    ECS does not say which containers have no health check (they stay UNKNOWN), so
    while waiting they are listed too; once the task is HEALTHY only the count is.
    """
    live = [c for c in task.containers if c.last_status != "STOPPED"]
    if not live:
        return f"task {task.last_status.lower()}"
    ok = [c.name for c in live if c.health == "HEALTHY"]
    if task.health == "HEALTHY":
        return f"{len(ok)} containers healthy"
    waiting = [c.name for c in live if c.health != "HEALTHY"]
    return f"{len(ok)}/{len(live)} containers healthy (waiting: {', '.join(waiting)})"


def _describe(c: ContainerState) -> str:
    parts = []
    if c.exit_code is not None:
        parts.append(f"exited with code {c.exit_code}")
    if c.reason:
        parts.append(c.reason)
    if c.health == "UNHEALTHY":
        parts.append("health check failing")
    return f"{c.name} " + ", ".join(parts)


def failure(task: Task) -> str | None:
    """Why ECS stopped (or is stopping) the task, with the culprit containers; None if it
    did not, or stopped it on purpose."""
    if task.stopped_reason.startswith(_ON_PURPOSE):
        return None
    stopped = task.desired_status == "STOPPED" or task.last_status == "STOPPED"
    if not (stopped and task.stopped_reason) and task.health != "UNHEALTHY":
        return None
    culprits = [
        _describe(c)
        for c in task.containers
        if (c.exit_code not in (None, 0)) or c.reason or c.health == "UNHEALTHY"
    ]
    reason = task.stopped_reason or "Task failed container health checks"
    return f"{reason} ({'; '.join(culprits)})" if culprits else reason


def first_failure(tasks: Iterable[Task], *, ignore: Iterable[str] = ()) -> str | None:
    """The failure of the first task not in ``ignore`` (ARNs seen before this start)."""
    skip = set(ignore)
    for task in tasks:
        if task.arn in skip:
            continue
        found = failure(task)
        if found:
            return found
    return None
