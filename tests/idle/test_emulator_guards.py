"""The guards against the AWS emulator: the reconciler removing a hand-made orphan
NLB and announcing what it saved, a lease-less lock, and idle readings from the
NLB's CloudWatch metrics put into moto."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest

from adapters.wiring import App
from bot.config import Settings
from bot.events import Notice, NoticeKind
from infra import jobs
from infra.aws import naming
from infra.aws.bootstrap import bootstrap
from infra.aws.session import AwsClients
from infra.aws.tags import TagSet
from infra.idle_sources import CloudWatchSource
from tests.support.aws import ready_account
from tests.support.services import https_front, wait_for


@pytest.fixture
def app(emulator_url: str, redis_url: str, project: str) -> Iterator[App]:
    settings = Settings(
        project_name=project,
        redis_url=redis_url,
        aws_endpoint_url=emulator_url,
        poll_min_seconds=0.05,
        poll_max_seconds=0.2,
        reconcile_interval_seconds=0,
        lock_lease_seconds=2,
        **https_front(emulator_url),  # the start's HTTPS check reaches the emulator
    )
    settings = ready_account(settings)
    bootstrap(settings, AwsClients(settings))
    app = App(settings)
    jobs.install(app.job_context())
    yield app
    jobs.install(None)
    app.redis.close()


def notices(app: App) -> list[Notice]:
    rows = app.redis.xrange(app.keys.notices)
    return [Notice.from_fields({k.decode(): v.decode() for k, v in r.items()}) for _, r in rows]


def orphan_nlb(app: App, name: str | None = None) -> str:
    """An NLB made by hand, as a crashed script or a console click would leave it."""
    clients = AwsClients(app.settings)
    service = clients.ecs.describe_services(
        cluster=app.settings.cluster_name, services=[app.settings.service_name]
    )["services"][0]
    subnets = service["networkConfiguration"]["awsvpcConfiguration"]["subnets"]
    tags = TagSet(app.settings.project_name, "by-hand", "someone").elbv2()
    lb = clients.elbv2.create_load_balancer(
        Name=name or naming.nlb_name(app.settings),
        Subnets=subnets,
        Type="network",
        Scheme="internet-facing",
        Tags=tags,
    )["LoadBalancers"][0]
    return str(lb["LoadBalancerArn"])


def test_reconciler_removes_orphan_nlbs_of_a_stopped_platform_and_says_what_it_saved(
    app: App,
) -> None:
    orphan_nlb(app)
    orphan_nlb(app, f"{app.settings.project_name}-copy")  # same tags, another name

    def addresses() -> int:  # the emulator gives each zone its interface in turn
        found = [r for r in app.parts.audit.billable() if r.kind.value == "load_balancer"]
        return sum(r.public_ipv4 for r in found) if len(found) == 2 else 0

    wait_for(lambda: addresses() == 4, 30, "both NLBs' interfaces in both zones")
    began = time.monotonic()
    result = jobs.reconcile()
    took = time.monotonic() - began
    assert result == "removed 2 load balancers", result
    assert not [r for r in app.parts.audit.billable() if r.kind.value == "load_balancer"]
    (repair,) = [n for n in notices(app) if n.kind is NoticeKind.REPAIR]
    assert "the platform is stopped but 2 load balancers existed" in repair.text
    assert "saves $0.065 per hour" in repair.text  # 2 x (NLB $0.0225 + 2 IPv4 x $0.005)
    assert repair.data["saved_per_hour"] == pytest.approx(0.065)
    assert took < 30
    assert jobs.reconcile() == "converged"
    assert len([n for n in notices(app) if n.kind is NoticeKind.REPAIR]) == 1


def test_reconciler_removes_a_lock_without_a_lease(app: App) -> None:
    app.redis.set(app.keys.lock, "dead-owner")  # no TTL: nobody would ever free it
    assert jobs.reconcile() == "converged"
    assert app.redis.get(app.keys.lock) is None
    (repair,) = [n for n in notices(app) if n.kind is NoticeKind.REPAIR]
    assert "lock with no lease" in repair.text


def test_cloudwatch_source_reads_udp_flows_of_the_nlb(app: App) -> None:
    arn = orphan_nlb(app)
    clients = AwsClients(app.settings)
    assert app.nlb is not None
    source = CloudWatchSource(clients, app.nlb, app.clock)
    assert source.read().participants == 0  # no datapoints: nobody is sending media
    dimension = "net/" + arn.split(":loadbalancer/net/", 1)[1]
    now = datetime.now(UTC)
    clients.client("cloudwatch").put_metric_data(
        Namespace="AWS/NetworkELB",
        MetricData=[
            {
                "MetricName": "ActiveFlowCount_UDP",
                "Dimensions": [{"Name": "LoadBalancer", "Value": dimension}],
                "Timestamp": now,
                "Value": 3.0,
            },
            {
                "MetricName": "ProcessedBytes_UDP",
                "Dimensions": [{"Name": "LoadBalancer", "Value": dimension}],
                "Timestamp": now,
                "Value": 120_000.0,
            },
        ],
    )
    reading = source.read()
    assert reading.participants == 3 and "bytes 120000" in reading.detail


def test_cloudwatch_source_without_an_nlb_is_unknown(app: App) -> None:
    assert app.nlb is not None
    reading = CloudWatchSource(AwsClients(app.settings), app.nlb, app.clock).read()
    assert reading.unknown and "does not exist" in reading.detail
