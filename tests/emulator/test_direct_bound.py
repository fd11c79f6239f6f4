"""Direct mode's time to URL under the emulator's field profile (scaled), against its
lower bound: the domain's record is written the moment the task's public IP exists
(its interface is made with the task, before PROVISIONING ends) and must be INSYNC;
the containers must be healthy.

    bound = max(dns_insync, task_running + container_healthy)

With the field profile's figures: max(60, 40 + 20) = 60 s nominal (docs/ingress.md).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator

import pytest

from bot.config import Settings
from bot.cost import CostModel
from bot.events import EventKind
from bot.job import Deps
from bot.lifecycle import Lifecycle
from bot.model import Actor, ChatPlatform, IngressKind, JobId, JobKind, JobSpec, UserId
from bot.state import DesiredState
from infra.aws.bootstrap import bootstrap
from infra.aws.nlb_boto3 import Boto3NlbProvisioner
from infra.aws.parts import aws_parts
from infra.aws.session import AwsClients
from infra.clock import SystemClock
from infra.emulator.profiles import Profile
from infra.pricing import find_prices
from tests.support.fakes import MemoryLedger, MemoryStore, RecordingSink
from tests.support.services import emulator, https_front
from tests.support.tls import store_certificate

# 70 s nominal -> 17.5 s: the fixed costs (preflight, polls, calls) stay well inside 10 %.
SCALE = 0.25
ALICE = Actor(UserId("console:alice"), "general", ChatPlatform.CONSOLE, "alice")


def direct_bound(profile: Profile) -> float:
    """The direct start's lower bound in the profile's (scaled) seconds."""
    d = profile.delays
    return max(d.dns_insync, d.task_running + d.container_healthy)


def test_the_field_profiles_direct_bound_is_60_s_nominal() -> None:
    assert direct_bound(Profile("field")) == 60.0


@pytest.fixture(scope="module")
def url() -> Iterator[str]:
    with emulator("field", SCALE) as found:
        yield found


@pytest.mark.timeout(300)
def test_direct_start_is_within_1_10_of_its_bound(url: str) -> None:
    project = f"b{uuid.uuid4().hex[:8]}"
    settings = Settings(
        project_name=project,
        aws_endpoint_url=url,
        domain=f"meet.{project}.example",
        ingress=IngressKind.DIRECT,
        poll_min_seconds=0.05,
        poll_max_seconds=0.1,
        **https_front(url),
    )
    clients = AwsClients(settings)
    zone = clients.route53.create_hosted_zone(Name=f"{project}.example", CallerReference=project)
    settings = settings.model_copy(
        update={"hosted_zone_id": str(zone["HostedZone"]["Id"]).rsplit("/", 1)[-1]}
    )
    clients = AwsClients(settings)
    bootstrap(settings, clients)
    store_certificate(settings)
    parts = aws_parts(settings, clients, Boto3NlbProvisioner(settings, clients))[0]
    store, sink = MemoryStore(), RecordingSink()
    costs = CostModel(settings, find_prices(settings.price_region))
    life = Lifecycle(Deps(settings, parts, store, sink, SystemClock(), MemoryLedger(), costs))
    store.set_desired(DesiredState.RUNNING, ALICE)
    began = time.monotonic()
    assert life.run(JobSpec(JobId(project), JobKind.START, ALICE)).ok
    took = time.monotonic() - began
    bound = direct_bound(Profile("field", SCALE))
    assert any(e.kind is EventKind.URL_READY for e in sink.events)
    steps = {e.step: e.data["seconds"] for e in sink.events if e.kind is EventKind.STEP_FINISHED}
    assert bound <= took <= 1.10 * bound, (took, bound, steps)
    store.set_desired(DesiredState.STOPPED, ALICE)
    assert life.run(JobSpec(JobId(project + "s"), JobKind.STOP, ALICE)).ok
