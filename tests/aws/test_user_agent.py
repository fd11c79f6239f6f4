"""The worker's AWS calls name the chat user they serve, in the User-Agent that CloudTrail
records: seen on the wire, through a recording proxy in front of the emulator."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import unquote

import pytest

from adapters.wiring import App
from bot.config import Settings
from bot.model import Actor, ChatPlatform, JobId, JobKind, JobSpec, UserId
from infra.aws.session import AwsClients, user_agent_extra
from infra.terraform.nlb import terraform_provisioner
from tests.support.aws import Endpoint, settings_for
from tests.support.recording_proxy import Recorder, recording_proxy

ALICE = Actor(UserId("@alice:example.org"), "!room:example.org", ChatPlatform.MATRIX, "Alice")
BOB = Actor(UserId("slack:U0BOB"), "C0GENERAL", ChatPlatform.SLACK, "Bob")


@pytest.fixture
def proxy(aws_endpoint: Endpoint) -> Iterator[tuple[Endpoint, Recorder]]:
    with recording_proxy(aws_endpoint.url) as (url, recorder):
        yield Endpoint(url, emulated=aws_endpoint.emulated), recorder


def test_calls_carry_the_requester_and_stop_when_the_job_ends(
    proxy: tuple[Endpoint, Recorder], project: str
) -> None:
    endpoint, recorder = proxy
    clients = AwsClients(settings_for(endpoint, project))
    clients.ec2.describe_vpcs()
    clients.act_for(ALICE)
    clients.ec2.describe_vpcs()
    clients.ecs.list_clusters()
    clients.act_for(BOB)
    clients.ec2.describe_vpcs()
    clients.act_for(None)
    clients.ec2.describe_vpcs()
    agents = recorder.user_agents()
    assert len(agents) == 5
    assert all("jitsi-chatops/" in a for a in agents)
    assert ["requested-by/" in a for a in agents] == [False, True, True, True, False]
    assert agents[1].endswith("requested-by/matrix#%40alice%3Aexample.org")
    assert agents[3].endswith("requested-by/slack#slack%3AU0BOB")
    # Percent-encoding is reversible: the log leads back to the exact chat user id.
    assert unquote(agents[1].rsplit("#", 1)[1]) == ALICE.user


@pytest.mark.parametrize(
    "user",
    ["a b\r\nX-Injected: 1", "ünïcödé@host", "x" * 1000, "<script>\"'", "\x00\x07\u202e"],
)
def test_any_user_id_becomes_header_safe(user: str) -> None:
    extra = user_agent_extra(Actor(UserId(user), "c", ChatPlatform.CONSOLE))
    product, requested = extra.split(" ")
    allowed = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!$%&'*+-.^_`|~/#")
    assert set(requested) <= allowed and product.startswith("jitsi-chatops/")
    assert len(requested) < 180


def test_a_job_run_by_the_worker_names_who_asked(
    proxy: tuple[Endpoint, Recorder], project: str, redis_url: str
) -> None:
    endpoint, recorder = proxy
    app = App(settings_for(endpoint, project, redis_url=redis_url, reconcile_interval_seconds=0))
    try:
        spec = JobSpec(JobId("uajob1"), JobKind.STOP, BOB, None, time.time())
        result = app.runner.run_locked(spec)
        during = recorder.user_agents()
        assert during and all(a.endswith("requested-by/slack#slack%3AU0BOB") for a in during)
        app.aws_clients.ec2.describe_vpcs()  # after the job: the bot's own call
        assert "requested-by/" not in recorder.user_agents()[-1]
        [entry] = app.audit_log.recent(1)
        assert (entry.kind.value, entry.what, entry.job_id, entry.user) == (
            "job",
            "stop",
            "uajob1",
            "slack:U0BOB",
        )
        assert entry.ok is result.ok and entry.aws_calls == len(during)
        assert entry.seconds is not None and entry.seconds >= 0
    finally:
        app.redis.close()


def test_terraform_runs_carry_the_requester_too(tmp_path: Path) -> None:
    """The Terraform driver's provider calls: the AWS provider appends
    TF_APPEND_USER_AGENT to its User-Agent. A stand-in binary records what it was given."""
    seen = tmp_path / "seen"
    binary = tmp_path / "terraform"
    binary.write_text(f'#!/bin/sh\nprintf "%s" "$TF_APPEND_USER_AGENT" > {seen}\n')
    binary.chmod(0o755)
    settings = Settings(
        project_name="tfua",
        nlb_driver="terraform",
        terraform={"dir": str(tmp_path), "binary": str(binary), "init": False},
    )
    clients = AwsClients(settings)
    provisioner = terraform_provisioner(settings, clients)
    clients.act_for(ALICE)
    provisioner.destroy(lambda message, data: None)
    assert seen.read_text() == user_agent_extra(ALICE)
    clients.act_for(None)
    provisioner.destroy(lambda message, data: None)
    assert seen.read_text() == user_agent_extra(None)
