"""A session's traffic cost from recorded metrics in the emulator's CloudWatch
(PutMetricData into moto), against arithmetic done by hand, to the cent."""

from __future__ import annotations

import time
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings
from bot.cost import PriceTable
from bot.traffic import GB, TrafficReading, traffic_cost
from infra.aws import naming
from infra.aws.session import AwsClients
from infra.aws.traffic import CloudWatchTraffic
from tests.support import stats_sidecar
from tests.support.aws import Endpoint
from tests.unit.test_month_to_date import PRICES

GB_INT = 10**9


def _put(cw: Any, namespace: str, name: str, dims: dict[str, str], at: float, value: float) -> None:
    cw.put_metric_data(
        Namespace=namespace,
        MetricData=[
            {
                "MetricName": name,
                "Dimensions": [{"Name": k, "Value": v} for k, v in dims.items()],
                "Timestamp": datetime.fromtimestamp(at, UTC),
                "Value": value,
            }
        ],
    )


def _record(settings: Settings, cw: Any, hour: float) -> None:
    """Two hours of a session: the NLB's metrics (and another NLB's, not ours), the
    sidecar's task bytes and the log group's ingestion."""
    lb = {"LoadBalancer": f"net/{settings.project_name}-nlb/0123456789abcdef"}
    other = {"LoadBalancer": "net/someone-else-nlb/fedcba9876543210"}
    nlb = "AWS/NetworkELB"
    for at, processed, new, active in (
        (hour + 900, 2 * GB, 6, 12),
        (hour + 2700, 1 * GB, 4, 9),
        (hour + 4800, 0.5 * GB, 2, 8),
    ):
        _put(cw, nlb, "ProcessedBytes", lb, at, processed)
        _put(cw, nlb, "NewFlowCount", lb, at, new)
        _put(cw, nlb, "ActiveFlowCount", lb, at, active)
        _put(cw, nlb, "ProcessedBytes", other, at, 50 * GB)
    project = {"Project": settings.project_name}
    _put(cw, "JitsiChatops", "NetworkTxBytes", project, hour + 1200, 1.5 * GB)
    _put(cw, "JitsiChatops", "NetworkTxBytes", project, hour + 4800, 1.0 * GB)
    _put(cw, "JitsiChatops", "NetworkRxBytes", project, hour + 1200, 1.0 * GB)
    _put(
        cw,
        "AWS/Logs",
        "IncomingBytes",
        {"LogGroupName": f"/ecs/{settings.project_name}"},
        hour + 1200,
        0.1 * GB,
    )


def test_nlb_session_traffic_cost_equals_hand_arithmetic(
    settings: Settings, clients: AwsClients
) -> None:
    hour = (time.time() // 3600 - 3) * 3600  # three hours ago, on the hour
    _record(settings, clients.client("cloudwatch"), hour)

    reading = CloudWatchTraffic(settings, clients).session_traffic(hour + 600, hour + 6600)

    assert reading is not None
    assert [h.processed_bytes / GB for h in reading.hours] == [3.0, 0.5]
    cost = traffic_cost(reading, PRICES)
    # By hand: NLCU per hour is the largest dimension; here the GB processed
    # (10 new flows an hour and 12 active flows are far below 400/s and 50,000).
    nlcu = (3.0 + 0.5) * 0.006  # 0.021
    egress = 2.5 * 0.09  # the task's bytes out: 0.225
    cross_zone = 3.5 * (1 / 2) * 0.01 * 2  # 2 zones: half crosses, billed both ways: 0.035
    logs = 0.1 * 0.50  # 0.05
    assert round(cost.nlcu, 2) == round(nlcu, 2)
    assert round(cost.egress, 2) == round(egress, 2)
    assert round(cost.cross_zone, 2) == round(cross_zone, 2)
    assert round(cost.logs, 2) == round(logs, 2)
    assert round(cost.total, 2) == round(nlcu + egress + cross_zone + logs, 2) == 0.33
    assert cost.total == pytest.approx(0.331, abs=1e-9)
    assert cost.text().startswith("Traffic: 3.50 GB, $0.33 (")
    assert "first 100 GB out a month are free" in cost.text()


def test_direct_mode_counts_the_task_bytes(make_settings: Any, clients: AwsClients) -> None:
    settings: Settings = make_settings(ingress="direct")
    hour = (time.time() // 3600 - 3) * 3600
    _record(settings, AwsClients(settings).client("cloudwatch"), hour)

    reading = CloudWatchTraffic(settings, AwsClients(settings)).session_traffic(
        hour + 600, hour + 6600
    )

    assert reading is not None and reading.hours == () and reading.zones == 0
    cost = traffic_cost(reading, PRICES)
    assert cost.gigabytes == pytest.approx(3.5)  # 2.5 out + 1.0 in
    assert cost.nlcu == 0 and cost.cross_zone == 0
    assert round(cost.total, 2) == round(2.5 * 0.09 + 0.1 * 0.5, 2)  # 0.28


def test_a_regions_log_and_cross_zone_prices_apply() -> None:
    """The price file's optional figures are read (eu-central-1: logs $0.63/GB), and
    a file without them gets the us-east-1 list prices."""
    from infra.pricing import load_prices

    reading = TrafficReading(
        hours=(), sent_bytes=0.0, received_bytes=0.0, log_bytes=2 * GB, zones=0
    )
    assert traffic_cost(reading, load_prices("eu-central-1")).logs == pytest.approx(1.26)
    assert traffic_cost(reading, PRICES).logs == pytest.approx(1.00)  # default $0.50
    assert PriceTable.from_mapping({**asdict(PRICES), "cross_zone_gb": 0.02}).cross_zone_gb == 0.02
    with pytest.raises(ValueError, match="'logs_ingestion_gb' must be a non-negative"):
        PriceTable.from_mapping({**asdict(PRICES), "logs_ingestion_gb": "cheap"})


def test_the_sidecars_lines_through_cloudwatch_logs_reach_the_meter(
    settings: Settings, clients: AwsClients, aws_endpoint: Endpoint, tmp_path: Path
) -> None:
    """The real sidecar command's lines, sent to the log group as the awslogs driver
    sends stdout (PutLogEvents, no EMF header), become the metrics the meter reads:
    the emulator extracts EMF as CloudWatch Logs does (infra/emulator/emf.py)."""
    if not aws_endpoint.emulated:
        pytest.skip("EMF extraction is the project's emulator's (moto has none)")
    sidecar = stats_sidecar.rendered(settings.project_name)
    readings: list[stats_sidecar.Reading] = [(5_000_000_000, 3_000_000_000)]
    readings += [(5_000_000_000 + 2 * GB_INT, 3_000_000_000 + 3 * GB_INT), (10, 10)]
    with stats_sidecar.serving(stats_sidecar.Endpoints(readings, participants=4)) as url:
        lines = stats_sidecar.run(
            sidecar["command"],
            stats_sidecar.environment(sidecar),
            path=stats_sidecar.shell_path(tmp_path),
            base_url=url,
            lines=5,  # rounds 1-3: Participants each, bytes in round 1 only (2: a reset)
        )
    logs = clients.client("logs")
    group = naming.log_group(settings)
    stream = f"participants/participants/{settings.project_name}-task"
    logs.create_log_group(logGroupName=group)
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    started = time.time() - 60
    events = [*lines, "not EMF: a plain line", '{"_aws":{"Timestamp":"soon"}}']
    logs.put_log_events(
        logGroupName=group,
        logStreamName=stream,
        logEvents=[
            {"timestamp": int(time.time() * 1000), "message": message} for message in events
        ],
    )
    reading = CloudWatchTraffic(settings, clients).session_traffic(started, time.time())
    assert reading is not None
    assert (reading.sent_bytes, reading.received_bytes) == (3 * GB_INT, 2 * GB_INT)
    assert reading.participant_hours == pytest.approx(3 * 4 / 60)  # 3 minutes of 4 people
