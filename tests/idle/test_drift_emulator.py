"""A running platform on the AWS emulator (field delays, scaled) that drifts: the start
waits for DNS to be INSYNC, and the reconciler re-registers a replaced task and
redeploys a task whose NLB was recreated under it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from rq import Queue, SimpleWorker

from adapters.wiring import App
from bot.config import Settings
from bot.events import Event, EventKind, Notice, NoticeKind
from bot.model import SessionTags
from bot.state import PlatformState
from infra import jobs
from infra.aws.bootstrap import bootstrap
from infra.aws.dns_zone import read_soa
from infra.aws.elb import find_load_balancer
from infra.aws.nlb import NlbIngress
from infra.aws.session import AwsClients
from tests.idle.conftest import actor
from tests.support.aws import ready_account
from tests.support.services import https_front, wait_for

AppFactory = Callable[..., App]


@pytest.fixture
def make_app(emulator_url: str, redis_url: str, project: str) -> Iterator[AppFactory]:
    made: list[App] = []

    def make(**extra: Any) -> App:
        settings = Settings(
            project_name=project,
            redis_url=redis_url,
            aws_endpoint_url=emulator_url,
            domain="meet.drift.example",
            poll_min_seconds=0.05,
            poll_max_seconds=0.2,
            start_timeout_seconds=60,
            reconcile_interval_seconds=0,
            lock_lease_seconds=2,
            **{**https_front(emulator_url), **extra},
        )
        settings = ready_account(settings)
        bootstrap(settings, AwsClients(settings))
        app = App(settings)
        jobs.install(app.job_context())
        made.append(app)
        return app

    yield make
    jobs.install(None)
    for app in made:
        app.parts.compute.scale(0)
        app.parts.ingress.remove(lambda _m, _d: None)
        app.redis.close()


def run_jobs(app: App) -> None:
    queue = Queue(app.keys.queue_name, connection=app.redis)
    SimpleWorker([queue], connection=app.redis).work(burst=True)


def start(app: App) -> list[Event]:
    reply = app.service.handle("start", actor())
    assert reply.job_id
    run_jobs(app)
    assert app.store.status().state is PlatformState.RUNNING
    rows = app.redis.xrange(app.keys.job_events(reply.job_id))
    return [Event.from_fields({k.decode(): v.decode() for k, v in r.items()}) for _, r in rows]


def repairs(app: App) -> list[Notice]:
    rows = app.redis.xrange(app.keys.notices)
    found = [Notice.from_fields({k.decode(): v.decode() for k, v in r.items()}) for _, r in rows]
    return [n for n in found if n.kind is NoticeKind.REPAIR]


def targets(app: App) -> set[str]:
    view = app.parts.ingress.describe()
    assert view is not None
    return {t.target_id for t in view.targets}


def running(app: App) -> list[Any]:
    return [t for t in app.parts.compute.tasks() if t.private_ip]


def hosted_zone(emulator_url: str, project: str) -> str:
    clients = AwsClients(Settings(project_name=project, aws_endpoint_url=emulator_url))
    zone = clients.route53.create_hosted_zone(Name="drift.example", CallerReference=project)
    return str(zone["HostedZone"]["Id"]).rsplit("/", 1)[-1]


def test_the_url_waits_until_dns_is_insync_and_the_soa_is_lowered(
    make_app: AppFactory, emulator_url: str, project: str
) -> None:
    zone = hosted_zone(emulator_url, project)
    app = make_app(hosted_zone_id=zone)
    soa = read_soa(app.settings, AwsClients(app.settings))
    assert (soa.ttl, soa.minimum) == (60, 60)  # bootstrap lowered both (RFC 2308)
    events = start(app)
    order = [(e.kind, e.step) for e in events]
    dns_sync_done = order.index((EventKind.STEP_FINISHED, "dns-sync"))
    url = next(i for i, (kind, _) in enumerate(order) if kind is EventKind.URL_READY)
    assert order.index((EventKind.STEP_FINISHED, "dns")) < dns_sync_done < url
    pending = [e for e in events if e.step == "dns-sync" and e.kind is EventKind.WAITING]
    assert any("pending" in e.message for e in pending)  # Route 53 said PENDING first
    assert app.parts.dns.in_sync()


def test_a_replaced_task_is_registered_again(make_app: AppFactory) -> None:
    app = make_app()
    start(app)
    (old,) = running(app)
    assert targets(app) == {old.private_ip}
    clients = AwsClients(app.settings)
    clients.ecs.stop_task(cluster=app.settings.cluster_name, task=old.arn, reason="by hand")
    new = wait_for(
        lambda: [t for t in running(app) if t.arn != old.arn], 20, "the replacement task"
    )
    assert isinstance(new, list)
    assert jobs.reconcile() == "repaired targets"
    assert targets(app) == {new[0].private_ip}
    (repair,) = repairs(app)
    assert "the running task was not the load balancer's target" in repair.text
    assert f"deregistered {old.private_ip}" in repair.text
    assert jobs.reconcile() == "converged"


def test_an_nlb_recreated_under_the_task_is_republished_and_the_service_redeployed(
    make_app: AppFactory,
) -> None:
    app = make_app()
    start(app)
    (old,) = running(app)
    before = app.parts.advertised.current()
    ingress = app.parts.ingress
    assert isinstance(ingress, NlbIngress)
    # Someone deletes the NLB and a script makes it again: same name, new addresses.
    ingress.remove(lambda _m, _d: None)
    wait_for(lambda: not ingress.remaining(), 20, "the old NLB gone")
    ingress.bring_up(SessionTags("by-hand", "someone"), lambda _m, _d: None)
    fresh = wait_for(ingress.advertised_addresses, 20, "the new NLB's addresses")
    assert isinstance(fresh, list) and set(fresh).isdisjoint(before)

    assert jobs.reconcile() == "repaired stale advertised addresses"
    assert app.parts.advertised.current() == sorted(fresh)
    (new,) = running(app)
    assert new.arn != old.arn  # redeployed: JVB read the new addresses at start
    published = app.parts.advertised.published_at()
    assert new.created_at is not None and published is not None
    assert new.created_at > published
    assert targets(app) == {new.private_ip}
    assert app.store.status().state is PlatformState.RUNNING
    (repair,) = repairs(app)
    assert "recreated under the running task" in repair.text
    assert "redeployed the service: the new task is registered and healthy" in repair.text
    assert jobs.reconcile() == "converged"


def test_a_lost_nlb_is_brought_back_and_the_task_redeployed(make_app: AppFactory) -> None:
    app = make_app()
    start(app)
    (old,) = running(app)
    clients = AwsClients(app.settings)
    lb = find_load_balancer(app.settings, clients)
    assert lb is not None
    clients.elbv2.delete_load_balancer(LoadBalancerArn=lb.arn)  # by hand; the task bills on
    assert jobs.reconcile() == "repaired a task with no NLB"
    (new,) = running(app)
    assert new.arn != old.arn
    assert targets(app) == {new.private_ip}
    reachable = app.parts.ingress.advertised_addresses()
    assert app.parts.advertised.current() == sorted(reachable)
    texts = [n.text for n in repairs(app)]
    assert any("recreated under the running task" in t for t in texts)
    assert any("AWS had a task with no NLB" in t for t in texts)
