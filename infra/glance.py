"""What chat shows about the platform besides command replies: whether a session runs,
who the idle monitor last saw in it, and this month's hours and cost (the figure
``cost`` shows: ended sessions plus the running one so far, ``bot.cost.month_to_date``).

Read through the core's (synchronous) ports in a worker thread, so an adapter's event
loop never blocks; Redis errors come out as ``infra.follow.StateUnavailable``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from redis.exceptions import RedisError

from bot.cost import CostModel, month_to_date
from bot.ports import Clock, Ledger, PlatformStore, SessionStore
from bot.state import DesiredState, PlatformState
from bot.watch import SessionWatch
from infra.follow import StateUnavailable

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class SessionGlance:
    now: float
    url: str | None
    running_since: float | None  # the session's start; None when stopped or a stop is asked
    watch: SessionWatch | None  # the idle monitor's record (may be another session's)


class PlatformGlance:
    def __init__(
        self,
        store: PlatformStore,
        sessions: SessionStore,
        ledger: Ledger,
        clock: Clock,
        costs: CostModel,
    ) -> None:
        self._store = store
        self._sessions = sessions
        self._ledger = ledger
        self._clock = clock
        self._costs = costs

    async def session(self) -> SessionGlance:
        """The platform now, and the monitor's record when a session runs."""
        return await _in_thread(self._session)

    async def month_to_date(self, now: float) -> tuple[float, float | None]:
        """(hours, cost) of this UTC month so far: the ended sessions and the running one
        up to ``now``, the same figure as ``cost`` and the budget check; cost None when
        the region's prices are unknown."""
        return await _in_thread(lambda: self._month_to_date(now))

    def _month_to_date(self, now: float) -> tuple[float, float | None]:
        started = self._store.status().session_started_at
        mtd = month_to_date(self._costs, self._ledger.month_to_date(now), started, now)
        return mtd.hours, mtd.cost

    def _session(self) -> SessionGlance:
        status = self._store.status()
        now = self._clock.now()
        running = (
            status.state is PlatformState.RUNNING
            and status.desired is DesiredState.RUNNING
            and status.session_started_at is not None
        )
        if not running:
            return SessionGlance(now, status.url, None, None)
        return SessionGlance(now, status.url, status.session_started_at, self._sessions.load())


async def _in_thread(read: Callable[[], T]) -> T:
    try:
        return await asyncio.to_thread(read)
    except (RedisError, OSError) as exc:
        raise StateUnavailable(
            f"Redis is unavailable ({type(exc).__name__}).",
            "Check that redis-server runs at JITSI_REDIS_URL.",
        ) from exc
