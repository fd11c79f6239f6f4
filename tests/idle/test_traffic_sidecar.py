"""The emulator's simulated sidecar publishes the task's network bytes
(``POST /_emulator/traffic``) and the traffic meter reads them back for a session."""

from __future__ import annotations

import time
from collections.abc import Callable

from bot.traffic import TrafficReading
from infra.aws.session import AwsClients
from infra.aws.traffic import CloudWatchTraffic
from tests.idle.test_participants_metric import Live, live  # noqa: F401 (the fixture)
from tests.support.services import control, wait_for


def test_sidecar_bytes_reach_the_traffic_meter(live: Callable[[], Live]) -> None:  # noqa: F811
    platform = live()
    project = platform.settings.project_name
    control(platform.emulator_url, "traffic", {"project": project, "sent": 3e6, "received": 1e6})
    platform.participants(2)
    platform.start()
    started = platform.real.store.status().session_started_at
    assert started is not None
    meter = CloudWatchTraffic(platform.settings, AwsClients(platform.settings))

    def two_minutes() -> TrafficReading | None:
        reading = meter.session_traffic(started, time.time())
        # Each minute's sent and received are two datapoints, stored one after the
        # other: a reading between them sees the minute's bytes out without those in.
        # Once both are in, it is 3 bytes out for 1 in.
        if reading is None or reading.sent_bytes < 6e6:
            return None
        return reading if reading.sent_bytes == 3 * reading.received_bytes else None

    reading = wait_for(two_minutes, 30, "two whole simulated minutes of the task's bytes")
    assert isinstance(reading, TrafficReading)
    assert reading.sent_bytes == 3 * reading.received_bytes
    control(platform.emulator_url, "traffic", {"project": project})  # silent again
