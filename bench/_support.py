"""Shared helpers for the bench scripts."""

from __future__ import annotations

from contextlib import AbstractContextManager

from infra.local_redis import free_port, private_redis

__all__ = ["free_port", "percentile", "redis_server"]


def redis_server() -> AbstractContextManager[str]:
    """A private redis-server for one benchmark run; yields its URL."""
    return private_redis()


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]
