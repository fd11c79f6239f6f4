"""The per-platform lifecycle lock: a Redis lease renewed while its owner lives.

A worker killed with SIGKILL stops renewing, so the lease runs out within
``lease`` seconds and the next job (or the reconciler) can take over. Followers read
the key's presence as "a worker is on it" (``infra.follow.WorkerWatch``).

Through a Redis outage the owner keeps its handle: the renewer retries quietly, and
``regain`` takes the lease back when Redis returns, unless another owner took it.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from types import TracebackType

import redis
from redis.exceptions import LockError, RedisError

from infra.outage import OUTAGE_ERRORS

log = logging.getLogger("jitsi.lock")


class LeaseLock:
    def __init__(self, client: redis.Redis, name: str, lease: float) -> None:
        self.lease = lease
        self._client = client
        self._name = name
        self._lock = client.lock(name, timeout=lease, thread_local=False)
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None

    def acquire(self, wait: float, on_wait: Callable[[], None] | None = None) -> bool:
        """Try for ``wait`` seconds; ``on_wait`` runs once if the lock is busy at first."""
        if self._lock.acquire(blocking=False):
            self._start_renewing()
            return True
        if on_wait is not None:
            on_wait()
        if wait <= 0 or not self._lock.acquire(blocking=True, blocking_timeout=wait):
            return False
        self._start_renewing()
        return True

    def _start_renewing(self) -> None:
        self._stop.clear()
        self._renewer = threading.Thread(target=self._renew, name="lease-renewer", daemon=True)
        self._renewer.start()

    def _renew(self) -> None:
        failing = False
        while not self._stop.wait(self.lease / 3):
            try:
                self._lock.reacquire()
            except LockError:
                return  # lost it (expired while the process was stalled): nothing to renew
            except RedisError as exc:
                # Redis away: try again at the next tick; if it stays away past the
                # lease, the lock expires as it should. Said once per outage.
                if not failing:
                    log.warning("could not renew the lifecycle lock: %s", exc)
                failing = True
            else:
                failing = False

    def regain(self) -> bool:
        """After an outage: True when this handle holds the lease again (it still had it,
        or the lease had run out and nobody else took it); False when another owner has
        it. Renewing goes on either way it is held."""
        token = self._lock.local.token
        held = self._client.get(self._name)
        if held is None:
            if not self._lock.acquire(blocking=False, token=token):
                return False
        elif token is None or held != token:
            return False
        else:
            self._lock.reacquire()
        if self._renewer is None or not self._renewer.is_alive():
            self._start_renewing()
        return True

    def clear_if_unleased(self) -> bool:
        """Delete the lock when it has no lease (its owner can never release it)."""
        if self._client.pttl(self._name) != -1:
            return False  # absent (-2), or a lease that runs out by itself
        self._client.delete(self._name)
        return True

    def release(self) -> None:
        self._stop.set()
        if self._renewer is not None:
            self._renewer.join(timeout=self.lease)
        # Already expired: another owner may hold it now, and that is theirs. Redis
        # away: the lease runs out by itself.
        with contextlib.suppress(LockError, *OUTAGE_ERRORS):
            self._lock.release()

    def __enter__(self) -> LeaseLock:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
