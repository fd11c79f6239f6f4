"""The deployment's counters and histograms, kept in Redis beside the queue.

Why Redis and not each process's memory: the counts are made in processes that do
not live long enough to be scraped. A job runs in a work horse that RQ forks and
that exits when the job ends; a command typed with `jitsi-bot say` runs in a process
of its own; several workers may share one queue. So every process adds to one set
of hashes (``Keys.metrics_counters``, ``Keys.metrics_histograms``) and whichever
process serves /metrics reads them when Prometheus scrapes (``infra.metrics_http``).
prometheus-client's multiprocess mode was the other candidate: it keeps a file per
process id and metric, and a worker forks a new horse per job, so the directory
grows by a few files per job for ever and the scrape reads them all.

Recording never fails the work it counts: a short-timeout client of its own, and a
Redis error loses the count (said once at debug level), never the job or command.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import redis
from redis.exceptions import RedisError

from bot.commands import command_of
from bot.events import Event, EventKind
from bot.model import Actor
from infra.audit_log import RedisAuditLog
from infra.events import RedisEventSink
from infra.keys import Keys

log = logging.getLogger("jitsi.metrics")


@dataclass(frozen=True, slots=True)
class Spec:
    """One metric: its help text, label names and (histograms) bucket bounds."""

    help: str
    labels: tuple[str, ...]
    buckets: tuple[float, ...] = ()


# Durations: a stop takes tens of seconds, a start one to fifteen minutes.
_JOB_BUCKETS = (5.0, 10.0, 30.0, 60.0, 120.0, 180.0, 300.0, 600.0, 900.0, 1800.0)
_STEP_BUCKETS = (0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)

COUNTERS: dict[str, Spec] = {
    "jitsi_commands": Spec(
        "Chat commands handled, by command and outcome (info, job, joined, usage, denied).",
        ("command", "outcome"),
    ),
    "jitsi_jobs": Spec(
        "Lifecycle jobs ended, by kind and outcome (ok, failed).", ("kind", "outcome")
    ),
    "jitsi_aws_calls": Spec("AWS API calls made, by service.Operation.", ("operation",)),
    "jitsi_aws_errors": Spec(
        "AWS API calls that failed after botocore's retries, by service.Operation and error "
        "code (the AWS code, or the exception name when no answer came).",
        ("operation", "code"),
    ),
}

HISTOGRAMS: dict[str, Spec] = {
    "jitsi_job_duration_seconds": Spec(
        "Wall time of a lifecycle job, by kind and outcome.", ("kind", "outcome"), _JOB_BUCKETS
    ),
    "jitsi_step_duration_seconds": Spec(
        "Wall time of one lifecycle step, by step and outcome.", ("step", "outcome"), _STEP_BUCKETS
    ),
    "jitsi_time_to_url_seconds": Spec(
        "From the start command being accepted to the meeting URL being ready.", (), _JOB_BUCKETS
    ),
}

# Command outcomes as the audit log words them -> the label (a bounded set).
_OUTCOMES = {"info": "info", "job": "job", "usage-error": "usage", "denied": "denied"}


def field_name(name: str, labels: Mapping[str, str]) -> str:
    """The hash field of one series: ``name|{"label":"value"}``."""
    return f"{name}|{json.dumps(dict(labels), sort_keys=True, separators=(',', ':'))}"


def metrics_client(dsn: str) -> redis.Redis:
    """A client whose calls give up within about a second: counting must not stall a job
    or a scrape when Redis hangs (the main client waits 30 s)."""
    return redis.Redis.from_url(
        dsn, socket_connect_timeout=1, socket_timeout=1, retry_on_timeout=False
    )


class MetricsRecorder:
    """Adds to the deployment's counters and histograms; ``client`` None records nothing
    (metrics off). Never raises."""

    def __init__(self, client: redis.Redis | None, keys: Keys) -> None:
        self.r = client
        self.keys = keys
        self._failing = False

    @property
    def enabled(self) -> bool:
        return self.r is not None

    def count(
        self, name: str, labels: Mapping[str, str], by: int = 1, pipeline: Any = None
    ) -> None:
        assert name in COUNTERS, name
        self._write(
            pipeline, lambda p: p.hincrby(self.keys.metrics_counters, field_name(name, labels), by)
        )

    def observe(
        self, name: str, labels: Mapping[str, str], value: float, pipeline: Any = None
    ) -> None:
        spec = HISTOGRAMS[name]
        base = field_name(name, labels)
        key = self.keys.metrics_histograms

        def write(p: Any) -> None:
            # Cumulative buckets as Prometheus exposes them: every bound >= value.
            for bound in spec.buckets:
                if value <= bound:
                    p.hincrby(key, f"{base}|{bound!r}", 1)
            p.hincrby(key, f"{base}|+Inf", 1)
            p.hincrby(key, f"{base}|count", 1)
            p.hincrbyfloat(key, f"{base}|sum", value)

        self._write(pipeline, write)

    def _write(self, pipeline: Any, write: Any) -> None:
        if self.r is None:
            return
        if pipeline is not None:  # joins the caller's transaction: counted iff it commits
            write(pipeline)
            return
        try:
            pipe = self.r.pipeline(transaction=False)
            write(pipe)
            pipe.execute()
            self._failing = False
        except (RedisError, OSError) as exc:
            if not self._failing:
                log.debug("metrics: a count was lost (%s)", type(exc).__name__)
            self._failing = True


class MeteredEventSink(RedisEventSink):
    """The job event sink that also derives job and step durations and time to URL from
    the events it writes, so the core stays free of metrics."""

    def __init__(self, client: redis.Redis, keys: Keys, metrics: MetricsRecorder) -> None:
        super().__init__(client, keys)
        self.metrics = metrics

    def emit(self, event: Event, pipeline: redis.client.Pipeline | None = None) -> None:
        super().emit(event, pipeline)
        if self.metrics.enabled:
            self._record(event, pipeline)

    def _record(self, event: Event, pipeline: Any) -> None:
        data = event.data
        outcome = "ok" if data.get("ok", True) else "failed"
        seconds = data.get("seconds")
        if (
            event.kind is EventKind.STEP_FINISHED
            and event.step
            and isinstance(seconds, float | int)
        ):
            labels = {"step": event.step, "outcome": outcome}
            self.metrics.observe("jitsi_step_duration_seconds", labels, float(seconds), pipeline)
        elif event.kind is EventKind.FINISHED:
            labels = {"kind": str(data.get("job_kind") or "unknown"), "outcome": outcome}
            self.metrics.count("jitsi_jobs", labels, pipeline=pipeline)
            if isinstance(seconds, float | int):
                self.metrics.observe("jitsi_job_duration_seconds", labels, float(seconds), pipeline)
        elif event.kind is EventKind.URL_READY:
            accepted = self._accepted_at(event)
            if accepted is not None:
                waited = max(event.at - accepted, 0.0)
                self.metrics.observe("jitsi_time_to_url_seconds", {}, waited, pipeline)

    def _accepted_at(self, event: Event) -> float | None:
        """When the job was accepted: the time of its stream's first event."""
        client = self.metrics.r
        assert client is not None
        try:
            first = client.xrange(self.keys.job_events(event.job_id), count=1)
        except (RedisError, OSError):
            return None
        if not first:
            return None
        raw: dict[Any, Any] = first[0][1] or {}
        fields = {_text(k): _text(v) for k, v in raw.items()}
        try:
            head = Event.from_fields(fields)
        except ValueError:
            return None
        return head.at if head.kind is EventKind.ACCEPTED else None


class MeteredAuditLog(RedisAuditLog):
    """The audit log that also counts each command by its name and outcome."""

    def __init__(
        self,
        client: redis.Redis,
        keys: Keys,
        metrics: MetricsRecorder,
        command_name: str,
        *,
        max_entries: int = 100_000,
        retention_days: float = 0.0,
    ) -> None:
        super().__init__(client, keys, max_entries=max_entries, retention_days=retention_days)
        self.metrics = metrics
        self.command_name = command_name

    def record(
        self, actor: Actor, command: str, outcome: str, seconds: float | None = None
    ) -> None:
        super().record(actor, command, outcome, seconds)
        if not self.metrics.enabled:
            return
        # Labels from a bounded set: a command name the parser knows, never user text.
        name = command_of(command, self.command_name) or "invalid"
        words = outcome.split()
        label = _OUTCOMES.get(words[0], "other") if words else "other"
        if label == "job" and "joined" in words:
            label = "joined"
        self.metrics.count("jitsi_commands", {"command": name, "outcome": label})


class AwsCallMetrics:
    """botocore event handlers that count each API call and each call's final error."""

    def __init__(self, metrics: MetricsRecorder) -> None:
        self.metrics = metrics

    def on_call(self, model: Any, context: Any = None, **_: Any) -> None:
        operation = _operation(model)
        if isinstance(context, dict):  # the same dict reaches after-call-error
            context["jitsi_operation"] = operation
        self.metrics.count("jitsi_aws_calls", {"operation": operation})

    def on_answer(
        self, model: Any, http_response: Any = None, parsed: Any = None, **_: Any
    ) -> None:
        if http_response is None or getattr(http_response, "status_code", 200) < 300:
            return
        error = (parsed or {}).get("Error", {}) if isinstance(parsed, dict) else {}
        code = str(error.get("QueryErrorCode") or error.get("Code") or http_response.status_code)
        self.metrics.count("jitsi_aws_errors", {"operation": _operation(model), "code": code})

    def on_no_answer(self, exception: BaseException, context: Any = None, **_: Any) -> None:
        # after-call-error carries no model: on_call left the operation in the context.
        ctx = context if isinstance(context, dict) else {}
        operation = str(ctx.get("jitsi_operation", "unknown"))
        code = type(exception).__name__
        self.metrics.count("jitsi_aws_errors", {"operation": operation, "code": code})


def _operation(model: Any) -> str:
    return f"{model.service_model.service_name}.{model.name}"


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
