"""The worker process: an RQ worker on the platform's queue, with RQ's scheduler
(which moves due scheduled jobs to the queue) in a thread of the same process.

RQ runs its scheduler in a forked process of its own; that process holds a copy
of everything the worker imported, and doubled the worker's resident memory
(37 MiB of 151 MiB when idle). In a thread it costs almost nothing. The work
horse that runs each job is still a fork, so a job's memory is returned when it
ends.

RQ's own work loop quits on any Redis error it does not expect ("found an unhandled
exception, quitting..."): a restart of Redis while a job runs ended the worker and
left the start half done. ``OutlastingWorker`` keeps RQ's loop and wraps the calls
that loop makes to Redis: each waits for Redis to return (``infra.outage.Outage``:
backoff, one log line when it goes, one when it returns) and carries on. While a
job's horse runs, the monitor's heartbeats are skipped rather than fatal; the job
itself rides the outage out in ``infra.runner``. When Redis returns, ``on_back``
runs (the wiring enqueues a reconcile run, which resumes a job the outage killed).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import redis
from redis.exceptions import RedisError
from rq import Queue, Worker
from rq.exceptions import InvalidJobOperation
from rq.job import Job, JobStatus
from rq.scheduler import RQScheduler

from infra.logs import job_logging
from infra.outage import OUTAGE_ERRORS, Outage, is_outage

log = logging.getLogger("jitsi.worker")


class SchedulerThread:
    """RQ's ``RQScheduler`` driven from a daemon thread, with its own connection.

    Any number of workers may run one: RQ's per-queue scheduler lock lets exactly
    one of them move jobs at a time, and another takes over when its holder dies."""

    def __init__(self, queue: Queue, connection: redis.Redis, interval: int = 1) -> None:
        # RQScheduler opens a connection of its own from this one's parameters (the
        # worker's is in a blocking read most of the time). RQ needs whole seconds.
        self.scheduler = RQScheduler([queue], connection=connection, interval=interval)
        self.interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="rq-scheduler", daemon=True)

    def start(self) -> SchedulerThread:
        self._thread.start()
        return self

    def _run(self) -> None:
        outage = Outage(self.scheduler.connection, "scheduler", log)
        broken = False  # a bug, said once until a round succeeds
        try:
            self.scheduler.register_birth()
        except RedisError as exc:
            outage.lost(exc)
        while not self._stop.is_set():
            try:
                if self.scheduler.should_reacquire_locks:
                    self.scheduler.acquire_locks()
                if self.scheduler.acquired_locks:
                    self.scheduler.heartbeat()
                    self.scheduler.enqueue_scheduled_jobs()
                outage.back()
                broken = False
            except RedisError as exc:
                outage.lost(exc)  # once per outage; the next round tries again
            except Exception:  # a bug must not end scheduling for good
                if not broken:
                    log.exception("scheduler failed; retrying")
                broken = True
            self._stop.wait(self.interval)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        try:
            self.scheduler.release_locks()
            self.scheduler.register_death()
        except RedisError:
            pass  # the locks expire by themselves


class OutlastingWorker(Worker):
    """RQ's ``Worker``, except that Redis going away never ends it.

    Only calls that are safe to repeat are retried (state, heartbeats, suspension
    checks, registry maintenance, the dequeue loop); a job's execution is never run
    twice by this class. ``outage`` is set before ``work``."""

    outage: Outage

    def _retried(self, call: Callable[[], Any]) -> Any:
        while True:
            try:
                result = call()
            except OUTAGE_ERRORS as exc:
                self.outage.wait(exc)
                continue
            if self.outage.down:
                self.outage.back()
            return result

    def set_state(self, state: str, pipeline: Any = None) -> None:
        if pipeline is not None:  # no I/O: the caller's pipeline executes
            super().set_state(state, pipeline=pipeline)
            return
        self._retried(lambda: super(OutlastingWorker, self).set_state(state))

    def heartbeat(self, timeout: int | None = None, pipeline: Any = None) -> None:
        if pipeline is not None:
            super().heartbeat(timeout, pipeline=pipeline)
            return
        # After a long outage the worker's hash expired: write it whole again, so
        # `rq info` and RQ's own bookkeeping see a complete worker.
        was_down = self.outage.down
        self._retried(lambda: super(OutlastingWorker, self).heartbeat(timeout))
        if was_down:
            self._retried(lambda: self.connection.hset(self.key, mapping=self.serialize()))

    def check_for_suspension(self, burst: bool) -> None:
        self._retried(lambda: super(OutlastingWorker, self).check_for_suspension(burst))

    def run_maintenance_tasks(self) -> None:
        self._retried(
            lambda: super(OutlastingWorker, self).run_maintenance_tasks()  # type: ignore[no-untyped-call]
        )

    def dequeue_job_and_maintain_ttl(
        self, timeout: int | None, max_idle_time: int | None = None
    ) -> tuple[Job, Queue] | None:
        return self._retried(  # type: ignore[no-any-return]
            lambda: super(OutlastingWorker, self).dequeue_job_and_maintain_ttl(
                timeout, max_idle_time
            )
        )

    # -- while a horse runs: the monitor's writes are bookkeeping, not the job ------
    def maintain_heartbeats(self, job: Job) -> None:
        try:
            super().maintain_heartbeats(job)
        except OUTAGE_ERRORS as exc:
            self.outage.lost(exc)  # keep waiting for the horse; it rides the outage out
            return
        if self.outage.down:
            self.outage.back()

    def set_current_job_working_time(
        self, current_job_working_time: float, pipeline: Any = None
    ) -> None:
        try:
            super().set_current_job_working_time(current_job_working_time, pipeline=pipeline)
        except OUTAGE_ERRORS as exc:
            self.outage.lost(exc)

    def execute_job(self, job: Job, queue: Queue) -> None:
        try:
            with job_logging(job.id):  # JSON log lines name the job (infra.logs)
                super().execute_job(job, queue)
        except OUTAGE_ERRORS as exc:
            # Before the fork (the job stays in RQ's intermediate queue, which RQ's
            # maintenance fails later; the reconciler then resumes it) or after the
            # horse ended (its result is whatever it managed to write): either way
            # the job is not run twice here. Wait, and take the next job.
            if self._horse_pid:  # the horse is still ours: never leave it behind
                self.wait_for_horse()
                self._horse_pid = 0
            self.outage.wait(exc)
            self._close_interrupted(job, queue)

    def _close_interrupted(self, job: Job, queue: Queue) -> None:
        """RQ's record of a job the outage cut short says failed, not started forever;
        the job's own slot in the platform record stays, so the reconciler (run when
        Redis returned) resumes it on its id."""
        try:
            if job.get_status(refresh=True) in (JobStatus.FINISHED, JobStatus.FAILED):
                return
            # A lifecycle job keeps its slot (the reconciler resumes it); a chain run
            # is taken over by the next run (``infra.chain``).
            log.warning("job %s: cut short by the outage; recorded as failed", job.id)
            self.handle_job_failure(
                job,
                queue=queue,
                exc_string="Interrupted by a Redis outage; resumed by the reconciler.",
            )
        except InvalidJobOperation:
            pass  # its record expired meanwhile
        except OUTAGE_ERRORS:
            pass  # Redis away again: RQ's own cleanup settles it

    def _pubsub_exception_handler(self, exc: Exception, pubsub: Any, pubsub_thread: Any) -> None:
        # RQ's handler logs every 2 s for as long as Redis is away: once is enough.
        if not isinstance(exc, OUTAGE_ERRORS):
            raise exc
        self.outage.lost(exc)
        time.sleep(2.0)  # the pubsub thread's pace between reconnects, as RQ's


def run_worker(
    connection: redis.Redis,
    queue_name: str,
    *,
    name: str,
    burst: bool = False,
    retry_max_seconds: float = 5.0,
    on_back: Callable[[float], object] | None = None,
) -> None:
    """Work the queue until stopped (or, with ``burst``, until it is empty), through
    Redis outages of any length. ``on_back`` runs each time Redis returns."""
    queue = Queue(queue_name, connection=connection)
    worker = OutlastingWorker([queue], connection=connection, name=name)
    worker.outage = Outage(
        connection,
        f"worker {name}",
        log,
        max_backoff=retry_max_seconds,
        on_back=on_back,
        stopping=lambda: worker._stop_requested,
    )
    if burst:  # RQ moves due jobs once, in this process, and returns when idle
        worker.work(with_scheduler=True, burst=True, logging_level="INFO")
        return
    scheduler = SchedulerThread(queue, connection).start()
    try:
        worker.work(with_scheduler=False, logging_level="INFO")
    except RedisError as exc:
        if not is_outage(exc):
            raise
        # Stopping while Redis is away: RQ could not record the worker's death; its
        # record expires by itself.
        log.warning("worker %s stopped while Redis was unreachable", name)
    finally:
        scheduler.stop()
