"""JVB stats formats, and the reconciler's repair of a running platform that drifted."""

from __future__ import annotations

from typing import Any

from bot.events import NoticeKind
from bot.state import PlatformState
from infra import jobs
from infra.idle_sources import HttpStatsSource
from tests.idle.conftest import StatsServer


def test_jvb_colibri_stats_and_prometheus_metrics(stats: StatsServer) -> None:
    stats.participants = 2
    assert HttpStatsSource("jvb", f"{stats.url}/colibri/stats", 1).read().participants == 2
    assert HttpStatsSource("jvb", f"{stats.url}/metrics", 1).read().participants == 2


def test_an_unreachable_source_is_unknown_not_idle() -> None:
    from tests.support.services import free_port

    reading = HttpStatsSource("jicofo", f"http://127.0.0.1:{free_port()}/stats", 1).read()
    assert reading.unknown and "unreachable" in reading.detail


def test_reconciler_brings_back_the_nlb_of_a_running_platform(rig_factory: Any) -> None:
    rig = rig_factory()
    rig.say("start")
    rig.drain()
    rig.cloud.lb_created_at = None  # someone deleted the NLB by hand; the task still bills
    assert jobs.reconcile() == "repaired a task with no NLB"
    assert rig.cloud.lb_created_at is not None
    assert rig.app.store.status().state is PlatformState.RUNNING
    (repair,) = [n for n in rig.notices() if n.kind is NoticeKind.REPAIR]
    assert "AWS had a task with no NLB ($0.197 per hour billed for nothing)" in repair.text
    assert "Brought it back up" in repair.text
    assert jobs.reconcile() == "converged"


def test_reconciler_restarts_the_monitor_chain_of_a_running_platform(rig_factory: Any) -> None:
    rig = rig_factory()
    rig.say("start")
    rig.drain()
    rig.app.redis.delete(rig.app.keys.monitor_scheduled)  # the chain was lost
    assert jobs.reconcile() == "converged"
    assert rig.app.redis.get(rig.app.keys.monitor_scheduled)


def test_one_reconcile_chain_however_many_runs_start(rig_factory: Any) -> None:
    from rq import Queue
    from rq.registry import ScheduledJobRegistry

    rig = rig_factory(reconcile_interval_seconds=300)
    for _ in range(3):  # e.g. three workers starting, each reconciling once
        assert jobs.reconcile() == "converged"
    queue = Queue(rig.app.keys.queue_name, connection=rig.app.redis)
    (next_run,) = ScheduledJobRegistry(queue=queue).get_job_ids()
    assert rig.app.redis.get(rig.app.keys.reconcile_scheduled).decode() == next_run


def test_daily_summary_is_posted_once_a_day(rig_factory: Any) -> None:
    import time

    rig = rig_factory(schedule={"summary_hour": 0})
    # Noon of today (UTC): a session that ended half an hour before "now" stays today's
    # even in a run at 00:10.
    real = time.time() // 86400 * 86400 + 43200
    rig.app.ledger.record_session(real - 5400, real - 1800, 0.42)  # ended "today" (real time)
    rig.clock.t = real + 86400 - rig.clock.m  # the reconciler runs tomorrow
    assert jobs.reconcile() == "converged"
    assert jobs.reconcile() == "converged"
    (summary,) = [n for n in rig.notices() if n.kind is NoticeKind.SUMMARY]
    assert "1 session(s), 1.0 h, $0.42" in summary.text
