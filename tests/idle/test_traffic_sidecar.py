"""The emulator's simulated sidecar publishes the task's network bytes
(``POST /_emulator/traffic``) and the traffic meter reads them back for a session."""

from __future__ import annotations

import time
from collections.abc import Callable

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

    def two_minutes() -> bool:
        reading = meter.session_traffic(started, time.time())
        return reading is not None and reading.sent_bytes >= 6e6

    wait_for(two_minutes, 30, "two simulated minutes of the task's bytes")
    reading = meter.session_traffic(started, time.time())
    assert reading is not None
    # Sent and received arrive together, minute by minute: 3 bytes out for 1 in.
    assert reading.sent_bytes == 3 * reading.received_bytes
    control(platform.emulator_url, "traffic", {"project": project})  # silent again
