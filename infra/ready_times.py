"""Measured time to URL per ingress, in Redis: what a scheduled start begins ahead by.

After each successful start job the worker reads the job's own event stream: the
seconds from its first event to URL_READY are one sample, pushed to a bounded list per
ingress (``Keys.ready_times``). ``ready_seconds`` is the 90th percentile of the newest
samples, or the ingress's default before any (``bot.schedule``; docs/idle.md).
"""

from __future__ import annotations

import logging

import redis

from bot import schedule
from bot.events import Event, EventKind
from bot.model import JobKind, JobResult, JobSpec
from infra.keys import READY_TIMES_MAXLEN, Keys
from infra.replies import entries, text

log = logging.getLogger("jitsi.worker")

# A start that found the platform already up (the reconciler running it again, a start
# joined after a crash) posts its URL within seconds: that measures no bring-up, and
# would make the next scheduled start too late. No real start is this fast.
MIN_SAMPLE_SECONDS = 10.0


class RedisReadyTimes:
    """The ``ReadyTimes`` port for one deployment's ingress, on its Redis."""

    def __init__(self, client: redis.Redis, keys: Keys, ingress: str) -> None:
        self.r = client
        self.keys = keys
        self.ingress = ingress

    @property
    def key(self) -> str:
        return self.keys.ready_times(self.ingress)

    def record(self, seconds: float) -> None:
        """Add one measured time to URL (newest first, bounded)."""
        pipe = self.r.pipeline(transaction=True)
        pipe.lpush(self.key, f"{seconds:.1f}")
        pipe.ltrim(self.key, 0, READY_TIMES_MAXLEN - 1)
        pipe.execute()

    def samples(self) -> list[float]:
        """The newest ``schedule.READY_SAMPLES`` times, newest first; unreadable entries
        (written by hand, say) are skipped."""
        out: list[float] = []
        for raw in self.r.lrange(self.key, 0, schedule.READY_SAMPLES - 1):
            try:
                out.append(float(text(raw)))
            except ValueError:
                continue
        return out

    def ready_seconds(self) -> float:
        return schedule.ready_seconds(self.samples(), self.ingress)

    def after_job(self, spec: JobSpec, result: JobResult) -> None:
        """Record a successful start's time to URL, read from its event stream. Never
        fails the job it follows."""
        if spec.kind is not JobKind.START or not result.ok:
            return
        try:
            seconds = self._measured(spec)
            if seconds is not None and seconds >= MIN_SAMPLE_SECONDS:
                self.record(seconds)
                log.info(
                    "start %s: URL ready after %.1f s (%s)", spec.job_id, seconds, self.ingress
                )
        except (redis.RedisError, ValueError):
            log.warning("could not record the time to URL of %s", spec.job_id, exc_info=True)

    def _measured(self, spec: JobSpec) -> float | None:
        rows = entries(self.r.xrange(self.keys.job_events(spec.job_id)))
        events = [Event.from_fields(fields) for _, fields in rows]
        ready = [e.at for e in events if e.kind is EventKind.URL_READY]
        if not events or not ready:
            return None
        return ready[0] - events[0].at
