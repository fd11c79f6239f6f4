"""CloudWatch Logs' metric extraction from Embedded Metric Format (EMF) log events,
which moto lacks: it stores the events and extracts nothing.

On AWS every log event that is an EMF document becomes metric datapoints in the same
account and region, whatever the log group (no metric filter or log-group setting is
needed; the ``x-amzn-logs-format: json/emf`` header of PutLogEvents is optional); an
event that is not valid EMF stays a plain log line. ``parse`` is that validation, after
AWS's specification (CloudWatch user guide, "Specification: Embedded metric format",
CloudWatch_Embedded_Metric_Format_Specification.html, read 2026-11-30); ``install``
makes moto's PutLogEvents file what it extracts into moto's CloudWatch, so a line the
stats sidecar prints, sent as the awslogs driver sends it, is read back by the worker.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from moto.backends import get_backend
from moto.logs.models import LogsBackend

log = logging.getLogger("infra.emulator")

# CloudWatch's StandardUnit values (the specification refers to them).
UNITS = frozenset(
    {
        "Seconds",
        "Microseconds",
        "Milliseconds",
        "Bytes",
        "Kilobytes",
        "Megabytes",
        "Gigabytes",
        "Terabytes",
        "Bits",
        "Kilobits",
        "Megabits",
        "Gigabits",
        "Terabits",
        "Percent",
        "Count",
        "Bytes/Second",
        "Kilobytes/Second",
        "Megabytes/Second",
        "Gigabytes/Second",
        "Terabytes/Second",
        "Bits/Second",
        "Kilobits/Second",
        "Megabits/Second",
        "Gigabits/Second",
        "Terabits/Second",
        "Count/Second",
        "None",
    }
)
MAX_DIMENSIONS = 30  # per dimension set
MAX_METRICS = 100  # per directive
MAX_VALUES = 100  # per metric member (an array of values)


class EmfError(ValueError):
    """A log event that claims to be EMF (has ``_aws``) but is not valid: no metric."""


@dataclass(frozen=True, slots=True)
class Datum:
    """One metric datapoint CloudWatch extracts from an EMF document."""

    namespace: str
    name: str
    unit: str | None
    values: tuple[float, ...]
    dimensions: tuple[tuple[str, str], ...]
    timestamp_ms: int


def parse(message: str) -> list[Datum]:
    """The datapoints CloudWatch extracts from one log event's message: none for a plain
    line (not a JSON object with ``_aws``); ``EmfError`` for an invalid EMF document."""
    try:
        root = json.loads(message)
    except ValueError:
        return []
    if not isinstance(root, dict) or "_aws" not in root:
        return []
    meta = root["_aws"]
    if not isinstance(meta, dict):
        raise EmfError("_aws is not an object")
    stamp = meta.get("Timestamp")
    if isinstance(stamp, bool) or not isinstance(stamp, int | float):
        raise EmfError("_aws.Timestamp must be a number (milliseconds since the epoch)")
    directives = meta.get("CloudWatchMetrics")
    if not isinstance(directives, list):
        raise EmfError("_aws.CloudWatchMetrics must be an array")
    out: list[Datum] = []
    for directive in directives:
        out.extend(_directive(root, directive, int(stamp)))
    return out


def _directive(root: dict[str, Any], directive: Any, stamp: int) -> list[Datum]:
    if not isinstance(directive, dict):
        raise EmfError("a MetricDirective must be an object")
    namespace = directive.get("Namespace")
    if not isinstance(namespace, str) or not namespace:
        raise EmfError("MetricDirective.Namespace must be a non-empty string")
    sets = directive.get("Dimensions")
    metrics = directive.get("Metrics")
    if not isinstance(sets, list) or not isinstance(metrics, list):
        raise EmfError("MetricDirective needs Dimensions and Metrics arrays")
    if len(metrics) > MAX_METRICS:
        raise EmfError(f"more than {MAX_METRICS} metrics in one directive")
    dimension_sets = [_dimension_set(root, s) for s in sets] or [()]
    out = []
    for metric in metrics:
        name, unit = _definition(metric)
        values = _values(root, name)
        for dims in dimension_sets:
            out.append(Datum(namespace, name, unit, values, dims, stamp))
    return out


def _dimension_set(root: dict[str, Any], names: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(names, list) or len(names) > MAX_DIMENSIONS:
        raise EmfError(f"a DimensionSet must be an array of at most {MAX_DIMENSIONS} names")
    out = []
    for name in names:
        value = root.get(name) if isinstance(name, str) else None
        if not isinstance(value, str):
            raise EmfError(f"dimension {name!r} must name a string member of the root")
        out.append((name, value))
    return tuple(out)


def _definition(metric: Any) -> tuple[str, str | None]:
    if not isinstance(metric, dict) or not isinstance(metric.get("Name"), str):
        raise EmfError("a MetricDefinition needs a Name")
    unit = metric.get("Unit")
    if unit is not None and unit not in UNITS:
        raise EmfError(f"unit {unit!r} of {metric['Name']} is not a CloudWatch unit")
    if metric.get("StorageResolution", 60) not in (1, 60):
        raise EmfError("StorageResolution must be 1 or 60")
    return str(metric["Name"]), unit


def _values(root: dict[str, Any], name: str) -> tuple[float, ...]:
    value = root.get(name)
    values = value if isinstance(value, list) else [value]
    if not values or len(values) > MAX_VALUES:
        raise EmfError(f"metric {name} needs 1 to {MAX_VALUES} values")
    out: list[float] = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            raise EmfError(f"metric {name} must name a number (or numbers) of the root")
        out.append(float(v))
    return tuple(out)


def file(cloudwatch: Any, data: list[Datum]) -> None:
    """Put extracted datapoints into a moto CloudWatch backend, at their own timestamps."""
    for d in data:
        when = datetime.fromtimestamp(d.timestamp_ms / 1000, UTC).replace(tzinfo=None)
        datum: dict[str, Any] = {
            "MetricName": d.name,
            "Dimensions": [{"Name": k, "Value": v} for k, v in d.dimensions],
            "Values": list(d.values),
            # moto compares naive UTC datetimes, as its own utcnow() makes.
            "Timestamp": when,
        }
        if d.unit:
            datum["Unit"] = d.unit
        cloudwatch.put_metric_data(d.namespace, [datum])


_installed = False


def install() -> None:
    """Patch moto's PutLogEvents (once per process) to extract EMF as CloudWatch Logs does."""
    global _installed
    if _installed:
        return
    _installed = True
    original: Callable[..., Any] = LogsBackend.put_log_events

    def put_log_events(
        self: LogsBackend, log_group_name: str, log_stream_name: str, log_events: Any
    ) -> Any:
        result = original(self, log_group_name, log_stream_name, log_events)
        cloudwatch = get_backend("cloudwatch")[self.account_id][self.region_name]
        for event in log_events:
            try:
                data = parse(str(event.get("message", "")))
            except EmfError as exc:
                # AWS counts these in AWS/Logs EMFValidationErrors; the line stays a log.
                log.info("log group %s: invalid EMF, no metric: %s", log_group_name, exc)
                continue
            file(cloudwatch, data)
        return result

    LogsBackend.put_log_events = put_log_events  # type: ignore[method-assign]
