"""The worker process: an RQ worker on the platform's queue, with RQ's scheduler
(which moves due scheduled jobs to the queue) in a thread of the same process.

RQ runs its scheduler in a forked process of its own; that process holds a copy
of everything the worker imported, and doubled the worker's resident memory
(37 MiB of 151 MiB when idle). In a thread it costs almost nothing. The work
horse that runs each job is still a fork, so a job's memory is returned when it
ends.
"""

from __future__ import annotations

import logging
import threading

import redis
from redis.exceptions import RedisError
from rq import Queue, Worker
from rq.scheduler import RQScheduler

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
        failing = False
        try:
            self.scheduler.register_birth()
        except RedisError:
            failing = True
        while not self._stop.is_set():
            try:
                if self.scheduler.should_reacquire_locks:
                    self.scheduler.acquire_locks()
                if self.scheduler.acquired_locks:
                    self.scheduler.heartbeat()
                    self.scheduler.enqueue_scheduled_jobs()
                if failing:
                    log.info("scheduler: Redis is back")
                failing = False
            except RedisError as exc:
                if not failing:  # once per outage
                    log.warning("scheduler: Redis unavailable (%s); retrying", exc)
                failing = True
            except Exception:  # a bug must not end scheduling for good
                if not failing:
                    log.exception("scheduler failed; retrying")
                failing = True
            self._stop.wait(self.interval)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        try:
            self.scheduler.release_locks()
            self.scheduler.register_death()
        except RedisError:
            pass  # the locks expire by themselves


def run_worker(connection: redis.Redis, queue_name: str, *, name: str, burst: bool = False) -> None:
    """Work the queue until stopped (or, with ``burst``, until it is empty)."""
    queue = Queue(queue_name, connection=connection)
    worker = Worker([queue], connection=connection, name=name)
    if burst:  # RQ moves due jobs once, in this process, and returns when idle
        worker.work(with_scheduler=True, burst=True, logging_level="INFO")
        return
    scheduler = SchedulerThread(queue, connection).start()
    try:
        worker.work(with_scheduler=False, logging_level="INFO")
    finally:
        scheduler.stop()
