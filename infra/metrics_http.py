"""Prometheus /metrics: the deployment's counts (``infra.metrics``) and the platform's
state, read from Redis when Prometheus scrapes, served by prometheus-client.

Every process that serves /metrics (serve, worker, each worker of several) answers
with the same deployment-wide series: scrape one of them, or aggregate with max()
rather than sum() (docs/operations.md).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import redis
from prometheus_client import CollectorRegistry, start_http_server
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from redis.exceptions import RedisError

from bot.state import DesiredState, PlatformState, PlatformStatus
from bot.watch import SessionWatch
from infra.keys import Keys
from infra.metrics import COUNTERS, HISTOGRAMS


@dataclass(frozen=True, slots=True)
class PlatformView:
    """What a scrape reads about the platform, each from Redis (short timeouts)."""

    status: Callable[[], PlatformStatus]
    watch: Callable[[], SessionWatch | None]
    leftovers: Callable[[], bool]
    running_hour: float | None  # None: prices unknown, so no cost series at all


class DeploymentCollector(Collector):
    """Yields the stored counters and histograms and the platform gauges; when Redis
    does not answer, only ``jitsi_redis_up 0`` (a scrape never hangs on it)."""

    def __init__(self, client: redis.Redis, keys: Keys, view: PlatformView) -> None:
        self.r = client
        self.keys = keys
        self.view = view

    def collect(self) -> Iterator[Metric]:
        up = GaugeMetricFamily(
            "jitsi_redis_up", "1 when this process reached Redis for the scrape."
        )
        try:
            counters = _decoded(self.r.hgetall(self.keys.metrics_counters))
            histograms = _decoded(self.r.hgetall(self.keys.metrics_histograms))
            status = self.view.status()
            watch = self.view.watch()
            leftovers = self.view.leftovers()
        except (RedisError, OSError):
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up
        yield from _counters(counters)
        yield from _histograms(histograms)
        yield from self._platform(status, watch, leftovers)

    def _platform(
        self, status: PlatformStatus, watch: SessionWatch | None, leftovers: bool
    ) -> Iterator[Metric]:
        state = GaugeMetricFamily(
            "jitsi_platform_state", "1 for the platform's recorded state.", labels=["state"]
        )
        for s in PlatformState:
            state.add_metric([s.value], 1 if status.state is s else 0)
        yield state
        desired = GaugeMetricFamily(
            "jitsi_platform_desired", "1 for the state last asked for.", labels=["state"]
        )
        for d in DesiredState:
            desired.add_metric([d.value], 1 if status.desired is d else 0)
        yield desired
        if self.view.running_hour is not None:  # unknown prices: no series, never a fake 0
            billing = status.state is not PlatformState.STOPPED or leftovers
            cost = GaugeMetricFamily(
                "jitsi_running_cost_dollars_per_hour",
                "What the platform costs per hour now: the running rate while it is not "
                "stopped (or leftovers bill), else 0.",
            )
            cost.add_metric([], self.view.running_hour if billing else 0.0)
            yield cost
        left = GaugeMetricFamily(
            "jitsi_leftovers_billing",
            "1 while the reconciler saw something billable with the platform meant to be stopped.",
        )
        left.add_metric([], 1 if leftovers else 0)
        yield left
        if watch is not None and watch.last_participants is not None:
            people = GaugeMetricFamily(
                "jitsi_participants", "Participants at the idle monitor's last reading."
            )
            people.add_metric([], watch.last_participants)
            yield people
            if watch.last_read_at is not None:
                read = GaugeMetricFamily(
                    "jitsi_participants_read_timestamp_seconds",
                    "When the idle monitor last read the participant count (Unix time).",
                )
                read.add_metric([], watch.last_read_at)
                yield read


def _decoded(raw: dict[Any, Any]) -> dict[str, float]:
    return {(k.decode() if isinstance(k, bytes) else str(k)): float(v) for k, v in raw.items()}


def _split(field: str) -> tuple[str, dict[str, str], str]:
    """``name|labels`` or ``name|labels|suffix`` -> (name, labels, suffix)."""
    name, rest = field.split("|", 1)
    end = rest.rfind("}")
    labels = json.loads(rest[: end + 1])
    return name, labels, rest[end + 2 :]


def _counters(values: dict[str, float]) -> Iterator[Metric]:
    series: dict[str, list[tuple[dict[str, str], float]]] = {name: [] for name in COUNTERS}
    for field, value in values.items():
        name, labels, _ = _split(field)
        if name in series:
            series[name].append((labels, value))
    for name, spec in COUNTERS.items():
        family = CounterMetricFamily(name, spec.help, labels=list(spec.labels))
        for labels, value in sorted(series[name], key=lambda x: sorted(x[0].items())):
            family.add_metric([labels.get(k, "") for k in spec.labels], value)
        yield family


def _histograms(values: dict[str, float]) -> Iterator[Metric]:
    grouped: dict[tuple[str, str], dict[str, float]] = {}
    for field, value in values.items():
        name, labels, suffix = _split(field)
        key = (name, json.dumps(labels, sort_keys=True))
        grouped.setdefault(key, {})[suffix] = value
    for name, spec in HISTOGRAMS.items():
        family = HistogramMetricFamily(name, spec.help, labels=list(spec.labels))
        for (hname, labels_json), parts in sorted(grouped.items()):
            if hname != name:
                continue
            labels = json.loads(labels_json)
            buckets = [(repr(b), parts.get(repr(b), 0.0)) for b in spec.buckets]
            buckets.append(("+Inf", parts.get("+Inf", 0.0)))
            family.add_metric(
                [labels.get(k, "") for k in spec.labels], buckets, parts.get("sum", 0.0)
            )
        yield family


def serve_metrics(host: str, port: int, collector: Collector) -> Callable[[], None]:
    """Serve /metrics on ``host:port`` from a daemon thread; returns what stops it."""
    registry = CollectorRegistry()
    registry.register(collector)
    server, thread = start_http_server(port, addr=host, registry=registry)

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    return stop
