"""Start and stop as convergent, idempotent step sequences over the ports.

A job killed at any point can run again: every step finds what exists before
creating anything. A start checks the desired state at each step boundary and
while it waits; when someone asked for ``stop`` it undoes what it made.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from bot.config import Settings
from bot.cost import CostModel, money
from bot.errors import BotError, Cancelled, CloudError, LifecycleTimeout
from bot.events import EventKind
from bot.model import JobKind, JobSpec, LoadBalancer, TargetHealth, Task
from bot.polling import poll
from bot.ports import Clock, CloudPlatform, EventSink, Ledger, PlatformStore
from bot.progress import Reporter
from bot.state import DesiredState, PlatformState, PlatformStatus


@dataclass(frozen=True, slots=True)
class Lifecycle:
    settings: Settings
    cloud: CloudPlatform
    store: PlatformStore
    sink: EventSink
    clock: Clock
    ledger: Ledger
    costs: CostModel

    def run(self, spec: JobSpec) -> bool:
        """Run the job ``spec`` to its end; True on success. Always emits FINISHED."""
        job = _Job(self, spec)
        return job.start() if spec.kind is JobKind.START else job.stop()


class _Job:
    def __init__(self, life: Lifecycle, spec: JobSpec) -> None:
        self.life = life
        self.spec = spec
        self.cloud = life.cloud
        self.settings = life.settings
        self.report = Reporter(spec.job_id, life.sink, life.clock)
        life.cloud.observe_progress(self.report.note)
        self.calls_before = sum(life.cloud.call_counts().values())
        self.began = life.clock.monotonic()

    # -- helpers -------------------------------------------------------------------
    def _save(self, state: PlatformState, **changes: object) -> PlatformStatus:
        status = self.life.store.status()
        moved = status.moved_to(state, self.life.clock.now())
        moved = replace(moved, **changes)  # type: ignore[arg-type]
        self.life.store.save(moved)
        return moved

    def _check_cancel(self) -> None:
        if self.life.store.status().desired is DesiredState.STOPPED:
            raise Cancelled("A stop was requested while starting.")

    def _wait(self, step: str, what: str, probe, done, *, cancellable: bool = True):  # type: ignore[no-untyped-def]
        s = self.settings
        last_note = [""]

        def on_wait(result: object, waited: float) -> None:
            if cancellable:
                self._check_cancel()
            note = _describe(result)
            if note != last_note[0]:  # coalesce: one WAITING event per change of state
                last_note[0] = note
                self.report.waiting(step, f"Waiting for {what}: {note}", waited)

        timeout = s.start_timeout_seconds if cancellable else s.stop_timeout_seconds
        return poll(
            probe,
            done,
            clock=self.life.clock,
            timeout=timeout,
            what=what,
            min_interval=s.poll_min_seconds,
            max_interval=s.poll_max_seconds,
            on_wait=on_wait,
        )

    def _finish(self, ok: bool, message: str) -> bool:
        calls = sum(self.cloud.call_counts().values()) - self.calls_before
        self.report.emit(
            EventKind.FINISHED,
            message,
            ok=ok,
            aws_calls=calls,
            seconds=round(self.life.clock.monotonic() - self.began, 3),
            job_kind=self.spec.kind.value,
        )
        return ok

    # -- start -------------------------------------------------------------------
    def start(self) -> bool:
        status = self.life.store.status()
        session_started = status.session_started_at or self.life.clock.now()
        room = self.spec.room or status.session_room
        self._save(
            PlatformState.STARTING,
            session_started_at=session_started,
            session_room=room,
            started_by=self.spec.actor.user,
            last_error=None,
        )
        self.report.emit(EventKind.NOTICE, "A worker picked up the start.", picked_up=True)
        try:
            lb = self._bring_up()
        except Cancelled as exc:
            self.report.emit(EventKind.NOTICE, f"{exc} Undoing what was made.", cancelled=True)
            clean = self._tear_down(rollback=True)
            return self._finish(clean, "Start cancelled by a stop; platform torn down.")
        except BotError as exc:
            self.report.emit(EventKind.ERROR, exc.user_message(), error=type(exc).__name__)
            self.life.store.set_desired(DesiredState.STOPPED.value, self.spec.actor)
            clean = self._tear_down(rollback=True, error=exc.user_message())
            note = (
                "Rolled back: nothing is left running."
                if clean
                else "Rollback left resources: see the audit."
            )
            return self._finish(False, f"Start failed. {note}")
        url = self._meeting_url(room)
        self._save(PlatformState.RUNNING, url=url, nlb_dns=lb.dns_name)
        self.report.emit(EventKind.URL_READY, f"Meeting ready: {url}", url=url, nlb_dns=lb.dns_name)
        costs = self.life.costs
        items = [{"label": i.label, "per_hour": round(i.amount, 5)} for i in costs.running_items()]
        self.report.emit(
            EventKind.COST,
            f"Running costs {money(costs.running_hour)} per hour "
            f"(idle: {money(costs.idle_month)} per month).",
            running_hour=round(costs.running_hour, 5),
            items=items,
            idle_month=round(costs.idle_month, 4),
        )
        return self._finish(True, f"Platform running: {url}")

    def _bring_up(self) -> LoadBalancer:
        user, session = self.spec.actor.user, self.spec.job_id
        # One step for the three: a driver may make them in one operation (the
        # Terraform driver applies the jvb-nlb module), and its progress then
        # shows under the step a user expects.
        with self.report.step("load-balancer"):
            groups = self.cloud.ensure_target_groups(user, session)
            lb = self.cloud.ensure_load_balancer(user, session)
            self.cloud.ensure_listeners(lb, groups)
        self._check_cancel()
        # JVB reads its advertised addresses at start, so they must be in SSM
        # before the task starts; the NLB's interfaces appear within seconds,
        # long before it is active, so this wait is short.
        with self.report.step("advertise-ips"):
            ips = self._wait(
                "advertise-ips",
                "the NLB's network interfaces",
                lambda: self.cloud.load_balancer_public_ips(lb),
                bool,
            )
            self.cloud.publish_advertise_ips(sorted(ips))
        if self.settings.hosted_zone_id:
            with self.report.step("dns"):
                self.cloud.upsert_dns(lb)
        self._check_cancel()
        # Do not wait for the NLB to be active: its provisioning and the task's
        # start overlap, which is where the time-to-URL is won.
        with self.report.step("scale-up"):
            self.cloud.set_desired_count(1)
        with self.report.step("register"):
            tasks = self._wait("register", "the task's private IP", self._running_tasks, bool)
            self.cloud.register_targets(sorted({t.private_ip for t in tasks if t.private_ip}))
        self._check_cancel()
        with self.report.step("healthy"):
            self._wait_healthy()
        current = self.cloud.describe_load_balancer()
        return current or lb

    def _running_tasks(self) -> list[Task]:
        return [
            t for t in self.cloud.list_tasks() if t.private_ip and t.desired_status == "RUNNING"
        ]

    def _wait_healthy(self) -> None:
        grace = self.settings.unhealthy_grace_seconds
        first_unhealthy: list[float] = []

        def probe() -> tuple[LoadBalancer | None, list[TargetHealth]]:
            lb = self.cloud.describe_load_balancer()
            # An NLB health-checks its targets only once it is active: until
            # then their health is "initial" by definition, not worth a call.
            return lb, self.cloud.target_health() if lb is not None and lb.active else []

        def done(result: tuple[LoadBalancer | None, list[TargetHealth]]) -> bool:
            lb, targets = result
            if lb is None:
                raise CloudError(
                    "The load balancer disappeared while starting.",
                    "Someone deleted it; run start again.",
                )
            bad = [t for t in targets if t.state == "unhealthy"]
            now = self.life.clock.monotonic()
            if bad:
                first_unhealthy[:1] = first_unhealthy[:1] or [now]
                if now - first_unhealthy[0] >= grace:
                    reasons = ", ".join(
                        sorted({f"{t.target_group}: {t.reason or 'unhealthy'}" for t in bad})
                    )
                    raise CloudError(
                        f"Targets stayed unhealthy for {grace:.0f} s ({reasons}).",
                        f"Check the task's logs (/ecs/{self.settings.project_name}) and that "
                        "jitsi-web answers on 8080 /about/health.",
                    )
            else:
                first_unhealthy.clear()
            return lb.active and bool(targets) and all(t.healthy for t in targets)

        self._wait("healthy", "healthy targets and an active NLB", probe, done)

    def _meeting_url(self, room: str | None) -> str:
        base = self.settings.meeting_base_url
        return f"{base}/{room}" if room else base

    # -- stop --------------------------------------------------------------------
    def stop(self) -> bool:
        self._save(PlatformState.STOPPING)
        self.report.emit(EventKind.NOTICE, "A worker picked up the stop.", picked_up=True)
        try:
            clean = self._tear_down(rollback=False)
        except BotError as exc:
            self.report.emit(EventKind.ERROR, exc.user_message(), error=type(exc).__name__)
            self._save(PlatformState.FAILED, last_error=exc.user_message())
            return self._finish(False, "Stop failed; the platform may still bill. Run stop again.")
        return self._finish(
            clean, "Platform stopped." if clean else "Stopped, but resources remain."
        )

    def _tear_down(self, *, rollback: bool, error: str | None = None) -> bool:
        """Remove everything billable, audit, account the session. True when the audit is clean."""
        if rollback:
            status = self.life.store.status()
            if status.state is not PlatformState.STOPPING:
                self._save(PlatformState.STOPPING)
        with self.report.step("scale-down"):
            self.cloud.set_desired_count(0)
        lb = self.cloud.describe_load_balancer()
        with self.report.step("delete-load-balancer"):
            if lb is not None:
                self.cloud.delete_listeners(lb)
                self.cloud.delete_load_balancer(lb)
                if self.settings.hosted_zone_id:
                    self.cloud.delete_dns()
                self._wait(
                    "delete-load-balancer",
                    "the NLB to be deleted",
                    self.cloud.describe_load_balancer,
                    lambda v: v is None,
                    cancellable=False,
                )
                # Its interfaces (and their public IPv4 addresses, billed hourly)
                # outlive the NLB for a while; the audit must not race them.
                self._wait(
                    "delete-load-balancer",
                    "the NLB's network interfaces to go",
                    lambda: self.cloud.load_balancer_public_ips(lb),
                    lambda ips: not ips,
                    cancellable=False,
                )
        with self.report.step("delete-target-groups"):
            self.cloud.delete_target_groups()
        with self.report.step("tasks-stopped"):
            self._wait(
                "tasks-stopped",
                "the task to stop",
                lambda: [
                    t
                    for t in self.cloud.list_tasks(include_stopped=True)
                    if t.last_status != "STOPPED"
                ],
                lambda tasks: not tasks,
                cancellable=False,
            )
        with self.report.step("audit"):
            clean = self._audit()
        self._account_session(error)
        return clean

    def _audit(self) -> bool:
        found = self.cloud.audit()
        costs = self.life.costs
        rows = [
            {
                "kind": r.kind.value,
                "id": r.resource_id,
                "name": r.name,
                "per_hour": round(costs.resource_hour(r), 5),
                "detail": r.detail,
            }
            for r in found
        ]
        total = sum(costs.resource_hour(r) for r in found)
        if rows:
            self.report.emit(
                EventKind.AUDIT,
                f"Audit: {len(rows)} resource(s) still exist, costing {money(total)} per hour. "
                "Run stop again or remove them by hand.",
                clean=False,
                resources=rows,
                per_hour=round(total, 5),
            )
            return False
        self.report.emit(
            EventKind.AUDIT,
            "Audit clean: nothing billable is left.",
            clean=True,
            resources=[],
            per_hour=0.0,
        )
        return True

    def _account_session(self, error: str | None) -> None:
        status = self.life.store.status()
        now = self.life.clock.now()
        costs = self.life.costs
        if status.session_started_at:
            seconds = max(now - status.session_started_at, 0.0)
            cost = costs.session_cost(seconds)
            self.life.ledger.record_session(status.session_started_at, now, cost)
            hours, month = self.life.ledger.month_to_date(now)
            self.report.emit(
                EventKind.COST,
                f"Session lasted {_duration(seconds)} and cost about {money(cost)}. "
                f"Idle from now on: {money(costs.idle_month)} per month. "
                f"This month: {hours:.1f} h, {money(month)}.",
                session_seconds=round(seconds, 1),
                session_cost=round(cost, 4),
                idle_month=round(costs.idle_month, 4),
                month_hours=round(hours, 3),
                month_cost=round(month, 4),
            )
        self._save(
            PlatformState.STOPPED,
            url=None,
            nlb_dns=None,
            session_started_at=None,
            session_room=None,
            last_error=error,
        )


def _describe(result: object) -> str:
    """A short, stable summary of a probe result, for coalesced WAITING events."""
    if isinstance(result, tuple) and len(result) == 2:
        lb, targets = result
        lb_state = lb.state if isinstance(lb, LoadBalancer) else "missing"
        states = sorted({t.state for t in targets}) if isinstance(targets, list) else []
        pending = "checked once it is active" if lb_state != "active" else "none"
        return f"NLB {lb_state}, targets {'/'.join(states) or pending}"
    if isinstance(result, list):
        return f"{len(result)} found" if result else "none yet"
    if result is None:
        return "gone"
    return type(result).__name__


def _duration(seconds: float) -> str:
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours} h {minutes} min"
    return f"{minutes} min {secs} s" if minutes else f"{secs} s"


__all__ = ["Lifecycle", "LifecycleTimeout"]
