"""Drift repair: what AWS has against what Redis says should be, every few minutes.

Runs inside ``infra.worker.reconcile`` with the lifecycle lock held and no job
under way. Each repair is announced as a REPAIR notice with the hourly cost it
saved. Repairs go through the lifecycle (find-or-create, teardown + audit), so
they are as safe to interrupt as any job.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.cost import money
from bot.events import NoticeKind
from bot.model import BillableResource, JobKind, JobSpec, LoadBalancer, ResourceKind
from bot.state import DesiredState, PlatformState
from infra.guard import Guards, announce, ensure_monitor
from infra.keys import SUMMARY_MARK_TTL_SECONDS

log = logging.getLogger("jitsi.reconciler")

BILLABLE = frozenset(
    {
        ResourceKind.LOAD_BALANCER,
        ResourceKind.TASK,
        ResourceKind.ELASTIC_IP,
        ResourceKind.NETWORK_INTERFACE,
    }
)
_LABEL = {
    ResourceKind.LOAD_BALANCER: "load balancer",
    ResourceKind.TASK: "task",
    ResourceKind.ELASTIC_IP: "elastic IP",
    ResourceKind.NETWORK_INTERFACE: "network interface",
}

RunJob = Callable[[JobSpec], bool]


def clear_stale_lock(g: Guards) -> bool:
    """Delete a lifecycle lock that has no lease (its owner can never release it)."""
    if g.redis.pttl(g.keys.lock) != -1:
        return False  # absent (-2), or a lease that runs out by itself
    g.redis.delete(g.keys.lock)
    announce(
        g,
        NoticeKind.REPAIR,
        "Reconciler: removed a lifecycle lock with no lease (its owner had died); "
        "starts and stops can run again.",
        repair="stale-lock",
        saved_per_hour=0.0,
    )
    return True


def repair(g: Guards, run: RunJob, actor_spec: Callable[[JobKind], JobSpec]) -> str:
    """Compare and repair; say what was done. ``run`` runs a lifecycle job under the lock."""
    status = g.store.status()
    cloud, costs = g.lifecycle.cloud, g.lifecycle.costs
    if status.desired is DesiredState.STOPPED and status.state is PlatformState.STOPPED:
        found = [r for r in cloud.audit() if r.kind in BILLABLE]
        if not found:
            return "converged"
        per_hour = sum(costs.resource_hour(r) for r in found)
        run(actor_spec(JobKind.STOP))
        _delete_strays(g)
        left = [r for r in cloud.audit() if r.kind in BILLABLE]
        saved = per_hour - sum(costs.resource_hour(r) for r in left)
        what = _describe(found)
        text = (
            f"Reconciler: the platform is stopped but {what} existed, costing "
            f"{money(per_hour)} per hour. Removed it: saves {money(saved)} per hour."
        )
        if left:
            text += f" Still there: {_describe(left)}; remove by hand (`jitsi-bot infra audit`)."
        announce(
            g,
            NoticeKind.REPAIR,
            text,
            repair="stopped-with-billables",
            resources=[r.resource_id for r in found],
            saved_per_hour=round(saved, 5),
        )
        return f"removed {what}"
    if status.desired is DesiredState.RUNNING and status.state is PlatformState.RUNNING:
        lb = cloud.describe_load_balancer()
        tasks = [t for t in cloud.list_tasks() if t.desired_status == "RUNNING"]
        if lb is not None and tasks:
            ensure_monitor(g)
            return "converged"
        if lb is not None:
            drift, useless = "an NLB with no running task", costs.nlb_hour
        elif tasks:
            drift, useless = "a task with no NLB", costs.task_hour
        else:
            drift, useless = "neither NLB nor task", 0.0
        ok = run(actor_spec(JobKind.START))
        announce(
            g,
            NoticeKind.REPAIR,
            f"Reconciler: the platform should run but AWS had {drift} "
            f"({money(useless)} per hour billed for nothing). "
            + ("Brought it back up." if ok else "Restarting failed; it was rolled back."),
            repair="running-drift",
            drift=drift,
            saved_per_hour=round(useless, 5),
        )
        ensure_monitor(g)
        return f"repaired {drift}"
    return "converged"


def _delete_strays(g: Guards) -> None:
    """Project-tagged NLBs under another name: the lifecycle only knows its own name."""
    cloud = g.lifecycle.cloud
    for r in cloud.audit():
        if r.kind is ResourceKind.LOAD_BALANCER:
            lb = LoadBalancer(r.resource_id, r.name, "", "active")
            cloud.delete_listeners(lb)
            cloud.delete_load_balancer(lb)


def _describe(found: list[BillableResource]) -> str:
    parts = []
    for kind in sorted({r.kind for r in found}, key=lambda k: k.value):
        n = sum(1 for r in found if r.kind is kind)
        label = _LABEL.get(kind, kind.value)
        parts.append(f"{n} {label}" + ("s" if n > 1 else ""))
    return ", ".join(parts)


def daily_summary(g: Guards) -> bool:
    """Post yesterday's hours and cost once a day at ``schedule_summary_hour`` (local)."""
    hour = g.settings.schedule.summary_hour
    if hour is None:
        return False
    zone = ZoneInfo(g.settings.schedule.timezone)
    now = datetime.fromtimestamp(g.lifecycle.clock.now(), zone)
    if now.hour < hour:
        return False
    day_start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    yesterday = datetime.fromordinal(day_start.toordinal() - 1).replace(tzinfo=zone)
    label = yesterday.strftime("%Y-%m-%d")
    if not g.redis.set(g.keys.summary_sent(label), "1", nx=True, ex=SUMMARY_MARK_TTL_SECONDS):
        return False
    lo, hi = int(yesterday.timestamp() * 1000), int(day_start.timestamp() * 1000) - 1
    seconds = cost = 0.0
    sessions = 0
    for _, row in g.redis.xrange(g.keys.ledger_sessions, min=lo, max=hi):
        seconds += float(row[b"ended_at"]) - float(row[b"started_at"])
        cost += float(row[b"cost"])
        sessions += 1
    hours, month = g.lifecycle.ledger.month_to_date(g.lifecycle.clock.now())
    announce(
        g,
        NoticeKind.SUMMARY,
        f"{label}: {sessions} session(s), {seconds / 3600:.1f} h, {money(cost)}. "
        f"This month: {hours:.1f} h, {money(month)}; idle cost "
        f"{money(g.lifecycle.costs.idle_month)} per month.",
        day=label,
        sessions=sessions,
        hours=round(seconds / 3600, 3),
        cost=round(cost, 4),
    )
    return True
