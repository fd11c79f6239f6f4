"""A stop, and the rollback of a start: scale to zero, take the domain away from the
address, remove the way in, wait until the task and every billable part are gone,
audit, and account the session. Every path ends with the audit."""

from __future__ import annotations

from bot.cost import money, rounded
from bot.errors import BotError
from bot.events import EventKind
from bot.fmt import duration
from bot.job import JobRun, remaining
from bot.model import JobResult, SessionCost, Task
from bot.state import PlatformState


def run_stop(run: JobRun) -> JobResult:
    """Tear everything down; the result carries the session's cost when one ended."""
    run.save(PlatformState.STOPPING)
    run.report.emit(EventKind.NOTICE, "A worker picked up the stop.", picked_up=True)
    try:
        clean, session = tear_down(run, rollback=False)
    except BotError as exc:
        run.report.emit(EventKind.ERROR, exc.user_message(), error=type(exc).__name__)
        run.save(PlatformState.FAILED, last_error=exc.user_message())
        run.finish(False, "Stop failed; the platform may still bill. Run stop again.")
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
    with step("scale-down"):
        parts.compute.scale(0)
    # The domain goes first: a record must never point at an address that is being
    # released (whoever gets it next would receive the meeting's visitors).
    if parts.dns.enabled:
        with step("dns-delete"):
            parts.dns.delete()
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


def _not_stopped(run: JobRun) -> list[Task]:
    return [t for t in run.parts.compute.tasks(include_stopped=True) if t.last_status != "STOPPED"]


def _audit(run: JobRun) -> bool:
    found = run.parts.audit.billable()
    costs = run.deps.costs
    rows = [
        {
            "kind": r.kind.value,
            "id": r.resource_id,
            "name": r.name,
            "per_hour": rounded(costs.resource_hour(r), 5),
            "detail": r.detail,
        }
        for r in found
    ]
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
        run.report.emit(
            EventKind.COST,
            f"Session lasted {duration(seconds)} and cost about {money(session.cost)}. "
            f"Idle from now on: {money(costs.idle_month)} per month. "
            f"This month: {hours:.1f} h, {money(month_cost)}.{unknown}",
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
