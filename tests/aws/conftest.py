"""A real AWS API for the driver tests: the project's emulator when it exists, else moto.

The emulator (``python -m infra.emulator``) adds what moto lacks: a scheduler
that starts the service's tasks, NLB interfaces with public IPs and faults.
Without it these tests start a ``ThreadedMotoServer`` and play the scheduler's
part by hand (``tests.aws.helpers``).
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from bot.config import Settings
from infra.aws.bootstrap import bootstrap
from infra.aws.platform import Boto3Platform
from infra.aws.session import AwsClients
from tests.support.services import ROOT, emulator, free_port, wait_for


@dataclass(frozen=True)
class Endpoint:
    url: str
    emulated: bool  # True: the project's emulator (scheduler, NLB interfaces, faults)


def _pin_task_states(url: str) -> None:
    # moto moves a task one state on every describe_tasks unless told otherwise.
    body = json.dumps(
        {"model_name": "ecs::task", "transition": {"progression": "manual", "times": 1_000_000}}
    ).encode()
    req = urllib.request.Request(f"{url}/moto-api/state-manager/set-transition", data=body)
    with urllib.request.urlopen(req, timeout=5) as resp:
        assert resp.status in (200, 201)


@pytest.fixture(scope="session")
def aws_endpoint() -> Iterator[Endpoint]:
    if (ROOT / "infra" / "emulator" / "__main__.py").exists() and not os.environ.get(
        "JITSI_TEST_PLAIN_MOTO"
    ):
        try:
            with emulator() as url:
                yield Endpoint(url, emulated=True)
            return
        except TimeoutError:
            pass  # emulator present but not answering yet: fall back to moto
    os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.WARNING)

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for(lambda: urllib.request.urlopen(f"{url}/moto-api/data.json", timeout=1), 20, "moto")
        _pin_task_states(url)
        yield Endpoint(url, emulated=False)
    finally:
        server.stop()


@pytest.fixture
def project() -> str:
    return f"t-{secrets.token_hex(3)}"


@pytest.fixture
def make_settings(aws_endpoint: Endpoint, project: str) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "project_name": project,
            "aws_endpoint_url": aws_endpoint.url,
            "aws_region": "us-east-1",
            "domain": f"{project}.meet.example.com",
        }
        values.update(overrides)
        return Settings(**values)

    return make


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings()


@pytest.fixture
def clients(settings: Settings) -> AwsClients:
    return AwsClients(settings)


@pytest.fixture
def base(settings: Settings, clients: AwsClients) -> dict[str, str]:
    """The project's base infrastructure, bootstrapped."""
    return bootstrap(settings, clients)


@pytest.fixture
def platform(base: dict[str, str], settings: Settings, clients: AwsClients) -> Boto3Platform:
    return Boto3Platform(settings, clients, sleep=lambda _s: None)
