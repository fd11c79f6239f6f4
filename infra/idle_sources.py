"""``ParticipantSource`` implementations: Jicofo ``/stats``, JVB stats, the NLB's metrics.

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
    settings: Settings, clock: Clock, nlb: NlbIngress | None = None
) -> ParticipantSource:
    """The configured source; ``auto``: Jicofo if its URL is set, else JVB, else the NLB's
    CloudWatch metrics (``nlb`` None: no NLB to read them from)."""
    idle = settings.idle
    kind = idle.source
    if kind is IdleSource.AUTO:
        kind = (
            IdleSource.JICOFO
            if idle.jicofo_url
            else IdleSource.JVB
            if idle.jvb_url
            else IdleSource.CLOUDWATCH
        )
    if kind is IdleSource.JICOFO and idle.jicofo_url:
        return HttpStatsSource("jicofo", idle.jicofo_url, idle.source_timeout_seconds)
    if kind is IdleSource.JVB and idle.jvb_url:
        return HttpStatsSource("jvb", idle.jvb_url, idle.source_timeout_seconds)
    if kind in (IdleSource.JICOFO, IdleSource.JVB):
        return _Unconfigured(kind.value)
    if nlb is None:
        return _Unconfigured("cloudwatch")
    return CloudWatchSource(nlb.clients, nlb, clock)


class _Unconfigured:
    def __init__(self, name: str) -> None:
        self.name = name

    def read(self) -> Reading:
        return Reading(None, self.name, f"idle_{self.name}_url is not set")
