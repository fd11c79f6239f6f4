"""Pebble, a local DNS server over the emulator's Route 53, and a hosted zone per test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings
from infra.aws.session import AwsClients
from tests.support.acme import PEBBLE, Pebble, Route53Resolver, dns_server, pebble
from tests.support.aws import Endpoint, settings_for

# Certificates Pebble issues here live 20 days: inside the default 30-day renewal
# window at once, so one Pebble serves both "due" and "not due" cases by tls_renew_days.
VALIDITY_DAYS = 20


@pytest.fixture(scope="session")
def dns(aws_endpoint: Endpoint) -> Iterator[tuple[str, Route53Resolver]]:
    with dns_server(aws_endpoint.url) as served:
        yield served


@pytest.fixture(scope="session")
def pebble_server(
    tmp_path_factory: pytest.TempPathFactory, dns: tuple[str, Route53Resolver]
) -> Iterator[Pebble]:
    if PEBBLE is None:
        pytest.skip(
            "pebble (the ACME test server) is not installed: `apt-get install pebble` "
            "or `make system-deps`"
        )
    with pebble(tmp_path_factory.mktemp("pebble"), dns[0], VALIDITY_DAYS * 86400) as server:
        yield server


@pytest.fixture
def make_settings(
    aws_endpoint: Endpoint,
    project: str,
    pebble_server: Pebble,
    dns: tuple[str, Route53Resolver],
) -> Callable[..., Settings]:
    """Settings of a fresh project whose meeting domain has its own hosted zone, with
    ACME pointed at Pebble."""
    domain = f"{project}.meet.example.com"
    zone = AwsClients(settings_for(aws_endpoint, project)).route53.create_hosted_zone(
        Name=domain, CallerReference=f"{project}-zone"
    )
    zone_id = str(zone["HostedZone"]["Id"]).rsplit("/", 1)[-1]

    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "hosted_zone_id": zone_id,
            "acme": {
                "directory_url": pebble_server.directory_url,
                "ca_file": pebble_server.ca_file,
                "dns_resolver": dns[0],
                "email": "ops@example.com",
                "propagation_timeout_seconds": 20,
                "order_timeout_seconds": 60,
            },
        }
        values.update(overrides)
        return settings_for(aws_endpoint, project, **values)

    return make


@pytest.fixture
def settings(make_settings: Callable[..., Settings]) -> Settings:
    return make_settings()


@pytest.fixture
def clients(settings: Settings) -> AwsClients:
    return AwsClients(settings)


@pytest.fixture
def root_ca(pebble_server: Pebble, tmp_path: Path) -> Path:
    """Pebble's root (from its management API) as a CA file for the probe."""
    path = tmp_path / "pebble-root.pem"
    path.write_text(pebble_server.root_pem())
    return path
