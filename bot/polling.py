"""Waiting with backoff and a deadline, on an injected clock."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from bot.errors import LifecycleTimeout
from bot.ports import Clock

T = TypeVar("T")


def poll(
    probe: Callable[[], T],
    done: Callable[[T], bool],
    *,
    clock: Clock,
    timeout: float,
    what: str,
    min_interval: float,
    max_interval: float,
    on_wait: Callable[[T, float], None] | None = None,
    factor: float = 1.5,
) -> T:
    """Call ``probe`` until ``done(result)``; back off from min to max interval.

    ``on_wait(result, waited_seconds)`` runs after each unfinished probe (progress,
    cancellation checks). Raises ``LifecycleTimeout`` naming ``what`` at the deadline.
    """
    start = clock.monotonic()
    interval = min_interval
    while True:
        result = probe()
        if done(result):
            return result
        waited = clock.monotonic() - start
        if on_wait is not None:
            on_wait(result, waited)
        if waited >= timeout:
            raise LifecycleTimeout(
                f"Gave up waiting for {what} after {waited:.0f} s.",
                "Check the AWS console or `jitsi-bot status`, then try again.",
            )
        clock.sleep(min(interval, max(timeout - waited, 0.0)))
        interval = min(interval * factor, max_interval)
