"""A session's measured traffic from CloudWatch (``bot.traffic`` prices it).

NLB mode: ``AWS/NetworkELB`` ProcessedBytes, NewFlowCount and ActiveFlowCount per
hour. The NLB is deleted by the time a stop reads them, but its metrics stay: they
are found by ``list_metrics`` under the ``LoadBalancer`` dimension ``net/<name>/<id>``
(every NLB of this name, so a recreated one is counted too).
Both modes: the stats sidecar's ``JitsiChatops/NetworkTxBytes`` and ``NetworkRxBytes``
(dimension ``Project``), and ``AWS/Logs`` IncomingBytes of the project's log group.

CloudWatch publishes with a delay of a minute or more: the session's last minutes
may be missing from a reading taken at the stop (docs/costs.md says so).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from bot.config import Settings
from bot.model import IngressKind
from bot.traffic import TrafficHour, TrafficReading
from infra.aws.naming import log_group, nlb_name
from infra.aws.session import AwsClients
from infra.participants_metric import (
    METRIC,
    NAMESPACE,
    PROJECT_DIMENSION,
    RECEIVED_METRIC,
    SENT_METRIC,
)

log = logging.getLogger(__name__)
NLB_NAMESPACE = "AWS/NetworkELB"
HOUR = 3600


class CloudWatchTraffic:
    def __init__(self, settings: Settings, clients: AwsClients) -> None:
        self.settings = settings
        self.clients = clients

    def session_traffic(self, started_at: float, ended_at: float) -> TrafficReading | None:
        try:
            return self._read(started_at, ended_at)
        except (ClientError, BotoCoreError) as exc:
            log.warning("traffic unreadable: %s", exc)
            return None

    def _read(self, started_at: float, ended_at: float) -> TrafficReading:
        cw = self.clients.client("cloudwatch")
        # Whole clock hours around the session: NLCU bills per hour, and a datapoint
        # is filed at the start of its minute.
        start = datetime.fromtimestamp(started_at - started_at % HOUR, UTC)
        end = datetime.fromtimestamp(ended_at, UTC) + timedelta(minutes=1)
        hours: tuple[TrafficHour, ...] = ()
        zones = 0
        if self.settings.ingress is not IngressKind.DIRECT:
            zones = self.settings.nlb_availability_zones
            hours = self._nlb_hours(cw, start, end)
        project = [{"Name": PROJECT_DIMENSION, "Value": self.settings.project_name}]
        sent = _total(_sums(cw, NAMESPACE, SENT_METRIC, project, start, end, HOUR, "Sum"))
        received = _total(_sums(cw, NAMESPACE, RECEIVED_METRIC, project, start, end, HOUR, "Sum"))
        group = [{"Name": "LogGroupName", "Value": log_group(self.settings)}]
        logs = _total(_sums(cw, "AWS/Logs", "IncomingBytes", group, start, end, HOUR, "Sum"))
        # One Participants datapoint a minute: their sum is participant-minutes.
        people = _total(_sums(cw, NAMESPACE, METRIC, project, start, end, HOUR, "Sum")) / 60.0
        return TrafficReading(hours, sent, received, logs, zones, people)

    def _nlb_hours(self, cw: Any, start: datetime, end: datetime) -> tuple[TrafficHour, ...]:
        prefix = f"net/{nlb_name(self.settings)}/"
        names: set[str] = set()
        for page in cw.get_paginator("list_metrics").paginate(
            Namespace=NLB_NAMESPACE, MetricName="ProcessedBytes"
        ):
            for metric in page.get("Metrics", []):
                for dim in metric.get("Dimensions", []):
                    if dim.get("Name") == "LoadBalancer" and str(dim["Value"]).startswith(prefix):
                        names.add(str(dim["Value"]))
        by_hour: dict[datetime, list[float]] = {}
        for name in sorted(names):
            dims = [{"Name": "LoadBalancer", "Value": name}]
            for stat_name, index, statistic in (
                ("ProcessedBytes", 0, "Sum"),
                ("NewFlowCount", 1, "Sum"),
                ("ActiveFlowCount", 2, "Maximum"),
            ):
                for at, value in _sums(
                    cw, NLB_NAMESPACE, stat_name, dims, start, end, HOUR, statistic
                ).items():
                    row = by_hour.setdefault(at, [0.0, 0.0, 0.0])
                    row[index] = max(row[index], value) if index == 2 else row[index] + value
        return tuple(TrafficHour(*by_hour[at]) for at in sorted(by_hour))


def _sums(
    cw: Any,
    namespace: str,
    metric: str,
    dimensions: list[dict[str, str]],
    start: datetime,
    end: datetime,
    period: int,
    statistic: str,
) -> dict[datetime, float]:
    resp = cw.get_metric_statistics(
        Namespace=namespace,
        MetricName=metric,
        Dimensions=dimensions,
        StartTime=start,
        EndTime=end,
        Period=period,
        Statistics=[statistic],
    )
    return {p["Timestamp"]: float(p.get(statistic, 0.0)) for p in resp.get("Datapoints", [])}


def _total(points: dict[datetime, float]) -> float:
    return sum(points.values())
