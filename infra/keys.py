"""Every Redis key jitsi-chatops uses, in one place, with its type and lifetime.

All keys share the prefix ``jitsi:<project>:`` so several platforms (or test
runs) can share one Redis without touching each other.
"""

from __future__ import annotations

from dataclasses import dataclass

# How long a finished job's event stream is kept: long enough for a restarted
# bot to finish rendering it, short enough not to grow without bound.
JOB_STREAM_TTL_SECONDS = 7 * 24 * 3600
# Cap each job's stream; a start emits about 40 events.
JOB_STREAM_MAXLEN = 2000
AUDIT_LOG_MAXLEN = 100_000
NOTICES_MAXLEN = 10_000
# A cursor of a renderer that no longer runs is dropped after this long.
CURSOR_TTL_SECONDS = 7 * 24 * 3600
# A daily-summary marker outlives its day, so a day is summarised once.
SUMMARY_MARK_TTL_SECONDS = 3 * 24 * 3600


@dataclass(frozen=True, slots=True)
class Keys:
    project: str

    @property
    def prefix(self) -> str:
        return f"jitsi:{self.project}"

    @property
    def platform(self) -> str:
        """Hash: desired, state, url, job_id, job_kind, session fields. No expiry."""
        return f"{self.prefix}:platform"

    @property
    def lock(self) -> str:
        """String (redis-py Lock): the lifecycle lock; expires after its lease unless renewed."""
        return f"{self.prefix}:lock"

    def job_events(self, job_id: str) -> str:
        """Stream: one job's events; expires JOB_STREAM_TTL_SECONDS after the job ends."""
        return f"{self.prefix}:job:{job_id}:events"

    @property
    def notices(self) -> str:
        """Stream: unprompted notices (reconciler, idle warnings). Capped, no expiry."""
        return f"{self.prefix}:notices"

    def render_targets(self, renderer: str) -> str:
        """Hash job_id -> JSON of the chat message a renderer keeps up to date for
        that job (so a restarted bot edits the same message); CURSOR_TTL_SECONDS."""
        return f"{self.prefix}:targets:{renderer}"

    def ledger_month(self, month: str) -> str:
        """Hash (seconds, cost, sessions) for a UTC month ``YYYY-MM``. No expiry."""
        return f"{self.prefix}:ledger:{month}"

    @property
    def ledger_sessions(self) -> str:
        """Stream: every ended session (start, end, seconds, cost). Capped."""
        return f"{self.prefix}:ledger:sessions"

    @property
    def audit_log(self) -> str:
        """Stream: every chat command with user, channel and outcome. Capped."""
        return f"{self.prefix}:audit"

    def cursor(self, renderer: str) -> str:
        """Hash job_id -> last rendered stream id for one renderer; CURSOR_TTL_SECONDS."""
        return f"{self.prefix}:cursor:{renderer}"

    @property
    def queue_name(self) -> str:
        """RQ queue name (RQ owns its own ``rq:`` keys)."""
        return f"jitsi-{self.project}"

    @property
    def reconcile_scheduled(self) -> str:
        """String with TTL (3 intervals + 60 s): the id of the next scheduled reconcile run.
        Only that run schedules the one after, so one chain exists; if the chain breaks
        the key expires and a worker start begins a new one."""
        return f"{self.prefix}:reconcile-scheduled"

    @property
    def session_watch(self) -> str:
        """String (JSON ``SessionWatch``): idle readings, warnings and keep of the running
        session. Written by the session monitor and `keep`; deleted when the session's
        stop has been announced. No expiry (a new session replaces it)."""
        return f"{self.prefix}:session-watch"

    @property
    def monitor_scheduled(self) -> str:
        """String with TTL (a few check intervals): the id of the session monitor's next
        run. Only the run holding this id schedules the next one: one chain per platform;
        if the chain breaks, the key expires and the reconciler starts a new one."""
        return f"{self.prefix}:monitor-scheduled"

    @property
    def schedule(self) -> str:
        """Hash item id -> JSON ``ScheduledItem``: scheduled starts and stops, listed by
        `schedule`. Each has an RQ job ``sched-<id>`` in RQ's scheduled registry (so a worker
        restart keeps it); the entry is deleted when it runs or is cancelled."""
        return f"{self.prefix}:schedule"

    def summary_sent(self, day: str) -> str:
        """String with TTL SUMMARY_MARK_TTL_SECONDS: the daily summary of ``day``
        (YYYY-MM-DD, configured zone) was posted."""
        return f"{self.prefix}:summary:{day}"

    @property
    def unwatched_jobs(self) -> str:
        """Set of job ids nobody in chat follows (scheduled runs): the worker announces how
        each ended as a notice and removes it. No expiry (members are removed when they end)."""
        return f"{self.prefix}:unwatched-jobs"
