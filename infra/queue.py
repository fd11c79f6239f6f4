"""The RQ queue behind the core's ``JobQueue`` port."""

from __future__ import annotations

import redis
from rq import Queue

from bot.config import Settings
from bot.model import JobSpec
from infra.keys import Keys

RESULT_TTL = 24 * 3600
FAILURE_TTL = 7 * 24 * 3600


def job_timeout(settings: Settings) -> int:
    """RQ kills a job after this; a start may roll back, so allow both waits."""
    return int(settings.start_timeout_seconds + settings.stop_timeout_seconds + 120)


class RQJobQueue:
    def __init__(self, client: redis.Redis, settings: Settings) -> None:
        self.settings = settings
        self.queue = Queue(Keys(settings.project_name).queue_name, connection=client)

    def enqueue(self, spec: JobSpec) -> None:
        self.queue.enqueue(
            "infra.worker.run_job",
            spec.as_dict(),
            job_id=spec.job_id,
            job_timeout=job_timeout(self.settings),
            result_ttl=RESULT_TTL,
            failure_ttl=FAILURE_TTL,
            description=f"{spec.kind.value} by {spec.actor.user}",
        )
