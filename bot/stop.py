"""A stop, and the rollback of a start: scale to zero, take the domain away from the
address, remove the way in, wait until the task and every billable part are gone,
audit, and account the session. Every path ends with the audit."""

from __future__ import annotations

import contextlib

from bot.cost import money, rounded
from bot.errors import BotError, CloudError, LifecycleTimeout
from bot.events import EventKind
from bot.fmt import duration, sentence
from bot.job import Deps, JobRun, remaining
from bot.model import BillableResource, JobResult, SessionCost, Task
from bot.state import PlatformState
from bot.traffic import TrafficCost, traffic_cost


def run_stop(run: JobRun) -> JobResult:
    """Tear everything down; the result carries the session's cost when one ended."""
    run.save(PlatformState.STOPPING)
    run.report.emit(EventKind.NOTICE, "A worker picked up the stop.", picked_up=True)
    try:
        clean, session = tear_down_retrying(run, rollback=False)
    except BotError as exc:
        left = report_unfinished(run, exc)
        run.finish(False, f"Stop failed. {left}")
        return JobResult(False)
    run.finish(clean, "Platform stopped." if clean else "Stopped, but resources remain.")
    return JobResult(clean, session)


def tear_down(
    run: JobRun, *, rollback: bool, error: str | None = None
) -> tuple[bool, SessionCost | None]:
    """Remove everything billable, audit, account the session.

    Returns (the audit is clean, the session that ended if one was running)."""
    if rollback and run.deps.store.status().state is not PlatformState.STOPPING:
        run.save(PlatformState.STOPPING)
    parts, step = run.parts, run.report.step
    # The domain goes first, before the task is told to stop: a record must never
    # point at an address that is being released (whoever gets it next would receive
    # the meeting's visitors; in direct mode the address is the task's own). A stop
    # killed anywhere from here on leaves either a live task behind the record or no
    # record at all.
    if parts.dns.enabled:
        with step("dns-delete"):
            parts.dns.delete()
    with step("scale-down"):
        parts.compute.scale(0)
    ingress = parts.ingress
    with step("remove-ingress"):
        ingress.remove(run.report.note)
        # Its network interfaces (and their public IPv4 addresses, billed hourly)
        # outlive a deleted NLB for a while: the audit must not race them.
        run.wait(
            "remove-ingress",
            "the way in to be removed",
            ingress.remaining,
            lambda left: not left,
            remaining,
            cancellable=False,
        )
    with step("tasks-stopped"):
        run.wait(
            "tasks-stopped",
            "the task to stop",
            lambda: _not_stopped(run),
            lambda tasks: not tasks,
            lambda tasks: f"{len(tasks)} still running" if tasks else "gone",
            cancellable=False,
        )
    with step("audit"):
        clean = _audit(run)
    return clean, _account_session(run, error)


# Backoff between whole teardown attempts while AWS fails: from the poll ceiling
# up to a minute, so a long outage costs a call every minute, not a storm.
_RETRY_CAP_SECONDS = 60.0


def tear_down_retrying(
    run: JobRun, *, rollback: bool, error: str | None = None
) -> tuple[bool, SessionCost | None]:
    """``tear_down``, run again with backoff while AWS fails retryably (unreachable,
    throttling, 5xx, a wait that timed out), for up to ``teardown_retry_seconds``.

    Every step of a teardown finds what is left before acting, so running it again
    is safe. After the budget the last error is raised (see ``report_unfinished``)."""
    clock = run.deps.clock
    budget = run.settings.teardown_retry_seconds
    began = clock.monotonic()
    delay = max(run.settings.poll_max_seconds, 0.05)
    while True:
        try:
            return tear_down(run, rollback=rollback, error=error)
        except (CloudError, LifecycleTimeout) as exc:
            waited = clock.monotonic() - began
            if (isinstance(exc, CloudError) and not exc.retryable) or waited >= budget:
                raise
            pause = min(delay, budget - waited)
            run.report.emit(
                EventKind.NOTICE,
                f"{sentence(exc.user_message())} Trying again in {duration(pause)} "
                "to remove what is left.",
                retrying=True,
                error=type(exc).__name__,
            )
            clock.sleep(pause)
            delay = min(delay * 2, _RETRY_CAP_SECONDS)


def report_unfinished(run: JobRun, exc: BotError) -> str:
    """A teardown gave up: say why, what is left and what it costs per hour (the audit's
    answer when AWS gives one, else everything a start makes), record the failure.

    Returns the summary for the job's last event. AWS failing again here is part of
    the report, not a new error."""
    costs = run.deps.costs
    per_hour: float | None
    try:
        found = run.parts.audit.billable()
    except BotError:
        found = None
    if found is None:
        per_hour = costs.running_hour
        what = (
            "AWS did not answer the audit, so the way in and the task may still exist, "
            f"costing up to {money(per_hour)} per hour"
        )
        rows: list[dict[str, object]] = []
    elif not found:
        per_hour, rows = 0.0, []
        what = "The audit finds nothing billable left"
    else:
        per_hour = costs.total_hour(found)
        what = f"{len(found)} resource(s) still exist, costing {money(per_hour)} per hour"
        rows = _rows(run, found)
    why = sentence(exc.user_message())
    retry = (
        "The reconciler keeps removing them every "
        f"{duration(run.settings.reconcile_fast_interval_seconds)} until the audit is clean."
        if run.settings.reconcile_interval_seconds > 0
        else "Run stop again once AWS answers."
    )
    message = f"Could not remove everything: {why} {sentence(what)} {retry}"
    run.report.emit(EventKind.ERROR, why, error=type(exc).__name__)
    run.report.emit(
        EventKind.AUDIT,
        message,
        clean=False,
        known=found is not None,
        resources=rows,
        per_hour=rounded(per_hour, 5),
    )
    # An illegal transition must not hide the report above; the state is the
    # reconciler's to converge.
    with contextlib.suppress(BotError):
        run.save(PlatformState.FAILED, last_error=message)
    return sentence(what)


def _not_stopped(run: JobRun) -> list[Task]:
    return [t for t in run.parts.compute.tasks(include_stopped=True) if t.last_status != "STOPPED"]


def _rows(run: JobRun, found: list[BillableResource]) -> list[dict[str, object]]:
    """The audit's findings as event data, each with its hourly cost."""
    costs = run.deps.costs
    return [
        {
            "kind": r.kind.value,
            "id": r.resource_id,
            "name": r.name,
            "per_hour": rounded(costs.resource_hour(r), 5),
            "detail": r.detail,
        }
        for r in found
    ]


def _audit(run: JobRun) -> bool:
    found = run.parts.audit.billable()
    costs = run.deps.costs
    rows = _rows(run, found)
    total = costs.total_hour(found)
    if rows:
        run.report.emit(
            EventKind.AUDIT,
            f"Audit: {len(rows)} resource(s) still exist, costing {money(total)} per hour. "
            "Run stop again or remove them by hand.",
            clean=False,
            resources=rows,
            per_hour=rounded(total, 5),
        )
        return False
    run.report.emit(
        EventKind.AUDIT,
        "Audit clean: nothing billable is left.",
        clean=True,
        resources=[],
        per_hour=0.0,
    )
    return True


def _traffic(deps: Deps, started_at: float, ended_at: float) -> TrafficCost | None:
    """The session's measured traffic priced, or None (no meter, no prices, no reading)."""
    if deps.traffic is None or deps.costs.prices is None:
        return None
    reading = deps.traffic.session_traffic(started_at, ended_at)
    if reading is None:
        return None
    cost = traffic_cost(reading, deps.costs.prices)
    if deps.traffic_log is not None:
        deps.traffic_log.record(ended_at, cost.gigabytes, cost.total, reading.participant_hours)
    return cost


def _account_session(run: JobRun, error: str | None) -> SessionCost | None:
    """Record the ended session in the ledger, say what it cost, mark the platform stopped."""
    deps = run.deps
    status = deps.store.status()
    now = deps.clock.now()
    costs = deps.costs
    session: SessionCost | None = None
    if status.session_started_at:
        seconds = max(now - status.session_started_at, 0.0)
        session = SessionCost(seconds, costs.session_cost(seconds))
        # An unknown cost (no prices for the region) counts as nothing in the ledger's
        # dollars; its hours still count, and the month's total is then shown unknown.
        deps.ledger.record_session(status.session_started_at, now, session.cost or 0.0)
        hours, month = deps.ledger.month_to_date(now)
        month_cost = month if costs.known else None
        unknown = f" (prices unknown: {costs.unknown_reason})" if not costs.known else ""
        traffic = _traffic(deps, status.session_started_at, now)
        run.report.emit(
            EventKind.COST,
            f"Session lasted {duration(seconds)} and cost about {money(session.cost)} "
            f"by the hour. {traffic.text() + ' ' if traffic else ''}"
            f"Idle from now on: {money(costs.idle_month)} per month. "
            f"This month: {hours:.1f} h, {money(month_cost)}.{unknown}",
            traffic_gb=None if traffic is None else round(traffic.gigabytes, 4),
            traffic_cost=None if traffic is None else round(traffic.total, 4),
            session_seconds=round(seconds, 1),
            session_cost=rounded(session.cost, 4),
            idle_month=rounded(costs.idle_month, 4),
            month_hours=round(hours, 3),
            month_cost=rounded(month_cost, 4),
        )
    run.save(
        PlatformState.STOPPED,
        url=None,
        ingress_address=None,
        session_started_at=None,
        session_room=None,
        last_error=error,
    )
    return session
