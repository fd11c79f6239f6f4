"""What exists while the platform is stopped, measured for the idle cost (``bot.cost``):
the project's bucket (CloudWatch's daily ``AWS/S3 BucketSizeBytes``, else a listing),
its log group's stored bytes and its SSM parameters.

Read at most once an hour per process: the sizes change slowly, and ``cost``, the
start and stop messages all ask for the idle cost.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from bot.config import Settings
from bot.cost import IdleSizes
from bot.ports import Clock
from infra.aws.naming import log_group
from infra.aws.session import AwsClients

log = logging.getLogger(__name__)
CACHE_SECONDS = 3600.0
LISTING_LIMIT = 10  # pages of 1,000 keys; a bigger bucket keeps the metric's answer


def bucket_name(settings: Settings, account: str) -> str:
    """The bucket bootstrap makes (infra/aws/bootstrap.py ``_bucket``)."""
    return f"{settings.project_name}-recordings-{account}"


def measure(settings: Settings, clients: AwsClients, now: float) -> IdleSizes:
    bucket: float | None = None
    source = ""
    try:
        account = str(clients.client("sts").get_caller_identity()["Account"])
        name = bucket_name(settings, account)
        bucket = _metric_size(clients.client("cloudwatch"), name, now)
        source = "CloudWatch BucketSizeBytes"
        if bucket is None:  # the metric is daily: a new bucket has none yet
            bucket, source = _listed_size(clients.client("s3"), name), "a listing"
    except (ClientError, BotoCoreError) as exc:
        log.info("bucket size unreadable: %s", exc)
    logs: float | None = None
    try:
        groups = clients.client("logs").describe_log_groups(logGroupNamePrefix=log_group(settings))
        logs = float(sum(g.get("storedBytes", 0) for g in groups.get("logGroups", [])))
    except (ClientError, BotoCoreError) as exc:
        log.info("log storage unreadable: %s", exc)
    parameters: int | None = None
    try:
        pages = clients.client("ssm").get_paginator("get_parameters_by_path")
        parameters = sum(
            len(page.get("Parameters", []))
            for page in pages.paginate(Path=f"/{settings.project_name}", Recursive=True)
        )
    except (ClientError, BotoCoreError) as exc:
        log.info("parameters unreadable: %s", exc)
    return IdleSizes(bucket, source, logs, parameters)


def _metric_size(cw: Any, bucket: str, now: float) -> float | None:
    end = datetime.fromtimestamp(now, UTC)
    resp = cw.get_metric_statistics(
        Namespace="AWS/S3",
        MetricName="BucketSizeBytes",
        Dimensions=[
            {"Name": "BucketName", "Value": bucket},
            {"Name": "StorageType", "Value": "StandardStorage"},
        ],
        StartTime=end - timedelta(days=3),
        EndTime=end,
        Period=86400,
        Statistics=["Average"],
    )
    points = sorted(resp.get("Datapoints", []), key=lambda p: p["Timestamp"])
    return float(points[-1]["Average"]) if points else None


def _listed_size(s3: Any, bucket: str) -> float | None:
    total = 0.0
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    for index, page in enumerate(pages):
        if index >= LISTING_LIMIT:
            return None
        total += sum(float(o.get("Size", 0)) for o in page.get("Contents", []))
    return total


class CachedIdleSizes:
    """``measure`` at most once per ``CACHE_SECONDS``; thread-safe (the worker's threads)."""

    def __init__(self, settings: Settings, clients: AwsClients, clock: Clock) -> None:
        self.settings = settings
        self.clients = clients
        self.clock = clock
        self._lock = threading.Lock()
        self._at = -CACHE_SECONDS
        self._sizes: IdleSizes | None = None

    def __call__(self) -> IdleSizes | None:
        now = self.clock.monotonic()
        with self._lock:
            if now - self._at >= CACHE_SECONDS:
                self._sizes = measure(self.settings, self.clients, self.clock.now())
                self._at = now
            return self._sizes
