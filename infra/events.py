"""Job events and notices on Redis Streams: the sinks that write them.

Reading them (with the cursors that let a restarted renderer resume) is
``infra.follow``'s.
"""

from __future__ import annotations

import redis
from redis.typing import EncodableT, FieldT

from bot.events import Event, Notice
from infra.keys import (
    JOB_STREAM_MAXLEN,
    JOB_STREAM_TTL_SECONDS,
    NOTICES_MAXLEN,
    Keys,
)


class RedisEventSink:
    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self.r = client
        self.keys = keys

    def emit(self, event: Event, pipeline: redis.client.Pipeline | None = None) -> None:
        """Append ``event``; with ``pipeline`` the write joins it (the caller executes)."""
        key = self.keys.job_events(event.job_id)
        pipe = pipeline if pipeline is not None else self.r.pipeline(transaction=False)
        # Copied into redis-py's own key/value types: its stubs' dict is invariant.
        fields: dict[FieldT, EncodableT] = {k: v for k, v in event.to_fields().items()}
        pipe.xadd(key, fields, maxlen=JOB_STREAM_MAXLEN, approximate=True)
        if event.terminal:
            pipe.expire(key, JOB_STREAM_TTL_SECONDS)
        if pipeline is None:
            pipe.execute()


class RedisNoticeSink:
    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self.r = client
        self.keys = keys

    def notify(self, notice: Notice) -> None:
        fields: dict[FieldT, EncodableT] = {k: v for k, v in notice.to_fields().items()}
        self.r.xadd(self.keys.notices, fields, maxlen=NOTICES_MAXLEN, approximate=True)
