"""Switching the way in between sessions strands nothing, on the emulator: whole
start/stop lifecycles in one mode, then the other, each ending with a clean audit;
an NLB left by the other mode is found by the direct mode's audit and swept."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from bot.config import Settings
from bot.cost import CostModel
from bot.events import EventKind
from bot.job import Deps
from bot.lifecycle import Lifecycle
from bot.model import (
    Actor,
    ChatPlatform,
    IngressKind,
    JobId,
    JobKind,
    JobSpec,
    ProbeResult,
    ResourceKind,
    SessionTags,
    UserId,
)
from bot.ports import PlatformParts
from bot.state import DesiredState
from infra.aws.bootstrap import bootstrap
from infra.aws.nlb_boto3 import Boto3NlbProvisioner
from infra.aws.parts import aws_parts
from infra.aws.session import AwsClients
from infra.clock import SystemClock
from infra.pricing import find_prices
from tests.support.aws import Endpoint, issued_certificate, settings_for
from tests.support.memory import MemoryLedger, MemoryStore, RecordingSink
from tests.support.services import wait_for
from tests.support.tls import store_certificate

ALICE = Actor(UserId("console:alice"), "general", ChatPlatform.CONSOLE, "alice")


class PageAnswers:
    """The HTTPS probe's part is the e2e suite's (tests/e2e/test_direct_e2e.py)."""

    def check(self, url: str) -> ProbeResult:
        return ProbeResult(True, "HTTP 200")


@pytest.fixture
def mode(aws_endpoint: Endpoint, project: str) -> Callable[[IngressKind], Any]:
    if not aws_endpoint.emulated:
        pytest.skip("runs whole lifecycles: the project's emulator")
    clients0 = AwsClients(settings_for(aws_endpoint, project))
    zone = clients0.route53.create_hosted_zone(Name="meet.example.com", CallerReference=project)
    zone_id = str(zone["HostedZone"]["Id"]).rsplit("/", 1)[-1]
    store, ledger = MemoryStore(), MemoryLedger()

    def make(kind: IngressKind) -> tuple[Lifecycle, PlatformParts, RecordingSink]:
        settings: Settings = settings_for(
            aws_endpoint,
            project,
            ingress=kind,
            hosted_zone_id=zone_id,
            poll_min_seconds=0.05,
            poll_max_seconds=0.25,
            start_timeout_seconds=60,
            stop_timeout_seconds=60,
        )
        clients = AwsClients(settings)
        issued_certificate(settings)  # the NLB's (ACM)
        store_certificate(settings)  # direct mode's (SSM), as `jitsi-bot infra certificate` would
        bootstrap(settings, clients)  # what an operator runs when switching
        provisioner = Boto3NlbProvisioner(settings, clients)
        parts = aws_parts(settings, clients, provisioner, probe=PageAnswers())[0]
        sink = RecordingSink()
        costs = CostModel(settings, find_prices(settings.price_region))
        deps = Deps(settings, parts, store, sink, SystemClock(), ledger, costs)
        return Lifecycle(deps), parts, sink

    return make


def _session(life: Lifecycle, sink: RecordingSink, parts: PlatformParts) -> bool:
    """Start and stop; returns whether the stop's audit was clean."""
    store = life.deps.store
    store.set_desired(DesiredState.RUNNING, ALICE)
    started = life.run(JobSpec(JobId(uuid.uuid4().hex), JobKind.START, ALICE))
    assert started.ok, [e.message for e in sink.events if e.kind is EventKind.ERROR]
    store.set_desired(DesiredState.STOPPED, ALICE)
    life.run(JobSpec(JobId(uuid.uuid4().hex), JobKind.STOP, ALICE))
    return bool([e for e in sink.events if e.kind is EventKind.AUDIT][-1].data["clean"])


def test_nlb_then_direct_then_nlb_each_audit_clean(mode: Callable[[IngressKind], Any]) -> None:
    life, parts, sink = mode(IngressKind.NLB)
    assert _session(life, sink, parts)
    life, parts, sink = mode(IngressKind.DIRECT)
    assert _session(life, sink, parts)
    labels = [e.data["label"] for e in sink.events if e.kind is EventKind.STEP_STARTED]
    assert "Nothing to remove (no load balancer)" in labels
    life, parts, sink = mode(IngressKind.NLB)
    assert _session(life, sink, parts)
    assert parts.audit.billable() == []


def test_direct_finds_and_sweeps_an_nlb_the_other_mode_left(
    mode: Callable[[IngressKind], Any],
) -> None:
    _, nlb_parts, _ = mode(IngressKind.NLB)
    nlb_parts.ingress.bring_up(SessionTags("old", "bob"), lambda _m, _d: None)  # a crash
    life, parts, sink = mode(IngressKind.DIRECT)
    assert not _session(life, sink, parts)  # the audit says what is left...
    audit = [e for e in sink.events if e.kind is EventKind.AUDIT][-1]
    assert {r["kind"] for r in audit.data["resources"]} >= {"load_balancer"}
    assert audit.data["per_hour"] > 0
    # ...and the reconciler's sweep removes every project NLB once no ingress owns one.
    assert parts.audit.sweep(parts.audit.billable()) == 1
    wait_for(
        lambda: not [r for r in parts.audit.billable() if r.kind.billable],
        30,
        "the stray NLB and its addresses to go",
    )
    left = {r.kind for r in parts.audit.billable()}
    assert ResourceKind.LOAD_BALANCER not in left
