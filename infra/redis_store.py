"""Redis implementations of the core's stores: platform state, ledger (the audit log is
``infra.audit_log``)."""

from __future__ import annotations

import time
from dataclasses import fields
from datetime import UTC, datetime

import redis
from redis.typing import EncodableT, FieldT

from bot.model import Actor, JobId, JobKind
from bot.state import Claim, DesiredState, PlatformState, PlatformStatus
from infra.keys import SUMMARY_MARK_TTL_SECONDS, Keys
from infra.replies import entries, text, text_map

# One round trip per command: the start fast path, the desired state and the
# current-job slot, atomically, so simultaneous starts make exactly one job.
# ARGV: kind, job_id, user, now, room ('' for none). Returns {outcome, value}.
# A new claim records its room and time with it: a reconcile that runs between
# the claim and the enqueue must neither resume it without its room nor at all
# while it is young (see ``PlatformStatus.job_claimed_at``).
_REQUEST = """
local h = KEYS[1]
if ARGV[1] == 'start' then
  local f = redis.call('HMGET', h, 'state', 'desired', 'url', 'job_id')
  if f[1] == 'running' and f[2] == 'running' and f[3] and (not f[4] or f[4] == '') then
    return {'running', f[3]}
  end
end
local desired = 'stopped'
if ARGV[1] == 'start' then desired = 'running' end
redis.call('HSET', h, 'desired', desired, 'desired_by', ARGV[3], 'desired_at', ARGV[4])
local cur = redis.call('HGET', h, 'job_id')
if cur and cur ~= '' and redis.call('HGET', h, 'job_kind') == ARGV[1] then
  return {'joined', cur}
end
redis.call('HSET', h, 'job_id', ARGV[2], 'job_kind', ARGV[1], 'job_claimed_at', ARGV[4])
if ARGV[5] ~= '' then
  redis.call('HSET', h, 'job_room', ARGV[5])
else
  redis.call('HDEL', h, 'job_room')
end
return {'new', ARGV[2]}
"""
_FINISH = """
if redis.call('HGET', KEYS[1], 'job_id') == ARGV[1] then
  redis.call('HDEL', KEYS[1], 'job_id', 'job_kind', 'job_room', 'job_claimed_at')
  return 1
end
return 0
"""
# Owned by claim/finish, never by save().
_JOB_FIELDS = {"job_id", "job_kind", "job_room", "job_claimed_at"}
_LEGACY_FIELDS = ("nlb_dns",)  # read once for an upgrade, dropped by the next save


def month_of(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m")


class RedisPlatformStore:
    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self.r = client
        self.keys = keys
        self._request = client.register_script(_REQUEST)
        self._finish = client.register_script(_FINISH)

    def status(self) -> PlatformStatus:
        return _decode(text_map(self.r.hgetall(self.keys.platform)))

    def set_desired(self, desired: DesiredState, actor: Actor) -> None:
        self.r.hset(
            self.keys.platform,
            mapping={
                "desired": desired.value,
                "desired_by": actor.user,
                "desired_at": repr(time.time()),
            },
        )

    def save(self, status: PlatformStatus) -> None:
        present: dict[FieldT, EncodableT] = {}
        absent: list[str] = []
        for f in fields(PlatformStatus):
            if f.name in _JOB_FIELDS or f.name in ("extra", "desired"):
                continue
            value = getattr(status, f.name)
            if value is None:
                absent.append(f.name)
            else:
                present[f.name] = value.value if hasattr(value, "value") else str(value)
        absent.extend(_LEGACY_FIELDS)
        pipe = self.r.pipeline(transaction=True)
        pipe.hset(self.keys.platform, mapping=present)
        if absent:
            pipe.hdel(self.keys.platform, *absent)
        pipe.execute()

    def request(self, kind: JobKind, job_id: JobId, actor: Actor, room: str | None = None) -> Claim:
        args = [kind.value, job_id, actor.user, repr(time.time()), room or ""]
        outcome, value = self._request(keys=[self.keys.platform], args=args)
        if outcome == b"running":
            return Claim(None, running_url=text(value))
        return Claim(JobId(text(value)), joined=outcome == b"joined")

    def finish_job(self, job_id: JobId) -> None:
        self._finish(keys=[self.keys.platform], args=[job_id])

    def force_job(self, kind: JobKind, job_id: JobId) -> None:
        """Make ``job_id`` current whatever was there (the reconciler resuming a dead job)."""
        pipe = self.r.pipeline(transaction=True)
        pipe.hset(self.keys.platform, mapping={"job_id": job_id, "job_kind": kind.value})
        pipe.hdel(self.keys.platform, "job_claimed_at")  # resumed, not freshly claimed
        pipe.execute()


def _decode(raw: dict[str, str]) -> PlatformStatus:
    def opt_float(key: str) -> float | None:
        return float(raw[key]) if raw.get(key) else None

    return PlatformStatus(
        desired=DesiredState(raw.get("desired", DesiredState.STOPPED.value)),
        state=PlatformState(raw.get("state", PlatformState.STOPPED.value)),
        url=raw.get("url") or None,
        # "nlb_dns" is the field's name before the ingress became a port.
        ingress_address=raw.get("ingress_address") or raw.get("nlb_dns") or None,
        job_id=JobId(raw["job_id"]) if raw.get("job_id") else None,
        job_kind=JobKind(raw["job_kind"]) if raw.get("job_kind") else None,
        job_room=raw.get("job_room") or None,
        job_claimed_at=opt_float("job_claimed_at"),
        session_started_at=opt_float("session_started_at"),
        session_room=raw.get("session_room") or None,
        started_by=raw.get("started_by") or None,
        updated_at=opt_float("updated_at") or 0.0,
        last_error=raw.get("last_error") or None,
    )


class RedisLedger:
    """Month totals in a hash per month, plus a capped stream of every session."""

    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self.r = client
        self.keys = keys

    def record_session(self, started_at: float, ended_at: float, cost: float) -> None:
        seconds = max(ended_at - started_at, 0.0)
        key = self.keys.ledger_month(month_of(ended_at))
        pipe = self.r.pipeline(transaction=True)
        pipe.hincrbyfloat(key, "seconds", seconds)
        pipe.hincrbyfloat(key, "cost", cost)
        pipe.hincrby(key, "sessions", 1)
        pipe.xadd(
            self.keys.ledger_sessions,
            {"started_at": repr(started_at), "ended_at": repr(ended_at), "cost": repr(cost)},
            maxlen=10_000,
            approximate=True,
        )
        pipe.execute()

    def sessions_between(self, start: float, end: float) -> list[tuple[float, float, float]]:
        """(started_at, ended_at, cost) of the sessions recorded in [start, end) (when
        they ended, on the wall clock of whoever recorded them)."""
        lo, hi = int(start * 1000), int(end * 1000) - 1
        rows = entries(self.r.xrange(self.keys.ledger_sessions, min=lo, max=hi))
        return [
            (float(row["started_at"]), float(row["ended_at"]), float(row["cost"]))
            for _, row in rows
        ]

    def month_to_date(self, now: float) -> tuple[float, float]:
        raw = self.r.hmget(self.keys.ledger_month(month_of(now)), ["seconds", "cost"])
        seconds = float(raw[0]) if raw[0] else 0.0
        cost = float(raw[1]) if raw[1] else 0.0
        return seconds / 3600.0, cost


class UnwatchedJobs:
    """Jobs nobody in chat follows (scheduled runs): the worker announces how each ended."""

    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self.r = client
        self.key = keys.unwatched_jobs

    def add(self, job_id: str) -> None:
        self.r.sadd(self.key, job_id)

    def take(self, job_id: str) -> bool:
        """True once for a job that was added (its ending is then announced)."""
        return bool(self.r.srem(self.key, job_id))


class SummaryMarks:
    """Which days' summaries were posted, so each day is summarised once."""

    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self.r = client
        self.keys = keys

    def claim(self, day: str) -> bool:
        """True for the first caller for ``day`` (YYYY-MM-DD)."""
        return bool(
            self.r.set(self.keys.summary_sent(day), "1", nx=True, ex=SUMMARY_MARK_TTL_SECONDS)
        )
