"""The Jitsi task's stats sidecar, simulated: every simulated minute, each RUNNING
task of a project publishes Jicofo's participant count as the metric
``JitsiChatops/Participants`` (dimension ``Project``) into moto's CloudWatch, and the
task's network bytes of that minute as ``NetworkTxBytes`` / ``NetworkRxBytes``.

On AWS the sidecar reads Jicofo's /stats on localhost and the task metadata
endpoint's network counters, and prints Embedded Metric Format lines that CloudWatch
turns into the same metrics. Here the count is whatever ``POST
/_emulator/participants`` set (0 until then: an empty meeting); ``null`` makes the
sidecar silent, as a dead sidecar or Jicofo would be; the bytes are what ``POST
/_emulator/traffic`` set. Only the metrics the task's sidecar command really prints
are published (the contract reads them off the command: ``task_contract.emitted``),
and only while that container runs.
"""

from __future__ import annotations

import logging
from typing import Any

from moto.backends import get_backend

from infra.aws.tags import PROJECT
from infra.participants_metric import (
    METRIC,
    NAMESPACE,
    PROJECT_DIMENSION,
    RECEIVED_METRIC,
    SENT_METRIC,
)

from .state import ANY_PROJECT, EmulatorState
from .task_contract import emitted

log = logging.getLogger("infra.emulator")

# However fast the profile runs, one datapoint per task per second at most: moto
# keeps every datapoint and scans them all on each read.
MIN_INTERVAL_SECONDS = 1.0


def interval(state: EmulatorState) -> float:
    """Real seconds between two publications: one simulated minute."""
    return max(60.0 * state.profile.time_scale, MIN_INTERVAL_SECONDS)


def task_project(task: Any) -> str | None:
    """The project a task belongs to: its ``jitsi:project`` tag (propagated from the
    service, as both bootstrap and Terraform set ``propagateTags=SERVICE``)."""
    for tag in getattr(task, "tags", None) or []:
        if tag.get("key") == PROJECT:
            return str(tag.get("value"))
    return None


def count_for(state: EmulatorState, project: str) -> int | None:
    """The count the sidecar of ``project`` reports now (None: it says nothing)."""
    if project in state.participants:
        return state.participants[project]
    return state.participants.get(ANY_PROJECT, 0)


def publish(state: EmulatorState, ecs: Any, t: float) -> None:
    """For each RUNNING task due (one simulated minute since its last datapoint),
    put its project's count into CloudWatch. Runs under ``state.lock``."""
    every = interval(state)
    for cluster_tasks in list(ecs.tasks.values()):
        for task in list(cluster_tasks.values()):
            if task.last_status != "RUNNING" or task.desired_status != "RUNNING":
                continue
            last = getattr(task, "_emu_sidecar_at", None)
            if last is not None and t - last < every:
                continue
            task._emu_sidecar_at = t
            project = task_project(task)
            if project is None:
                continue
            printed = emitted(task)
            cloudwatch = get_backend("cloudwatch")[ecs.account_id][ecs.region_name]
            if SENT_METRIC in printed and RECEIVED_METRIC in printed:
                _publish_bytes(state, cloudwatch, project)
            count = count_for(state, project)
            if count is None or METRIC not in printed:
                continue
            cloudwatch.put_metric_data(
                NAMESPACE,
                [
                    {
                        "MetricName": METRIC,
                        "Dimensions": [{"Name": PROJECT_DIMENSION, "Value": project}],
                        "Value": float(count),
                        "Unit": "Count",
                    }
                ],
            )
            log.debug("sidecar of task %s: %s %s = %d", task.id, project, METRIC, count)


def _publish_bytes(state: EmulatorState, cloudwatch: Any, project: str) -> None:
    """The task's bytes of the last simulated minute, when a test set them."""
    if project not in state.traffic:
        return
    sent, received = state.traffic[project]
    dims = [{"Name": PROJECT_DIMENSION, "Value": project}]
    cloudwatch.put_metric_data(
        NAMESPACE,
        [
            {"MetricName": SENT_METRIC, "Dimensions": dims, "Value": sent, "Unit": "Bytes"},
            {"MetricName": RECEIVED_METRIC, "Dimensions": dims, "Value": received, "Unit": "Bytes"},
        ],
    )
