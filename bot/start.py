"""A start, as a person would tell it: bring up the way in and the task side by side,
attach the task, point the domain at it, wait until a meeting is reachable, announce.

Every step finds what exists before creating anything, so a start killed anywhere
is simply run again. The desired state is checked at each step boundary and while
waiting: a stop asked for meanwhile wins, and what was made is removed.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.containers import first_failure, healthy, progress
from bot.cost import money, rounded
from bot.errors import BotError, Cancelled, CloudError
from bot.events import EventKind
from bot.job import JobRun, count
from bot.model import DnsTarget, JobResult, ProbeResult, Readiness, Task
from bot.preflight import require
from bot.state import DesiredState, PlatformState
from bot.stop import report_unfinished, tear_down_retrying


def run_start(run: JobRun) -> JobResult:
    """Bring the platform up and announce the URL; on any failure, roll back."""
    store = run.deps.store
    status = store.status()
    session_started = status.session_started_at or run.deps.clock.now()
    room = run.spec.room or status.session_room
    run.save(
        PlatformState.STARTING,
        session_started_at=session_started,
        session_room=room,
        started_by=run.spec.actor.user,
        last_error=None,
    )
    run.report.emit(EventKind.NOTICE, "A worker picked up the start.", picked_up=True)
    try:
        address = _bring_up(run)
    except Cancelled as exc:
        run.report.emit(EventKind.NOTICE, f"{exc} Undoing what was made.", cancelled=True)
        try:
            clean, session = tear_down_retrying(run, rollback=True)
        except BotError as failed:
            run.finish(False, f"Start cancelled; {report_unfinished(run, failed)}")
            return JobResult(False)
        run.finish(clean, "Start cancelled by a stop; platform torn down.")
        return JobResult(clean, session)
    except BotError as exc:
        run.report.emit(EventKind.ERROR, exc.user_message(), error=type(exc).__name__)
        store.set_desired(DesiredState.STOPPED, run.spec.actor)
        try:
            clean, session = tear_down_retrying(run, rollback=True, error=exc.user_message())
        except BotError as failed:
            left = report_unfinished(run, failed)
            run.finish(False, f"Start failed, and the rollback could not finish. {left}")
            return JobResult(False)
        note = (
            "Rolled back: nothing is left running."
            if clean
            else "Rollback left resources: see the audit."
        )
        run.finish(False, f"Start failed. {note}")
        return JobResult(False, session)
    url = _meeting_url(run, room)
    run.save(PlatformState.RUNNING, url=url, ingress_address=address)
    run.report.emit(EventKind.URL_READY, f"Meeting ready: {url}", url=url, ingress_address=address)
    costs = run.deps.costs
    items = [{"label": i.label, "per_hour": rounded(i.amount, 5)} for i in costs.running_items()]
    text = (
        f"Running costs {money(costs.running_hour)} per hour "
        f"(idle: {money(costs.idle_month)} per month)."
        if costs.known
        else f"Running cost unknown: {costs.unknown_reason}."
    )
    run.report.emit(
        EventKind.COST,
        text,
        running_hour=rounded(costs.running_hour, 5),
        items=items,
        idle_month=rounded(costs.idle_month, 4),
        unknown_reason=costs.unknown_reason or None,
    )
    run.finish(True, f"Platform running: {url}")
    return JobResult(True)


def _bring_up(run: JobRun) -> str | None:
    """The steps of a start; returns the ingress's address (for ``status``)."""
    ingress, compute = run.parts.ingress, run.parts.compute
    step = run.report.step
    # A few read-only calls first: a start that cannot succeed (no certificate, no
    # hosted zone, no base infrastructure) is refused before anything bills.
    with step("preflight"):
        require(run.parts.preflight.check())
    run.check_cancel()
    with step("ingress"):
        ingress.bring_up(run.tags, run.report.note)
    run.check_cancel()
    # The way in and the task come up side by side: the task starts as soon as
    # JVB can be told the addresses clients reach, long before an NLB is active,
    # so the NLB's provisioning and the task's start overlap. JVB reads them once,
    # at start, so they must be published before the service scales up.
    if ingress.advertises:
        with step("advertise-ips"):
            addresses = run.wait(
                "advertise-ips",
                "the public addresses",
                ingress.advertised_addresses,
                bool,
                count,
            )
            run.parts.advertised.publish(sorted(addresses))
        run.check_cancel()
    with step("scale-up"):
        # Tasks ECS stopped before this start (kept visible for an hour) are not ours to judge.
        earlier = {t.arn for t in compute.tasks(include_stopped=True)}
        compute.scale(1)
    # A way in that is the task's own address: the record is written the moment the
    # address exists (with the task's interface, long before it runs), so Route 53's
    # propagation overlaps the task's start instead of following it.
    early_dns = not ingress.advertises and run.parts.dns.enabled
    if early_dns:
        _point_domain(run, lambda: _new_tasks(run, earlier))
    with step("register"):
        tasks = run.wait(
            "register", "the task's private IP", lambda: _running(run, earlier), bool, count
        )
        run.retry("register", "the task to be registered", lambda: ingress.attach(tasks))
    run.check_cancel()
    if run.parts.dns.enabled and not early_dns:
        _point_domain(run, lambda: tasks)
    with step("containers"):
        run.wait(
            "containers",
            "healthy containers",
            lambda: _running(run, earlier),
            lambda seen: any(healthy(t) for t in seen),
            lambda seen: progress(seen[0]) if seen else "no task",
        )
    with step("healthy"):
        ready = _wait_ready(run)
    with step("https"):
        _wait_meeting_page(run)
    return ready.address or None


def _point_domain(run: JobRun, tasks: Callable[[], list[Task]]) -> None:
    """Upsert the domain's record at the ingress's target and wait until it is INSYNC."""
    with run.report.step("dns"):
        run.parts.dns.upsert(_dns_target(run, tasks))
    # A URL announced before every Route 53 server has the record sends people
    # to a name server that answers "no such name" (and their resolver caches it).
    with run.report.step("dns-sync"):
        run.wait("dns-sync", "DNS to be in sync", run.parts.dns.in_sync, bool, _sync_note)
    run.check_cancel()


def _new_tasks(run: JobRun, earlier: set[str]) -> list[Task]:
    """This start's tasks in any state (an address may exist before a private IP shows);
    fails like ``_running`` when ECS stops one."""
    tasks = _unfailed(run, earlier)
    return [t for t in tasks if t.arn not in earlier and t.desired_status == "RUNNING"]


def _running(run: JobRun, earlier: set[str]) -> list[Task]:
    """The service's running tasks with an address; fails as soon as ECS stops a new one
    for a reason of its own (a container exited, a health check failed, a secret is missing)."""
    tasks = _unfailed(run, earlier)
    return [t for t in tasks if t.private_ip and t.desired_status == "RUNNING"]


def _unfailed(run: JobRun, earlier: set[str]) -> list[Task]:
    """The service's tasks, stopped ones included; raises once ECS stopped a new one."""
    tasks = run.parts.compute.tasks(include_stopped=True)
    failed = first_failure(tasks, ignore=earlier)
    if failed:
        raise CloudError(
            f"The Jitsi task stopped: {failed}.",
            "Its containers' logs are in CloudWatch Logs; docs/jitsi.md lists what each "
            "docker-jitsi-meet image needs (jitsi-bot infra bootstrap recreates the task).",
        )
    return tasks


def _sync_note(insync: bool) -> str:
    return "in sync" if insync else "change pending on Route 53's servers"


def _wait_meeting_page(run: JobRun) -> None:
    """Until the meeting URL answers as a browser sees it: name resolved, certificate
    valid for the domain, the Jitsi page. Failures outlasting the grace are fatal
    (everything behind it is healthy by now, so they will not heal by themselves)."""
    url = run.settings.meeting_base_url
    grace = run.settings.unhealthy_grace_seconds
    clock = run.deps.clock
    failing_since: list[float] = []

    def done(seen: ProbeResult) -> bool:
        if seen.ok:
            return True
        failing_since[:1] = failing_since[:1] or [clock.monotonic()]
        if clock.monotonic() - failing_since[0] >= grace:
            raise CloudError(
                f"{url} did not answer as a meeting page for {grace:.0f} s: {seen.detail}.",
                "Check the certificate and the DNS record (`jitsi-bot doctor`).",
            )
        return False

    run.wait(
        "https",
        f"{url} over HTTPS",
        lambda: run.parts.probe.check(url),
        done,
        lambda seen: seen.detail,
    )


def _dns_target(run: JobRun, tasks: Callable[[], list[Task]]) -> DnsTarget:
    target = run.wait(
        "dns",
        "the address the domain points at",
        lambda: run.parts.ingress.dns_target(tasks()),
        lambda t: t is not None,
        lambda t: "known" if t is not None else "not yet known",
    )
    assert target is not None
    return target


def _wait_ready(run: JobRun) -> Readiness:
    """Until clients can reach the task; health failures are fatal once they outlast
    ``unhealthy_grace_seconds`` (a target may flap while the task warms up)."""
    grace = run.settings.unhealthy_grace_seconds
    clock = run.deps.clock
    failing_since: list[float] = []

    def done(seen: Readiness) -> bool:
        if seen.gone:
            raise CloudError(
                "The way in disappeared while starting.", "Someone deleted it; run start again."
            )
        if seen.failing:
            failing_since[:1] = failing_since[:1] or [clock.monotonic()]
            if clock.monotonic() - failing_since[0] >= grace:
                reasons = ", ".join(sorted(set(seen.failing)))
                raise CloudError(
                    f"Targets stayed unhealthy for {grace:.0f} s ({reasons}).", seen.hint
                )
        else:
            failing_since.clear()
        return seen.ready

    return run.wait(
        "healthy",
        "a reachable, healthy meeting",
        run.parts.ingress.readiness,
        done,
        lambda seen: seen.summary,
    )


def _meeting_url(run: JobRun, room: str | None) -> str:
    base = run.settings.meeting_base_url
    return f"{base}/{room}" if room else base
