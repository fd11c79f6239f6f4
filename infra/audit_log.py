"""The audit log: an append-only Redis stream of every command and every lifecycle job's
end, trimmed to the configured bounds on each write, read newest first or exported
oldest first in bounded pages."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator

import redis

from bot.audit import AuditEntry, EntryKind
from bot.model import Actor, JobResult, JobSpec
from infra.keys import Keys
from infra.replies import entries

log = logging.getLogger("jitsi.audit")

# Entries read per XRANGE during an export: memory stays bounded whatever the stream's
# length, and each call stays short enough not to stall other clients of the server.
EXPORT_PAGE = 500

DAY_SECONDS = 86_400


class RedisAuditLog:
    """Writes go through XADD (never XDEL or XSETID: nothing rewrites history); the only
    deletions are the retention bounds, ``max_entries`` (MAXLEN) and ``retention_days``
    (MINID, 0 for none), exact so the bound holds to the entry."""

    def __init__(
        self,
        client: redis.Redis,
        keys: Keys,
        *,
        max_entries: int = 100_000,
        retention_days: float = 0.0,
    ) -> None:
        self.r = client
        self.key = keys.audit_log
        self.max_entries = max_entries
        self.retention_days = retention_days

    # -- writes ------------------------------------------------------------------
    def record(
        self, actor: Actor, command: str, outcome: str, seconds: float | None = None
    ) -> None:
        self.append(
            AuditEntry(
                EntryKind.COMMAND,
                time.time(),
                actor.user,
                actor.platform.value,
                actor.channel,
                command,
                outcome,
                seconds=seconds,
            )
        )

    def record_job(self, spec: JobSpec, outcome: str, result: JobResult, seconds: float) -> None:
        """A lifecycle job ended (``outcome``: ok, failed, crashed, lock-timeout)."""
        self.append(
            AuditEntry(
                EntryKind.JOB,
                time.time(),
                spec.actor.user,
                spec.actor.platform.value,
                spec.actor.channel,
                spec.kind.value,
                outcome,
                seconds=seconds,
                job_id=spec.job_id,
                ok=result.ok,
                cost=result.session.cost if result.session is not None else None,
                aws_calls=result.aws_calls,
            )
        )

    def append(self, entry: AuditEntry) -> None:
        """Add ``entry`` and trim to both bounds, in one MULTI (a reader never sees the
        stream over its bounds for longer than one write)."""
        pipe = self.r.pipeline(transaction=True)
        pipe.xadd(self.key, entry.fields(), maxlen=self.max_entries, approximate=False)  # type: ignore[arg-type]
        if self.retention_days > 0:
            oldest_ms = int((time.time() - self.retention_days * DAY_SECONDS) * 1000)
            pipe.xtrim(self.key, minid=f"{max(oldest_ms, 0)}-0", approximate=False)
        pipe.execute()

    # -- reads -------------------------------------------------------------------
    def recent(self, count: int) -> list[AuditEntry]:
        if count < 1:
            return []
        rows = entries(self.r.xrevrange(self.key, count=count))
        return [AuditEntry.from_fields(entry_id, row) for entry_id, row in rows]

    def since(self, at: float | None = None, page: int = EXPORT_PAGE) -> Iterator[AuditEntry]:
        """Every entry from ``at`` (epoch seconds; None: the oldest kept), oldest first,
        read ``page`` entries per call: entries appended meanwhile are included."""
        low = f"{max(int(at * 1000), 0)}-0" if at is not None else "-"
        while True:
            rows = entries(self.r.xrange(self.key, min=low, max="+", count=page))
            for entry_id, row in rows:
                yield AuditEntry.from_fields(entry_id, row)
            if len(rows) < page:
                return
            low = f"({rows[-1][0]}"  # exclusive: after the last one read

    def length(self) -> int:
        return int(self.r.xlen(self.key))
