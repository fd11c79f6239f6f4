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
NOTICES_MAXLEN = 10_000
# A cursor of a renderer that no longer runs is dropped after this long.
CURSOR_TTL_SECONDS = 7 * 24 * 3600
# Measured times to URL kept per ingress (bot.schedule.READY_SAMPLES uses the newest).
READY_TIMES_MAXLEN = 50
# A daily-summary marker outlives its day, so a day is summarised once.
SUMMARY_MARK_TTL_SECONDS = 3 * 24 * 3600


# -- fields of a renderer's cursor hash (``Keys.cursor``) ---------------------------
# Any other field is a job id (no ``:``, no leading ``__``) whose value is the last entry
# id of that job's event stream the terminal chat has shown; it is deleted when the
# job's terminal event is shown, so the fields left name jobs to resume after a restart.

CURSOR_NOTICES = "__notices__"
"""The last notices entry id this renderer acknowledged (posted). Written once with the
stream's end when the renderer first follows notices, so a restart misses nothing."""

CURSOR_SYNC_TOKEN = "__sync_token__"
"""Matrix: the ``next_batch`` of the last sync whose commands were all handled."""


def cursor_event_claim(event_id: str) -> str:
    """Matrix, ``event:<event id>``: the command in that event is being or was handled
    (HSETNX, so it runs once). Deleted with the sync token's advance past its sync, in one
    MULTI: a crash in between re-reads the sync and finds the claim."""
    return f"event:{event_id}"


def cursor_room_notice(room_id: str) -> str:
    """Matrix, ``e2e-notice:<room id>``: the room was told once that the bot cannot read
    encrypted rooms. Kept for the hash's lifetime."""
    return f"e2e-notice:{room_id}"


def is_cursor_job(field: str) -> bool:
    """True when a cursor hash ``field`` is a job id (not one of the fields above)."""
    return not field.startswith("__") and ":" not in field


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

    def cost_actual(self, month: str) -> str:
        """String: Cost Explorer's JSON answer for ``YYYY-MM``; a day's expiry (each
        request is billed $0.01)."""
        return f"{self.prefix}:cost-actual:{month}"

    @property
    def ledger_traffic(self) -> str:
        """Stream: each ended session's measured traffic (GB, dollars, participant-hours)."""
        return f"{self.prefix}:ledger:traffic"

    @property
    def ledger_sessions(self) -> str:
        """Stream: every ended session (start, end, seconds, cost). Capped."""
        return f"{self.prefix}:ledger:sessions"

    @property
    def audit_log(self) -> str:
        """Stream (``infra.audit_log``): every chat command (user, platform, channel, text,
        outcome, duration) and every lifecycle job's end (kind, job id, ok, duration, AWS
        calls, session cost). Append-only; trimmed on each write to the configured
        ``audit_max_entries`` (MAXLEN) and ``audit_retention_days`` (MINID). No expiry."""
        return f"{self.prefix}:audit"

    def cursor(self, renderer: str) -> str:
        """Hash: what one renderer (``slack``, ``matrix``, ``console:serve``) has done, so a
        restarted renderer neither repeats nor loses anything. Its fields are below
        (``CURSOR_*`` and ``cursor_*``); every write renews CURSOR_TTL_SECONDS, so the hash
        of a renderer that no longer runs expires."""
        return f"{self.prefix}:cursor:{renderer}"

    @property
    def queue_name(self) -> str:
        """RQ queue name (RQ owns its own ``rq:`` keys)."""
        return f"jitsi-{self.project}"

    @property
    def leftovers_noticed(self) -> str:
        """String, 1-day TTL: leftovers of a failed start or stop were announced; one
        notice an episode (``infra.leftovers.LeftoverMark``)."""
        return f"{self.prefix}:leftovers-noticed"

    @property
    def reconcile_scheduled(self) -> str:
        """String with TTL (3 intervals + 60 s): the id of the next scheduled reconcile run.
        Only that run schedules the one after, so one chain exists; if the chain breaks
        the key expires and a worker start begins a new one."""
        return f"{self.prefix}:reconcile-scheduled"

    @property
    def certificate_scheduled(self) -> str:
        """String with TTL (3 intervals + 60 s): the id of the next certificate check run
        (``infra.tls_renewal``), a chain like the reconciler's."""
        return f"{self.prefix}:certificate-scheduled"

    @property
    def certificate_failing(self) -> str:
        """String (JSON: first failure time, attempts): renewals are failing. Set at the
        first failure (whose notice it stands for, so a streak posts one), deleted at
        the next success. No expiry."""
        return f"{self.prefix}:certificate-failing"

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

    def alive(self, role: str, host: str, pid: int) -> str:
        """String (JSON: role, host, pid, renewed) with TTL 3 heartbeats: a serve or worker
        process is alive (``infra.heartbeat``); renewed by the process, gone with it."""
        return f"{self.prefix}:alive:{role}:{host}:{pid}"

    def alive_pattern(self, role: str, host: str) -> str:
        """SCAN pattern of the ``alive`` records of ``role`` processes on ``host``."""
        return f"{self.prefix}:alive:{role}:{host}:*"

    @property
    def metrics_counters(self) -> str:
        """Hash ``name|labels JSON`` -> count: the deployment's counters, written by every
        process (commands, jobs, AWS calls) and read by /metrics at scrape time. No expiry
        (counters only grow, as Prometheus expects; a FLUSHALL is a counter reset)."""
        return f"{self.prefix}:metrics:counters"

    @property
    def metrics_histograms(self) -> str:
        """Hash ``name|labels JSON|le`` (and ``|sum``, ``|count``) -> value: the
        deployment's histograms (durations), as ``metrics_counters``."""
        return f"{self.prefix}:metrics:histograms"

    def ready_times(self, ingress: str) -> str:
        """List, newest first: seconds from a successful start job's first event to its
        URL_READY with ``ingress`` (``nlb``, ``direct``), as text. LPUSH then LTRIM to
        READY_TIMES_MAXLEN in one pipeline; no expiry (scheduled starts begin this early)."""
        return f"{self.prefix}:ready-times:{ingress}"

    def prices(self, region: str) -> str:
        """String (JSON: prices, source, fetched date): ``region``'s prices as the Price
        List API gave them (``infra.pricing.refresh_prices``). Replaced at most daily; no
        expiry (yesterday's API prices beat the bundled snapshot)."""
        return f"{self.prefix}:prices:{region}"
