"""The start's preflight and the doctor's permission list against a real AWS API."""

from __future__ import annotations

import time

import pytest

from bot.config import Settings
from bot.cost import CostModel
from bot.job import Deps
from bot.lifecycle import Lifecycle
from bot.model import Actor, ChatPlatform, JobId, JobKind, JobSpec, UserId
from bot.preflight import blocking
from infra.aws.errors import iam_action
from infra.aws.nlb_boto3 import Boto3NlbProvisioner
from infra.aws.parts import aws_parts
from infra.aws.permissions import WORKER_ACTIONS, principal_arn
from infra.aws.preflight import AwsPreflight, find_certificate
from infra.aws.session import AwsClients
from infra.clock import SystemClock
from infra.pricing import find_prices
from tests.support.aws import Endpoint, ready_account
from tests.support.certificates import import_certificate
from tests.support.memory import MemoryLedger, MemoryStore, RecordingSink
from tests.support.services import https_front


def _zone(clients: AwsClients, domain: str) -> str:
    parent = domain.partition(".")[2]
    made = clients.route53.create_hosted_zone(Name=parent, CallerReference=domain)
    return str(made["HostedZone"]["Id"]).rsplit("/", 1)[-1]


def test_every_prerequisite_there(
    base: dict[str, str], settings: Settings, clients: AwsClients
) -> None:
    arn = import_certificate(clients.client("acm"), [settings.domain])
    configured = settings.model_copy(
        update={"acm_certificate_arn": arn, "hosted_zone_id": _zone(clients, settings.domain)}
    )
    findings = AwsPreflight(configured, clients).check()
    assert [f.check for f in findings] == ["certificate", "hosted zone", "base infrastructure"]
    assert all(f.ok for f in findings), findings


def test_an_expired_certificate_blocks(
    base: dict[str, str], settings: Settings, clients: AwsClients
) -> None:
    arn = import_certificate(clients.client("acm"), [settings.domain], days=30)
    configured = settings.model_copy(update={"acm_certificate_arn": arn})
    in_a_year = AwsPreflight(configured, clients, now=lambda: time.time() + 365 * 86400)
    cert = in_a_year.certificate()
    assert not cert.ok and cert.blocking and "expired on" in cert.detail
    assert AwsPreflight(configured, clients).certificate().ok


def test_nothing_there_blocks_with_fixes(settings: Settings, clients: AwsClients) -> None:
    findings = AwsPreflight(settings, clients).check()
    assert len(blocking(findings)) == 3
    assert all(f.fix for f in findings)


def test_the_permission_list_covers_every_call_of_a_start_and_a_stop(
    aws_endpoint: Endpoint, base: dict[str, str], settings: Settings, clients: AwsClients
) -> None:
    if not aws_endpoint.emulated:
        pytest.skip("needs the emulator's scheduler to start the task")
    # An account a start accepts (certificate, zone), reached through the emulator's front.
    fast = ready_account(
        settings.model_copy(
            update={
                "poll_min_seconds": 0.05,
                "poll_max_seconds": 0.2,
                **https_front(aws_endpoint.url),
            }
        )
    )
    parts = aws_parts(fast, clients, Boto3NlbProvisioner(fast, clients))[0]
    deps = Deps(
        fast,
        parts,
        MemoryStore(),
        RecordingSink(),
        SystemClock(),
        MemoryLedger(),
        CostModel(fast, find_prices(fast.price_region)),
    )
    actor = Actor(UserId("console:alice"), "terminal", ChatPlatform.CONSOLE)
    lifecycle = Lifecycle(deps)
    before = clients.counter.snapshot()  # the bootstrap's calls are not the worker's
    parts.preflight.check()
    assert lifecycle.run(JobSpec(JobId("s1"), JobKind.START, actor)).ok
    assert lifecycle.run(JobSpec(JobId("s2"), JobKind.STOP, actor)).ok
    after = clients.counter.snapshot()
    used = {iam_action(c.split(".", 1)[1]) for c, n in after.items() if n > before.get(c, 0)}
    # sts:GetCallerIdentity needs no permission; everything else must be listed.
    assert used - {"sts:GetCallerIdentity"} <= set(WORKER_ACTIONS), used - set(WORKER_ACTIONS)


@pytest.mark.parametrize(
    ("caller", "principal"),
    [
        ("arn:aws:sts::123:assumed-role/jitsi-bot/i-0abc", "arn:aws:iam::123:role/jitsi-bot"),
        ("arn:aws:iam::123:user/ops/bot", "arn:aws:iam::123:user/ops/bot"),
        ("arn:aws:sts::123:user/moto", "arn:aws:iam::123:user/moto"),
        ("arn:aws:iam::123:root", None),
        ("arn:aws:sts::123:federated-user/bob", None),
    ],
)
def test_the_principal_simulated_for_a_caller(caller: str, principal: str | None) -> None:
    assert principal_arn(caller) == principal


def test_a_certificate_is_found_by_any_of_its_names(
    settings: Settings, clients: AwsClients
) -> None:
    acm = clients.client("acm")
    import_certificate(acm, [f"other.{settings.domain}"])
    assert find_certificate(settings, clients) is None
    arn = import_certificate(acm, [f"www.{settings.domain}", settings.domain], days=200)
    found = find_certificate(settings, clients)
    assert found is not None and found["CertificateArn"] == arn
