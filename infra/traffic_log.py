"""Each ended session's measured traffic in a capped Redis stream (``bot.ports.TrafficLog``)."""

from __future__ import annotations

import redis

from infra.keys import Keys
from infra.replies import entries


class RedisTrafficLog:
    def __init__(self, client: redis.Redis, keys: Keys) -> None:
        self.r = client
        self.key = keys.ledger_traffic

    def record(
        self, ended_at: float, gigabytes: float, dollars: float, people_hours: float
    ) -> None:
        self.r.xadd(
            self.key,
            {
                "ended_at": repr(ended_at),
                "gb": repr(gigabytes),
                "dollars": repr(dollars),
                "people_hours": repr(people_hours),
            },
            maxlen=1_000,
            approximate=True,
        )

    def recent(self, count: int) -> list[tuple[float, float, float]]:
        rows = entries(self.r.xrevrange(self.key, count=count))
        return [
            (float(row["gb"]), float(row["dollars"]), float(row["people_hours"])) for _, row in rows
        ]
