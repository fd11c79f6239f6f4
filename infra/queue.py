"""The RQ queue behind the core's ``JobQueue`` port."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import redis
from rq import Queue
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus

from bot.config import Settings
from bot.events import Event
from bot.model import JobSpec
from infra.events import RedisEventSink
from infra.keys import Keys

# The job is queued: its claim is no longer waiting for its command (the mark the
# reconciler leaves alone for a while, see ``PlatformStatus.job_claimed_at``).
_QUEUED = """
if redis.call('HGET', KEYS[1], 'job_id') == ARGV[1] then
  redis.call('HDEL', KEYS[1], 'job_claimed_at')
end
"""
RESULT_TTL = 24 * 3600
FAILURE_TTL = 7 * 24 * 3600


def job_timeout(settings: Settings) -> int:
    """RQ kills a job after this; a start may roll back, so allow both waits."""
    return int(settings.start_timeout_seconds + settings.stop_timeout_seconds + 120)


class RQJobQueue:
    """Lifecycle jobs on the platform's RQ queue; ``entry`` is the RQ entry point that
    runs one (``infra.jobs.lifecycle``), handed in so this module names no job."""

    def __init__(
        self,
        client: redis.Redis,
        settings: Settings,
        events: RedisEventSink,
        entry: Callable[[dict[str, Any]], bool],
    ) -> None:
        self.settings = settings
        self.events = events
        self.entry = entry
        keys = Keys(settings.project_name)
        self.queue = Queue(keys.queue_name, connection=client)
        self.platform_key = keys.platform
        self._queued = client.register_script(_QUEUED)

    def enqueue(self, spec: JobSpec, accepted: Event) -> None:
        # The first event and the job travel in one round trip: a follower that
        # sees the job also finds its ACCEPTED event.
        pipe = self.queue.connection.pipeline()
        self.queue.enqueue_call(
            self.entry,
            args=(spec.as_dict(),),
            pipeline=pipe,
            job_id=spec.job_id,
            timeout=job_timeout(self.settings),
            result_ttl=RESULT_TTL,
            failure_ttl=FAILURE_TTL,
            description=f"{spec.kind.value} by {spec.actor.user}",
        )
        # After RQ's writes: it opens the MULTI block itself.
        self.events.emit(accepted, pipeline=pipe)
        self._queued(keys=[self.platform_key], args=[spec.job_id], client=pipe)
        pipe.execute()

    def pending(self, job_id: str) -> bool:
        """Whether the job waits in the queue (or its scheduled registry) to be run."""
        try:
            job = Job.fetch(job_id, connection=self.queue.connection)
        except NoSuchJobError:
            return False
        return job.get_status(refresh=True) in (
            JobStatus.QUEUED,
            JobStatus.DEFERRED,
            JobStatus.SCHEDULED,
        )
