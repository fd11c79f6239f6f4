"""A rollback that cannot reach AWS: retried, reported once, then cleaned by the
reconciler at its fast cadence (real Redis and RQ; AWS parts are the recording fakes)."""

from __future__ import annotations

import time
from typing import Any

from rq import Queue
from rq.registry import ScheduledJobRegistry

from bot.errors import CloudError
from bot.events import NoticeKind
from bot.state import DesiredState, PlatformState
from infra import jobs
from tests.idle.conftest import actor
from tests.support.fake_parts import fake_parts

UNREACHABLE = CloudError(
    "AWS could not be reached while removing the way in.",
    "Check aws_endpoint_url in the configuration.",
    retryable=True,
)


def _next_run_in(rig: Any) -> float:
    """Seconds until the reconcile chain's scheduled run."""
    queue = Queue(rig.app.keys.queue_name, connection=rig.app.redis)
    registry = ScheduledJobRegistry(queue=queue)
    current = rig.app.redis.get(rig.app.keys.reconcile_scheduled).decode()
    score = rig.app.redis.zscore(registry.key, current)
    return float(score) - time.time()


def _run_chain(rig: Any) -> None:
    """Run the reconcile chain's scheduled run now, through RQ, as a worker would."""
    assert rig.make_due() >= 1
    rig.drain()


def _leftover_notices(rig: Any) -> list[str]:
    return [
        n.text
        for n in rig.notices()
        if n.kind is NoticeKind.REPAIR and n.data.get("repair") == "leftovers"
    ]


def test_unreachable_rollback_gets_one_notice_then_the_fast_reconciler_cleans_it(
    rig_factory: Any,
) -> None:
    rig = rig_factory(
        reconcile_interval_seconds=300,
        reconcile_fast_interval_seconds=30,
        unhealthy_grace_seconds=5,
        teardown_retry_seconds=60,
    )
    cloud = rig.cloud
    cloud.health_mode = "unhealthy"  # the start fails and rolls back
    cloud.fail_on.update({"ingress.remove": UNREACHABLE, "audit.billable": UNREACHABLE})
    rig.say("start")
    rig.drain()

    status = rig.app.store.status()
    assert status.desired is DesiredState.STOPPED and status.state is PlatformState.FAILED
    assert cloud.lb_created_at is not None  # the NLB still bills
    (notice,) = _leftover_notices(rig)
    assert "$0.235 per hour" in notice and "every 30 s" in notice
    assert not notice.endswith("..")
    # The failed job moved the chain to the fast cadence at once.
    assert 20 < _next_run_in(rig) <= 31

    # AWS still down: the reconciler's runs fail again, quietly (no notice per run).
    for _ in range(2):
        _run_chain(rig)
    assert len(_leftover_notices(rig)) == 1
    assert not [n for n in rig.notices() if n.kind is NoticeKind.JOB_FAILED]
    assert 20 < _next_run_in(rig) <= 31

    # AWS answers again: the next run removes everything and the audit is clean.
    cloud.fail_on.clear()
    _run_chain(rig)
    assert cloud.lb_created_at is None and cloud.desired == 0
    assert rig.app.store.status().state is PlatformState.STOPPED
    assert not [r for r in fake_parts(cloud).audit.billable() if r.billable]
    assert len(_leftover_notices(rig)) == 1
    gone = [n for n in rig.notices() if n.data.get("repair") == "leftovers-gone"]
    assert len(gone) == 1
    # Back to the normal cadence.
    assert _next_run_in(rig) > 250


def test_leftovers_after_a_stop_are_noticed_once_not_every_run(rig_factory: Any) -> None:
    from bot.model import BillableResource, ResourceKind

    rig = rig_factory(reconcile_interval_seconds=300, reconcile_fast_interval_seconds=30)
    rig.say("start")
    rig.drain()
    rig.say("stop")
    rig.drain()
    # An address nobody can release yet (e.g. still associated): every run finds it.
    rig.cloud.leftovers.append(BillableResource(ResourceKind.ELASTIC_IP, "eipalloc-1", "", 1))
    jobs.reconcile()  # as at a worker's start: begins the chain
    for _ in range(2):
        _run_chain(rig)
    (notice,) = _leftover_notices(rig)
    assert "1 elastic IP still exist" in notice and "$0.005 per hour" in notice
    assert 20 < _next_run_in(rig) <= 31
    rig.cloud.leftovers.clear()
    _run_chain(rig)
    assert _next_run_in(rig) > 250
    assert len([n for n in rig.notices() if n.data.get("repair") == "leftovers-gone"]) == 1


def test_a_new_start_ends_the_leftover_episode_without_an_all_clear(rig_factory: Any) -> None:
    rig = rig_factory(
        reconcile_interval_seconds=300,
        reconcile_fast_interval_seconds=30,
        unhealthy_grace_seconds=5,
        teardown_retry_seconds=60,
    )
    rig.cloud.health_mode = "unhealthy"
    rig.cloud.fail_on.update({"ingress.remove": UNREACHABLE, "audit.billable": UNREACHABLE})
    rig.say("start")
    rig.drain()
    assert len(_leftover_notices(rig)) == 1
    rig.cloud.fail_on.clear()
    rig.cloud.health_mode = "auto"
    rig.app.store.set_desired(DesiredState.RUNNING, actor())
    assert rig.app.reconciler.leftovers.next_interval() == 300
    assert not rig.app.reconciler.leftovers.mark.marked()
    assert not [n for n in rig.notices() if n.data.get("repair") == "leftovers-gone"]
