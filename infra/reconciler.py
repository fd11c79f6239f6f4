"""The reconciler: converge AWS toward the desired state when no job is doing so.

Every run (a ``JobChain``, every ``reconcile_interval_seconds``, and once at each
worker start; every ``reconcile_fast_interval_seconds`` while something billable
is left with the platform meant to be stopped): clear a lock whose owner died,
resume a job whose worker died (same job id, so its followers keep rendering),
repair drift between Redis and AWS, post the daily summary. Repairs go through
the lifecycle (find-or-create, teardown and audit), so they are as safe to
interrupt as any job, and each is announced with the hourly cost it saved.
"""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.config import Settings
from bot.cost import CostModel, money, month_to_date, rounded
from bot.events import Event, EventKind, NoticeKind
from bot.model import (
    Actor,
    ChatPlatform,
    JobId,
    JobKind,
    JobResult,
    JobSpec,
    UserId,
)
from bot.ports import Clock, PlatformParts
from bot.state import DesiredState, PlatformState
from infra.chain import JobChain
from infra.drift import DriftRepair
from infra.events import RedisEventSink
from infra.guard import Guards
from infra.leftovers import Leftovers, billable, describe
from infra.lock import LeaseLock
from infra.queue import RQJobQueue
from infra.redis_store import RedisLedger, RedisPlatformStore, SummaryMarks
from infra.runner import LifecycleRunner

log = logging.getLogger("jitsi.reconciler")
SYSTEM = Actor(UserId("system:reconciler"), "notices", ChatPlatform.SYSTEM, "reconciler")

# RQ's scheduler moves due jobs to the queue about once a second: schedule that
# much early so runs are one interval apart, not one interval plus the lag.
SCHEDULER_LAG_SECONDS = 1.0
# A command claims the job slot, then queues the job: one Redis round trip apart.
# A claim younger than this and not yet queued (``job_claimed_at`` still set) is
# left to its command; one whose command died before queueing it is resumed by
# a later run.
CLAIM_GRACE_SECONDS = 30.0


class Reconciler:
    def __init__(
        self,
        settings: Settings,
        store: RedisPlatformStore,
        sink: RedisEventSink,
        parts: PlatformParts,
        costs: CostModel,
        clock: Clock,
        ledger: RedisLedger,
        marks: SummaryMarks,
        guards: Guards,
        runner: LifecycleRunner,
        queue: RQJobQueue,
        lock: Callable[[], LeaseLock],
        chain: JobChain,
    ) -> None:
        self.settings = settings
        self.store = store
        self.sink = sink
        self.parts = parts
        self.costs = costs
        self.clock = clock
        self.ledger = ledger
        self.marks = marks
        self.guards = guards
        self.runner = runner
        self.queue = queue
        self.lock = lock
        self.chain = chain
        self.drift = DriftRepair(parts, guards)
        self.leftovers = Leftovers(settings, store, parts, costs, guards, chain)

    def run(self, run_id: str) -> str:
        """One reconcile run; says what was done, and schedules the next run."""
        began = time.monotonic()
        try:
            self.clear_stale_lock()
            result = self._reconcile()
            self.daily_summary()
            return result
        finally:
            interval = self.settings.reconcile_interval_seconds
            if interval > 0:
                cadence = self.leftovers.next_interval()
                elapsed = time.monotonic() - began
                delay = max(cadence - elapsed - SCHEDULER_LAG_SECONDS, 0.5)
                self.chain.hand_over(run_id, interval, delay)

    def clear_stale_lock(self) -> bool:
        """Delete a lifecycle lock that has no lease (its owner can never release it)."""
        if not self.lock().clear_if_unleased():
            return False
        self.guards.announce(
            NoticeKind.REPAIR,
            "Reconciler: removed a lifecycle lock with no lease (its owner had died); "
            "starts and stops can run again.",
            repair="stale-lock",
            saved_per_hour=0.0,
        )
        return True

    def _reconcile(self) -> str:
        lock = self.lock()
        # Outwait the lease of a dead owner; a live owner keeps renewing and wins.
        if not lock.acquire(self.settings.lock_lease_seconds + 1):
            return "busy: a lifecycle job is running"
        try:
            status = self.store.status()
            job_id = status.job_id
            if job_id and self.queue.pending(job_id):
                return f"job {job_id} is queued; nothing to do"
            claimed = status.job_claimed_at
            if job_id and claimed is not None and time.time() - claimed < CLAIM_GRACE_SECONDS:
                return f"job {job_id} was just claimed; its command queues it"
            kind: JobKind | None = None
            if status.desired is DesiredState.RUNNING and status.state is not PlatformState.RUNNING:
                kind = JobKind.START
            elif (
                status.desired is DesiredState.STOPPED and status.state is not PlatformState.STOPPED
            ):
                kind = JobKind.STOP
            elif job_id:  # the recorded job died after reaching its state: just close it
                kind = status.job_kind
            if kind is None:
                return self._repair()
            resumed = (
                JobId(job_id)
                if job_id and status.job_kind is kind
                else JobId(uuid.uuid4().hex[:16])
            )
            self.store.force_job(kind, resumed)
            self.sink.emit(
                Event(
                    EventKind.NOTICE,
                    resumed,
                    time.time(),
                    f"Resuming: the platform should be {status.desired.value} but is "
                    f"{status.state.value}, and no job is running.",
                    data={"resumed": True},
                )
            )
            log.info("reconcile: resuming %s as job %s", kind.value, resumed)
            room = status.job_room or status.session_room
            spec = JobSpec(resumed, kind, SYSTEM, room, time.time())
            # With its lock: a Redis outage mid-run then resumes it in place.
            result = self.runner.run_locked(spec, lock)
            self._after_resumed(spec, result)
            return f"resumed {kind.value} as job {resumed}"
        finally:
            lock.release()

    def _system_job(self, kind: JobKind) -> JobSpec:
        job_id = JobId(uuid.uuid4().hex[:16])
        self.store.force_job(kind, job_id)
        status = self.store.status()
        return JobSpec(job_id, kind, SYSTEM, status.job_room or status.session_room, time.time())

    def _run(self, kind: JobKind) -> bool:
        try:
            return self.runner.run_locked(self._system_job(kind)).ok
        except Exception:
            return False

    def _repair(self) -> str:
        """Drift between Redis and AWS, repaired under the lock this run holds."""
        status = self.store.status()
        if status.desired is DesiredState.STOPPED and status.state is PlatformState.STOPPED:
            return self._remove_billables()
        if status.desired is DesiredState.RUNNING and status.state is PlatformState.RUNNING:
            return self._restore_running()
        return "converged"

    def _after_resumed(self, spec: JobSpec, result: JobResult) -> None:
        """A failed stop this run resumed: the leftover notice (once an episode), not a
        failure notice every run."""
        if result.ok or spec.kind is not JobKind.STOP:
            self.guards.after_job(spec, result)
            return
        if self.settings.reconcile_interval_seconds > 0:
            with contextlib.suppress(Exception):
                pending, found = self.leftovers.pending()
                if pending:
                    self.leftovers.seen(found)
                    return
        self.guards.after_job(spec, result)

    def _remove_billables(self) -> str:
        found = billable(self.parts)
        if not found:
            return "converged"
        per_hour = self.costs.total_hour(found)
        self._run(JobKind.STOP)
        # Project-tagged load balancers under another name: the lifecycle only
        # knows its own.
        self.parts.audit.sweep(self.parts.audit.billable())
        left = billable(self.parts)
        left_hour = self.costs.total_hour(left)
        saved = None if per_hour is None or left_hour is None else per_hour - left_hour
        what = describe(found)
        text = (
            f"Reconciler: the platform is stopped but {what} existed, costing "
            f"{money(per_hour)} per hour. Removed it: saves {money(saved)} per hour."
        )
        if left:
            if self.settings.reconcile_interval_seconds > 0:
                # Not one notice a run: one for the episode, and the fast cadence.
                self.leftovers.seen(left)
                return f"{describe(left)} still there"
            text += f" Still there: {describe(left)}; remove by hand (`jitsi-bot infra audit`)."
        self.guards.announce(
            NoticeKind.REPAIR,
            text,
            repair="stopped-with-billables",
            resources=[r.resource_id for r in found],
            saved_per_hour=rounded(saved, 5),
        )
        return f"removed {what}"

    def _restore_running(self) -> str:
        ingress = self.parts.ingress.describe() is not None
        tasks = [t for t in self.parts.compute.tasks() if t.desired_status == "RUNNING"]
        if ingress and tasks:
            repaired = self._repair_drift()
            self.guards.ensure_monitor()
            return f"repaired {', '.join(repaired)}" if repaired else "converged"
        if ingress:
            drift, useless = "an NLB with no running task", self.costs.nlb_hour
        elif tasks:
            drift, useless = "a task with no NLB", self.costs.task_hour
        else:
            drift, useless = "neither NLB nor task", 0.0 if self.costs.known else None
        ok = self._run(JobKind.START)
        self.guards.announce(
            NoticeKind.REPAIR,
            f"Reconciler: the platform should run but AWS had {drift} "
            f"({money(useless)} per hour billed for nothing). "
            + ("Brought it back up." if ok else "Restarting failed; it was rolled back."),
            repair="running-drift",
            drift=drift,
            saved_per_hour=rounded(useless, 5),
        )
        if ok and tasks:
            # A new NLB under the task that kept running: new addresses it never read.
            self._repair_drift()
        self.guards.ensure_monitor()
        return f"repaired {drift}"

    def _repair_drift(self) -> list[str]:
        """NLB and task both exist: do they still fit together (``infra.drift``)?"""
        return self.drift.repair(lambda: self._run(JobKind.START))

    def daily_summary(self) -> bool:
        """Post yesterday's hours and cost once a day at ``schedule_summary_hour`` (local)."""
        hour = self.settings.schedule.summary_hour
        if hour is None:
            return False
        zone = ZoneInfo(self.settings.schedule.timezone)
        now = datetime.fromtimestamp(self.clock.now(), zone)
        if now.hour < hour:
            return False
        day_start = now.replace(hour=0, minute=0, second=0, microsecond=0)
        yesterday = datetime.fromordinal(day_start.toordinal() - 1).replace(tzinfo=zone)
        label = yesterday.strftime("%Y-%m-%d")
        if not self.marks.claim(label):
            return False
        rows = self.ledger.sessions_between(yesterday.timestamp(), day_start.timestamp())
        seconds = sum(ended - started for started, ended, _ in rows)
        cost = sum(c for *_, c in rows)
        now_ts = self.clock.now()
        mtd = month_to_date(
            self.costs,
            self.ledger.month_to_date(now_ts),
            self.store.status().session_started_at,
            now_ts,
        )
        hours, month = mtd.hours, mtd.cost
        self.guards.announce(
            NoticeKind.SUMMARY,
            f"{label}: {len(rows)} session(s), {seconds / 3600:.1f} h, {money(cost)}. "
            f"This month: {hours:.1f} h, {money(month)}; idle cost "
            f"{money(self.costs.idle_month)} per month.",
            day=label,
            sessions=len(rows),
            hours=round(seconds / 3600, 3),
            cost=round(cost, 4),
        )
        return True
