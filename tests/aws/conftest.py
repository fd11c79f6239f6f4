"""The AWS parts against a real AWS API: the session's ``aws_endpoint`` (tests/conftest.py,
built by ``tests.support.aws``), one freshly bootstrapped project per test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from bot.config import Settings
from bot.ports import PlatformParts
from infra.aws.bootstrap import bootstrap
from infra.aws.nlb import NlbIngress
from infra.aws.nlb_boto3 import Boto3NlbProvisioner
from infra.aws.parts import aws_parts
from infra.aws.session import AwsClients
from tests.support.aws import Endpoint, issued_certificate, settings_for


@pytest.fixture
def make_settings(aws_endpoint: Endpoint, project: str) -> Callable[..., Settings]:
    def make(**overrides: Any) -> Settings:
        return settings_for(aws_endpoint, project, **overrides)

    return make


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings()


@pytest.fixture
def clients(settings: Settings) -> AwsClients:
    return AwsClients(settings)


@pytest.fixture
def base(settings: Settings, clients: AwsClients) -> dict[str, str]:
    """The project's base infrastructure, bootstrapped (with its certificate issued)."""
    issued_certificate(settings)
    return bootstrap(settings, clients)


@pytest.fixture
def make_parts(make_settings: Callable[..., Settings]) -> Callable[..., PlatformParts]:
    """The AWS parts (boto3 NLB provisioner, as ``adapters.wiring`` builds them) of the
    project bootstrapped with ``make_settings(**overrides)``."""

    def make(**overrides: Any) -> PlatformParts:
        settings = make_settings(**overrides)
        clients = AwsClients(settings)
        issued_certificate(settings)
        bootstrap(settings, clients)
        return aws_parts(settings, clients, Boto3NlbProvisioner(settings, clients))[0]

    return make


@pytest.fixture
def parts(base: dict[str, str], settings: Settings, clients: AwsClients) -> PlatformParts:
    return aws_parts(settings, clients, Boto3NlbProvisioner(settings, clients))[0]


@pytest.fixture
def ingress(parts: PlatformParts) -> NlbIngress:
    assert isinstance(parts.ingress, NlbIngress)
    return parts.ingress


@pytest.fixture
def faults(aws_endpoint: Endpoint) -> Iterator[Callable[[dict[str, object]], None]]:
    """Arm emulator faults (``/_emulator/faults``); cleared after the test."""
    if not aws_endpoint.emulated:
        pytest.skip("fault injection needs the project's emulator (infra/emulator)")
    yield lambda body: aws_endpoint.control("faults", body)
    aws_endpoint.control("faults", {"clear": True})
