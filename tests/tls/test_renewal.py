"""Renewal: when due (Pebble's 20-day certificates sit inside a 30-day window), never
when not, and a failed renewal (the CA gone) posts one notice per failing streak."""

from __future__ import annotations

import datetime
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import redis
from rq import Queue
from rq.registry import ScheduledJobRegistry

from bot.config import Settings
from bot.errors import BotError
from bot.events import NoticeKind
from infra.acme_cert import AcmeIssuer, Route53Challenge
from infra.aws.session import AwsClients
from infra.chain import JobChain
from infra.keys import Keys
from infra.settings import ConfigError, load_settings
from infra.tls_renewal import DAILY_SECONDS, CertificateCheck, retry_delay
from infra.tls_store import CertificateManager, CertState, SsmTlsStore
from tests.support.acme import Route53Resolver, pebble
from tests.support.aws import settings_for
from tests.tls.conftest import VALIDITY_DAYS


def manager(settings: Settings) -> CertificateManager:
    clients = AwsClients(settings)
    challenge = Route53Challenge(settings, clients)
    return CertificateManager(
        settings, SsmTlsStore(settings, clients), AcmeIssuer(settings, challenge)
    )


def serial(settings: Settings) -> str:
    chain = SsmTlsStore(settings, AwsClients(settings)).get("fullchain") or ""
    return chain.splitlines()[1]  # the leaf's first base64 line differs per certificate


def test_renews_when_due_and_not_again(make_settings: Callable[..., Settings]) -> None:
    due = make_settings()  # 30-day window: a 20-day certificate is due at once
    assert manager(due).ensure().action == "issued"
    first = serial(due)
    renewed = manager(due).ensure()
    assert renewed.action == "renewed"
    assert serial(due) != first
    # A 10-day window: not due; no order reaches the CA, whatever the caller.
    calm = make_settings(tls_renew_days=10)
    second = serial(calm)
    for _ in range(3):
        outcome = manager(calm).ensure()
        assert outcome.action == "kept" and outcome.status.state is CertState.VALID
    assert serial(calm) == second
    assert manager(calm).ensure(force=True).action == "renewed"  # --renew


def test_the_worker_never_issues_a_first_certificate(settings: Settings) -> None:
    outcome = manager(settings).ensure(only_renew=True)
    assert outcome.action == "kept" and outcome.status.state is CertState.MISSING


class Announced:
    def __init__(self) -> None:
        self.notices: list[tuple[NoticeKind, str, dict[str, Any]]] = []

    def __call__(self, kind: NoticeKind, text: str, **data: Any) -> None:
        self.notices.append((kind, text, data))


def test_a_failed_renewal_posts_one_notice_and_backs_off(
    make_settings: Callable[..., Settings],
    redis_client: redis.Redis,
    project: str,
    tmp_path: Path,
    dns: tuple[str, Route53Resolver],
) -> None:
    # Its own Pebble, stopped after the first issuance: the renewal cannot reach the CA.
    with pebble(tmp_path, dns[0], VALIDITY_DAYS * 86400) as own:
        settings = make_settings(
            acme={
                "directory_url": own.directory_url,
                "ca_file": own.ca_file,
                "dns_resolver": dns[0],
                "propagation_timeout_seconds": 20,
            }
        )
        assert manager(settings).ensure().action == "issued"
    keys = Keys(project)
    chain = JobChain(
        redis_client, _queue(redis_client, keys), keys.certificate_scheduled, print, "cert"
    )
    announced = Announced()
    check = CertificateCheck(
        manager(settings), redis_client, keys.certificate_failing, announced, chain
    )
    chain.start(DAILY_SECONDS, DAILY_SECONDS)
    run = redis_client.get(keys.certificate_scheduled).decode()  # type: ignore[union-attr]
    results = []
    for _ in range(3):
        results.append(check.run(run))
        run = redis_client.get(keys.certificate_scheduled).decode()  # type: ignore[union-attr]
    assert all("renewal failed" in r for r in results)
    assert len(announced.notices) == 1  # one notice per failing streak
    kind, text, data = announced.notices[0]
    assert kind is NoticeKind.CERTIFICATE
    assert "Cannot talk to the ACME server" in data["error"]
    assert 19 < data["days_left"] <= 20 and "expires in 20 days" in text
    # Backoff: each try later than the last, never beyond the daily cadence.
    assert [retry_delay(n) for n in (1, 2, 3)] == [900.0, 1800.0, 3600.0]
    assert retry_delay(20) == DAILY_SECONDS
    scheduled = _scheduled_in(redis_client, keys, run)
    assert 3000 < scheduled <= 3600 + 5


def _queue(client: redis.Redis, keys: Keys) -> Queue:
    return Queue(keys.queue_name, connection=client)


def _scheduled_in(client: redis.Redis, keys: Keys, run_id: str) -> float:
    registry = ScheduledJobRegistry(queue=_queue(client, keys))
    at = registry.get_scheduled_time(run_id)
    return (at - datetime.datetime.now(datetime.UTC)).total_seconds()


def test_a_later_success_clears_the_streak(
    settings: Settings, redis_client: redis.Redis, project: str
) -> None:
    keys = Keys(project)
    redis_client.set(keys.certificate_failing, '{"since": "x", "attempts": 4}')
    chain = JobChain(
        redis_client, _queue(redis_client, keys), keys.certificate_scheduled, print, "c"
    )
    announced = Announced()
    check = CertificateCheck(
        manager(settings), redis_client, keys.certificate_failing, announced, chain
    )
    assert check.run("c-1") == "missing: nothing to do"
    assert redis_client.get(keys.certificate_failing) is None


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"acme": {"directory_url": "http://acme.example/dir"}}, "not an https:// ACME directory"),
        ({"acme": {"email": "not-an-address"}}, "not an email address"),
        ({"acme": {"dns_resolver": "127.0.0.1"}}, "not host:port"),
        ({"acme": {"propagation_timeout_seconds": 0}}, "greater than 0"),
        ({"tls_renew_days": 0}, "greater than or equal to 1"),
        ({"tls_renew_days": 90}, "less than or equal to 60"),
    ],
)
def test_malformed_settings_name_the_key(overrides: dict[str, Any], message: str) -> None:
    env = {}
    for key, value in overrides.items():
        if isinstance(value, dict):
            env.update({f"JITSI_{key.upper()}_{k.upper()}": str(v) for k, v in value.items()})
        else:
            env[f"JITSI_{key.upper()}"] = str(value)
    with pytest.raises(ConfigError) as info:
        load_settings(env)
    name = next(iter(env))
    assert name in str(info.value) and message in str(info.value)


def test_no_hosted_zone_is_an_error_before_any_order(aws_endpoint: Any, project: str) -> None:
    settings = settings_for(aws_endpoint, project)
    with pytest.raises(BotError, match="hosted_zone_id is not set"):
        manager(settings)
