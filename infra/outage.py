"""Redis outages: the one place that tells an outage from a bug, converts it for people,
and waits it out for processes that must outlive it.

The stores (``infra.redis_store``, ``infra.events``, RQ itself) let redis-py's errors
through as they are, on purpose: inside a lifecycle job a ``BotError`` means "this step
failed, roll back", and a Redis outage must pause the job and resume it, never undo the
platform. Each edge decides with this module:

- a command (``say``, ``status``, a chat command in ``serve``) converts an outage into
  ``StateUnavailable`` and answers at once that the queue is unreachable;
- the worker, its scheduler thread and a running job wait for Redis with ``Outage``
  (exponential backoff with jitter, one log line when it goes and one when it returns),
  then carry on where they were.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from tenacity import Retrying, retry_if_exception_type, wait_exponential, wait_random

from bot.errors import BotError

OUTAGE_ERRORS: tuple[type[Exception], ...] = (RedisConnectionError, RedisTimeoutError)
"""What Redis going away looks like: refused or dropped connections, timeouts, and
``BusyLoadingError`` (a ``ConnectionError``: a restarted Redis replaying its AOF).
redis-py wraps socket errors in these; a bare ``OSError`` is someone else's (AWS, a
subprocess) and must not be mistaken for Redis."""

QUEUE_UNREACHABLE = "The queue is unreachable"


class StateUnavailable(BotError):
    """Redis did not answer. What was saved is intact: trying again later resumes."""

    hint = "Check that redis-server runs at JITSI_REDIS_URL; nothing was lost, try again."


def is_outage(exc: BaseException) -> bool:
    """True when ``exc`` (or the error it was raised from) is Redis being unreachable."""
    seen: BaseException | None = exc
    for _ in range(5):  # a failed write inside an ``except`` chains the first one
        if seen is None:
            return False
        if isinstance(seen, OUTAGE_ERRORS):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def unavailable(exc: BaseException) -> StateUnavailable:
    """The error a person sees for an outage: what happened, never a traceback."""
    return StateUnavailable(f"{QUEUE_UNREACHABLE}: Redis is unavailable ({type(exc).__name__}).")


@contextmanager
def converted() -> Iterator[None]:
    """Raise ``StateUnavailable`` for an outage inside the block (commands' edge)."""
    try:
        yield
    except OUTAGE_ERRORS as exc:
        raise unavailable(exc) from exc


class Outage:
    """One process part's view of Redis (the worker loop, a job, the scheduler thread):
    ``lost`` logs once per outage, ``back`` once when it ends and calls ``on_back``,
    ``wait`` blocks until Redis answers a PING again.

    ``stopping`` ends a wait early (the worker was asked to stop): ``wait`` then raises
    the last error."""

    def __init__(
        self,
        client: redis.Redis,
        what: str,
        log: logging.Logger,
        *,
        max_backoff: float = 5.0,
        on_back: Callable[[float], object] | None = None,
        stopping: Callable[[], bool] = lambda: False,
    ) -> None:
        self.client = client
        self.what = what
        self.log = log
        self.max_backoff = max_backoff
        self.on_back = on_back
        self.stopping = stopping
        self.count = 0  # outages seen by this process part
        self._since: float | None = None
        self._mutex = threading.Lock()

    @property
    def down(self) -> bool:
        return self._since is not None

    def lost(self, exc: BaseException) -> None:
        with self._mutex:
            if self._since is not None:
                return
            self._since = time.monotonic()
            self.count += 1
        self.log.warning(
            "%s: Redis is unreachable (%s: %s); waiting for it to return",
            self.what,
            type(exc).__name__,
            exc,
        )

    def back(self) -> float:
        """Mark the outage over; returns how long it lasted (0.0 when there was none)."""
        with self._mutex:
            since, self._since = self._since, None
        if since is None:
            return 0.0
        seconds = time.monotonic() - since
        self.log.warning("%s: Redis is back after %.1f s", self.what, seconds)
        if self.on_back is not None:
            self.on_back(seconds)
        return seconds

    def wait(self, exc: BaseException | None = None) -> float:
        """Block until Redis answers (backing off up to ``max_backoff`` between tries);
        returns the outage's length so far."""
        if exc is not None:
            self.lost(exc)
        for attempt in Retrying(
            retry=retry_if_exception_type(OUTAGE_ERRORS),
            wait=wait_exponential(multiplier=0.1, max=self.max_backoff) + wait_random(0, 0.1),
            stop=lambda _state: self.stopping(),
            reraise=True,
        ):
            with attempt:
                try:
                    self.client.ping()
                except OUTAGE_ERRORS as err:
                    self.lost(err)
                    raise
        return self.back()
