"""``ParticipantSource`` implementations: Jicofo's count published by the task's
sidecar as a CloudWatch metric (the default), Jicofo ``/stats``, JVB stats, the NLB's metrics.

Every failure (refused, timeout, bad JSON, AWS error) becomes an *unknown*
reading with the reason: the guard never takes silence for an empty room.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from bot.config import Settings
from bot.config_idle import IdleSource
from bot.errors import BotError
from bot.ports import Clock, ParticipantSource
from bot.watch import Reading
from infra.aws.errors import cloud_errors
from infra.aws.nlb import NlbIngress
from infra.aws.session import AwsClients
from infra.participants_metric import METRIC as PARTICIPANTS_METRIC
from infra.participants_metric import NAMESPACE as PARTICIPANTS_NAMESPACE
from infra.participants_metric import PROJECT_DIMENSION

# JVB's Prometheus names changed over releases; any of these is a participant gauge.
_PROM = re.compile(r"^(?:jitsi_)?(?:jvb_)?participants(?:\{[^}]*\})?\s+([0-9.eE+-]+)\s*$")


def _fetch(url: str, timeout: float) -> tuple[str, str]:
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        return resp.headers.get("Content-Type", ""), resp.read(1_000_000).decode("utf-8", "replace")


class HttpStatsSource:
    """Jicofo ``/stats`` or JVB ``/colibri/stats`` (JSON ``participants``) or JVB ``/metrics``."""

    def __init__(self, name: str, url: str, timeout: float) -> None:
        self.name = name
        self.url = url
        self.timeout = timeout

    def read(self) -> Reading:
        try:
            content_type, body = _fetch(self.url, self.timeout)
        except TimeoutError:
            return Reading(None, self.name, f"no answer within {self.timeout:g} s")
        except urllib.error.HTTPError as exc:
            return Reading(None, self.name, f"HTTP {exc.code}")
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            if isinstance(reason, TimeoutError):
                return Reading(None, self.name, f"no answer within {self.timeout:g} s")
            return Reading(None, self.name, f"unreachable ({reason})")
        count = _participants(content_type, body)
        if count is None:
            return Reading(None, self.name, "the answer has no participant count")
        return Reading(count, self.name)


def _participants(content_type: str, body: str) -> int | None:
    text = body.strip()
    if "json" in content_type or text.startswith("{"):
        try:
            data: Any = json.loads(text)
        except json.JSONDecodeError:
            return None
        value = data.get("participants") if isinstance(data, dict) else None
        return int(value) if isinstance(value, int | float) and value >= 0 else None
    for line in text.splitlines():
        match = _PROM.match(line.strip())
        if match:
            return max(int(float(match.group(1))), 0)
    return None


class ParticipantsMetricSource:
    """Jicofo's participant count from the metric the task's sidecar publishes.

    Jicofo counts everyone in a conference, a lone waiter and a 1:1 call included
    (neither reaches the bridge nor the NLB's media metrics). Only a datapoint
    younger than ``max_age`` counts: none means the sidecar, the task or CloudWatch
    is not telling, which is unknown, never idle."""

    name = "jicofo-metric"

    def __init__(
        self,
        clients: AwsClients,
        project: str,
        clock: Clock,
        max_age_minutes: float = 5.0,
        period_seconds: int = 60,
    ) -> None:
        self.clients = clients
        self.project = project
        self.clock = clock
        self.max_age = timedelta(minutes=max_age_minutes)
        self.period = period_seconds

    def read(self) -> Reading:
        now = datetime.fromtimestamp(self.clock.now(), UTC)
        query = {
            "Id": "participants",
            "MetricStat": {
                "Metric": {
                    "Namespace": PARTICIPANTS_NAMESPACE,
                    "MetricName": PARTICIPANTS_METRIC,
                    "Dimensions": [{"Name": PROJECT_DIMENSION, "Value": self.project}],
                },
                "Period": self.period,
                # One datapoint per period from the sidecar; Maximum keeps anyone seen.
                "Stat": "Maximum",
            },
            "ReturnData": True,
        }
        try:
            resp = self.clients.client("cloudwatch").get_metric_data(
                MetricDataQueries=[query],
                StartTime=now - self.max_age,
                EndTime=now + timedelta(seconds=self.period),  # the open period counts
                ScanBy="TimestampDescending",
            )
        except (ClientError, BotoCoreError) as exc:
            return Reading(None, self.name, f"CloudWatch: {_aws_error(exc)}")
        points = [
            (ts, value)
            for result in resp.get("MetricDataResults", [])
            for ts, value in zip(
                result.get("Timestamps", []), result.get("Values", []), strict=False
            )
        ]
        minutes = f"{self.max_age.total_seconds() / 60:g}"
        if not points:
            return Reading(
                None,
                self.name,
                f"no {PARTICIPANTS_METRIC} datapoint in the last {minutes} minutes; "
                "is the task's stats sidecar running?",
            )
        at, value = max(points, key=lambda p: p[0])  # the newest, whatever the order
        age = max((now - at).total_seconds(), 0.0)
        count = max(int(value), 0)
        return Reading(count, self.name, f"{count} in Jicofo {age:.0f} s ago")


def _aws_error(exc: ClientError | BotoCoreError) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code") or type(exc).__name__)
    return type(exc).__name__


class CloudWatchSource:
    """UDP flows through the NLB: media means someone is meeting; no Jitsi port exposed.

    No datapoints at all counts as idle (an NLB without traffic publishes none);
    an AWS error or a missing NLB is unknown."""

    name = "cloudwatch"

    def __init__(
        self,
        clients: AwsClients,
        nlb: NlbIngress,
        clock: Clock,
        window_minutes: float = 5.0,
    ) -> None:
        self.clients = clients
        self.nlb = nlb
        self.clock = clock
        self.window = window_minutes

    def read(self) -> Reading:
        try:
            with cloud_errors(self.nlb.settings, "looking up the load balancer"):
                lb = self.nlb.load_balancer()
        except BotError as exc:
            return Reading(None, self.name, str(exc))
        if lb is None:
            return Reading(None, self.name, "the load balancer does not exist")
        dimension = lb.metric_dimension
        now = datetime.fromtimestamp(self.clock.now(), UTC)
        start = now - timedelta(minutes=self.window)
        end = now + timedelta(minutes=1)  # the current, still open minute counts too
        try:
            flows = self._stat("ActiveFlowCount_UDP", "Maximum", dimension, start, end)
            traffic = self._stat("ProcessedBytes_UDP", "Sum", dimension, start, end)
        except (ClientError, BotoCoreError) as exc:
            return Reading(None, self.name, f"CloudWatch: {type(exc).__name__}")
        # A lone participant still streams to the bridge (ICE keepalives, media).
        count = int(flows) if flows > 0 else (1 if traffic > 0 else 0)
        return Reading(count, self.name, f"flows {flows:g}, bytes {traffic:g}")

    def _stat(
        self, metric: str, statistic: str, dimension: str, start: datetime, end: datetime
    ) -> float:
        resp = self.clients.client("cloudwatch").get_metric_statistics(
            Namespace="AWS/NetworkELB",
            MetricName=metric,
            Dimensions=[{"Name": "LoadBalancer", "Value": dimension}],
            StartTime=start,
            EndTime=end,
            Period=60,
            Statistics=[statistic],
        )
        values = [float(p.get(statistic, 0.0)) for p in resp.get("Datapoints", [])]
        if not values:
            return 0.0
        return max(values) if statistic == "Maximum" else sum(values)


def build_source(
    settings: Settings,
    clock: Clock,
    nlb: NlbIngress | None = None,
    clients: AwsClients | None = None,
) -> ParticipantSource:
    """The configured source; ``auto``: Jicofo if its URL is set, else JVB, else Jicofo's
    count from the sidecar's CloudWatch metric, which works in both ingress modes
    (``clients``, else the NLB's; neither: given parts, no AWS clients). ``cloudwatch``
    reads the NLB's own metrics: none in direct mode."""
    idle = settings.idle
    kind = idle.source
    if kind is IdleSource.AUTO:
        kind = (
            IdleSource.JICOFO
            if idle.jicofo_url
            else IdleSource.JVB
            if idle.jvb_url
            else IdleSource.JICOFO_METRIC
        )
    if kind is IdleSource.JICOFO and idle.jicofo_url:
        return HttpStatsSource("jicofo", idle.jicofo_url, idle.source_timeout_seconds)
    if kind is IdleSource.JVB and idle.jvb_url:
        return HttpStatsSource("jvb", idle.jvb_url, idle.source_timeout_seconds)
    if kind in (IdleSource.JICOFO, IdleSource.JVB):
        return _Unconfigured(kind.value)
    aws = clients if clients is not None else nlb.clients if nlb is not None else None
    if aws is None:
        return _Unconfigured(kind.value, "no AWS clients (the platform's parts were given)")
    if kind is IdleSource.JICOFO_METRIC:
        return ParticipantsMetricSource(
            aws,
            settings.project_name,
            clock,
            idle.metric_max_age_minutes,
            idle.metric_period_seconds,
        )
    if nlb is None:
        return _Unconfigured(kind.value, "no load balancer in direct mode: use jicofo-metric")
    return CloudWatchSource(nlb.clients, nlb, clock)


class _Unconfigured:
    def __init__(self, name: str, why: str = "") -> None:
        self.name = name
        self.why = why or f"idle_{name}_url is not set"

    def read(self) -> Reading:
        return Reading(None, self.name, self.why)
