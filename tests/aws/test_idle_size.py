"""The idle cost from what exists: the bootstrapped bucket's real size (a listing, then
CloudWatch's BucketSizeBytes once it has a datapoint), parameters and log storage."""

from __future__ import annotations

import time

import pytest

from bot.config import Settings
from bot.cost import BYTES_PER_GB, CostModel
from infra.aws.idle_size import CachedIdleSizes, bucket_name, measure
from infra.aws.session import AwsClients
from tests.support.clocks import FakeClock
from tests.unit.test_month_to_date import PRICES


def test_idle_cost_from_the_bucket_that_exists(
    settings: Settings, clients: AwsClients, base: dict[str, str]
) -> None:
    account = clients.client("sts").get_caller_identity()["Account"]
    name = bucket_name(settings, account)
    assert base["bucket"] == name
    clients.client("s3").put_object(Bucket=name, Key="state/terraform.tfstate", Body=b"x" * 4096)

    # moto files a BucketSizeBytes datapoint itself (its own figure), as AWS does daily.
    listed = measure(settings, clients, time.time())
    assert listed.bucket_source in ("CloudWatch BucketSizeBytes", "a listing")
    assert listed.bucket_bytes is not None and listed.bucket_bytes > 0
    assert listed.parameters is not None

    sizes = CachedIdleSizes(settings, clients, FakeClock(start=time.time()))
    model = CostModel(settings, PRICES, idle_sizes=sizes)
    bucket = model.idle_items()[0]
    gb = listed.bucket_bytes / BYTES_PER_GB
    assert bucket.label == f"S3 bucket ({gb:.3f} GB, {listed.bucket_source})"
    assert bucket.amount == pytest.approx(gb * 0.023)
    assert not any("recordings" in i.label for i in model.idle_items())


def test_unread_sizes_fall_back_to_the_configured_size() -> None:
    model = CostModel(Settings(), PRICES, idle_sizes=lambda: None)
    assert model.idle_items()[0].label.startswith("S3 bucket (size not read")
    assert model.idle_month == pytest.approx(10 * 0.023)
