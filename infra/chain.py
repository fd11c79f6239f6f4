"""A job that schedules its own next run (the reconciler, the session monitor).

Exactly one chain runs per key, however many workers share the queue: the key
holds the id of the next scheduled run, and only that run may schedule the one
after. If the chain breaks (a worker died with the run, or a Redis outage cut the
run short before it handed over), any other run takes it over as soon as RQ says
the recorded run is over (failed, finished, or gone); else the key expires after
a few intervals and the next start of a chain takes over.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import timedelta

import redis
from rq import Queue
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

# KEYS[1] the chain's key. ARGV: the run handing over, the next run, TTL in ms.
# Only the run whose id is recorded (or any run when none is) schedules the next.
_HANDOVER = """
local cur = redis.call('GET', KEYS[1])
if cur and cur ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
"""
# Ends the chain, unless another run owns it by now.
# RQ statuses of a recorded run that will still hand over.
_ALIVE = (JobStatus.QUEUED, JobStatus.SCHEDULED, JobStatus.DEFERRED, JobStatus.STARTED)

_END = """
local cur = redis.call('GET', KEYS[1])
if cur and cur ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
"""


class JobChain:
    """Self-rescheduling runs of ``func`` (an RQ entry point) under ``key``."""

    def __init__(
        self,
        client: redis.Redis,
        queue: Queue,
        key: str,
        func: Callable[..., object],
        prefix: str,
        *,
        result_ttl: int = 600,
    ) -> None:
        self.queue = queue
        self.key = key
        self.func = func
        self.prefix = prefix
        self.result_ttl = result_ttl
        self._handover = client.register_script(_HANDOVER)
        self._end = client.register_script(_END)
        self._client = client

    def new_id(self) -> str:
        return f"{self.prefix}-{uuid.uuid4().hex[:12]}"

    @staticmethod
    def ttl_ms(interval: float) -> int:
        """Long enough to outlive a slow run, short enough that a broken chain restarts."""
        return int((3 * interval + 60) * 1000)

    def start(self, interval: float, delay: float) -> bool:
        """Begin a chain unless one exists; True when this call began it."""
        run_id = self.new_id()
        if not self._client.set(self.key, run_id, nx=True, px=self.ttl_ms(interval)):
            return False
        self._enqueue(run_id, delay)
        return True

    def hand_over(self, run_id: str, interval: float, delay: float) -> bool:
        """Schedule the run after ``run_id`` in ``delay`` seconds, if the chain is its own."""
        next_id = self.new_id()
        ttl = self.ttl_ms(interval)
        if not self._handover(keys=[self.key], args=[run_id, next_id, ttl]):
            dead = self._dead_run()
            # Compare-and-set on the dead run's id: one taker wins.
            if dead is None or not self._handover(keys=[self.key], args=[dead, next_id, ttl]):
                return False
        self._enqueue(next_id, delay)
        return True

    def _dead_run(self) -> str | None:
        """The recorded run's id when RQ says it will never hand over, else None."""
        raw = self._client.get(self.key)
        if raw is None:
            return None
        recorded = raw.decode() if isinstance(raw, bytes) else str(raw)
        try:
            status = Job.fetch(recorded, connection=self._client).get_status(refresh=False)
        except NoSuchJobError:
            return recorded
        return None if status in _ALIVE else recorded

    def end(self, run_id: str) -> None:
        """Release the chain after ``run_id``'s last run (unless another owns it)."""
        self._end(keys=[self.key], args=[run_id])

    def restart(self, interval: float, delay: float) -> str:
        """Make a new run, ``delay`` seconds from now, the chain's owner whatever run
        owned it (a change of cadence that cannot wait for the scheduled run). The
        run it replaces still runs once when due, but no longer hands over."""
        run_id = self.new_id()
        self._client.set(self.key, run_id, px=self.ttl_ms(interval))
        self._enqueue(run_id, delay)
        return run_id

    def run_now(self) -> str:
        """One run as soon as a worker is free (outside the chain's bookkeeping: it
        hands over like any run, and starts a chain when none exists)."""
        run_id = self.new_id()
        self.queue.enqueue(self.func, job_id=run_id, result_ttl=self.result_ttl, failure_ttl=86400)
        return run_id

    def _enqueue(self, run_id: str, delay: float) -> None:
        self.queue.enqueue_in(
            timedelta(seconds=max(delay, 0.0)),
            self.func,
            job_id=run_id,
            result_ttl=self.result_ttl,
            failure_ttl=86400,
        )
