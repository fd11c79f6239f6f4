"""The task's containers while a start waits on them: a progress note, and a failure
worded for people when ECS stopped the task. Pure."""

from __future__ import annotations

from collections.abc import Sequence

from bot.errors import CloudError
from bot.model import Task


def containers_note(tasks: Sequence[Task]) -> str:
    """A short, stable note on the containers' health (one WAITING event per change)."""
    if not tasks:
        return "no task yet"
    task = tasks[0]
    healthy = sorted(c.name for c in task.containers if c.health == "HEALTHY")
    note = f"task {task.last_status.lower()}, health {task.health.lower()}"
    return f"{note}; healthy: {', '.join(healthy)}" if healthy else note


def containers_ready(tasks: Sequence[Task]) -> bool:
    """True once a running task is HEALTHY (ECS: every essential container with a
    health check is); raises when the task stopped or went UNHEALTHY, since ECS would
    start another from the same definition, which would fail the same way."""
    for task in tasks:
        if task.last_status == "STOPPED" or task.desired_status == "STOPPED":
            raise CloudError(_stopped_message(task), _STOPPED_HINT)
        if task.health == "UNHEALTHY":
            sick = sorted(c.name for c in task.containers if c.health == "UNHEALTHY")
            raise CloudError(
                f"The Jitsi task's health check failed ({', '.join(sick) or 'task'}).",
                _STOPPED_HINT,
            )
    return any(t.last_status == "RUNNING" and t.health == "HEALTHY" for t in tasks)


_STOPPED_HINT = "The container logs (CloudWatch Logs group of the task) say why."


def _stopped_message(task: Task) -> str:
    reason = task.stopped_reason or "no reason given"
    exited = [
        f"{c.name} (exit {c.exit_code}{': ' + c.reason if c.reason else ''})"
        for c in task.containers
        if c.last_status == "STOPPED" and (c.exit_code not in (None, 0) or c.reason)
    ]
    detail = f"; exited: {', '.join(exited)}" if exited else ""
    return f"The Jitsi task stopped while starting: {reason}{detail}."
