"""Clocks for tests: one that moves only when the code sleeps, and the real one with
a wall time a test can move forward (``bot.ports.Clock``)."""

from __future__ import annotations

from infra.clock import SystemClock


class FakeClock:
    """Time moves only when the code sleeps."""

    def __init__(self, start: float = 1_780_000_000.0) -> None:
        self.t = start
        self.m = 0.0
        self.sleeps: list[float] = []

    def now(self) -> float:
        return self.t + self.m

    def monotonic(self) -> float:
        return self.m

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.m += seconds


class SkewedClock(SystemClock):
    """The system clock, its wall time ``skew`` seconds ahead: a test ages what was
    recorded at ``time.time()`` without waiting (monotonic time and sleeps are real)."""

    def __init__(self) -> None:
        self.skew = 0.0

    def now(self) -> float:
        return super().now() + self.skew
