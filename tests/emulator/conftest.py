"""The AWS emulator for its own tests: one subprocess per test module (its log must
hold no exception), plain boto3 clients on it, and the small network they share."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.emulator.network import Network, boto, make_network
from tests.support.services import control, emulator


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    log = tmp_path_factory.mktemp("emulator") / "emulator.log"
    with emulator("instant", 1.0, log=log) as endpoint:
        yield endpoint
    assert "Traceback" not in log.read_text(), f"the emulator logged an exception: see {log}"


@pytest.fixture(scope="module")
def client(url: str) -> Callable[..., Any]:
    """``client(service, **botocore_config)``: a client on this module's emulator."""

    def make(service: str, **config: Any) -> Any:
        return boto(url, service, **config)

    return make


@pytest.fixture
def instant(url: str) -> Iterator[None]:
    """The test starts on the instant profile, automatic target health and no faults."""
    control(url, "profile", {"profile": "instant", "time_scale": 1.0})
    control(url, "targets", {"mode": "auto"})
    control(url, "faults", {"clear": True})
    yield


@pytest.fixture(scope="module")
def net(client: Callable[..., Any]) -> Network:
    return make_network(client)
