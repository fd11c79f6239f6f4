"""The running session's ``SessionWatch`` in Redis, updated with optimistic locking.

The monitor and a `keep` from chat both change it; WATCH/MULTI makes the later
writer recompute instead of overwriting (a `keep` is never lost to a stale tick).
"""

from __future__ import annotations

from collections.abc import Callable

import redis

from bot.watch import SessionWatch
from infra.keys import Keys


class RedisSessionStore:
    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self.r = client
        self.key = keys.session_watch

    def load(self) -> SessionWatch | None:
        raw = self.r.get(self.key)
        return SessionWatch.from_json(raw) if raw else None

    def save(self, watch: SessionWatch) -> None:
        self.r.set(self.key, watch.to_json())

    def clear(self) -> None:
        self.r.delete(self.key)

    def update(
        self, change: Callable[[SessionWatch | None], SessionWatch | None]
    ) -> SessionWatch | None:
        """Apply ``change`` atomically; retried when another writer changed it meanwhile."""
        with self.r.pipeline(transaction=True) as pipe:
            while True:
                try:
                    pipe.watch(self.key)
                    raw = pipe.get(self.key)
                    new = change(SessionWatch.from_json(raw) if raw else None)
                    pipe.multi()
                    if new is None:
                        pipe.delete(self.key)
                    else:
                        pipe.set(self.key, new.to_json())
                    pipe.execute()
                    return new
                except redis.WatchError:
                    continue
