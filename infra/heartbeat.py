"""Liveness of serve and worker processes, for ``jitsi-bot health``.

Each process renews a record ``Keys.alive(role, host, pid)`` with a TTL of three
beats from a thread of its own (the worker's main thread sits in RQ's blocking
dequeue or waits on a work horse for minutes, so it cannot renew on a short
period). ``check`` runs beside the process, in the same container (same hostname,
same process ids): it is healthy when Redis answers and a record of its role on
this host names a process id that is alive here. The pid check makes a dead
process unhealthy at once, before its record expires.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import threading
import time
from dataclasses import dataclass

import redis
from redis.exceptions import RedisError

from bot.config import redact_url
from infra.keys import Keys

log = logging.getLogger("jitsi.health")

ROLES = ("serve", "worker")


def identity() -> tuple[str, int]:
    """This process's (hostname, pid): a container's hostname is its own."""
    return socket.gethostname(), os.getpid()


class Heartbeat:
    """Renews this process's liveness record every ``interval`` seconds until stopped."""

    def __init__(self, client: redis.Redis, keys: Keys, role: str, interval: float) -> None:
        self.r = client
        self.role = role
        self.interval = interval
        self.host, self.pid = identity()
        self.key = keys.alive(role, self.host, self.pid)
        self.started = time.time()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{role}", daemon=True)

    def start(self) -> Heartbeat:
        self.beat()
        self._thread.start()
        return self

    def beat(self) -> bool:
        """Write the record once; False when Redis did not take it (an outage: the
        worker's own outage handling says so, once)."""
        body = {
            "role": self.role,
            "host": self.host,
            "pid": self.pid,
            "started": self.started,
            "renewed": time.time(),
        }
        try:
            self.r.set(self.key, json.dumps(body), ex=max(int(self.interval * 3), 3))
        except (RedisError, OSError):
            return False
        return True

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self.beat()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        with contextlib.suppress(RedisError, OSError):
            self.r.delete(self.key)  # gone at once, not after the TTL


@dataclass(frozen=True, slots=True)
class Health:
    ok: bool
    message: str


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, owned by someone else
        return True
    return True


def check(dsn: str, keys: Keys, role: str, host: str | None = None) -> Health:
    """Is a ``role`` process alive on ``host`` (this one by default) with Redis reachable?
    Answers within about 4 s whatever Redis does."""
    host = host or identity()[0]
    client = redis.Redis.from_url(
        dsn, socket_connect_timeout=2, socket_timeout=2, retry_on_timeout=False
    )
    try:
        client.ping()
        found = [(key, client.get(key)) for key in client.scan_iter(keys.alive_pattern(role, host))]
    except (RedisError, OSError) as exc:
        return Health(
            False,
            f"unhealthy: Redis at {redact_url(dsn)} does not answer ({type(exc).__name__}); "
            f"a {role} waits for it and resumes its work when it returns",
        )
    finally:
        client.close()
    stale = []
    for _key, raw in found:
        if raw is None:
            continue  # expired between SCAN and GET
        try:
            body = json.loads(raw)
            pid = int(body["pid"])
            renewed = float(body["renewed"])
        except (ValueError, KeyError, TypeError):
            continue
        if pid_alive(pid):
            return Health(
                True,
                f"healthy: {role} pid {pid} on {host}, renewed {time.time() - renewed:.0f} s ago",
            )
        stale.append(pid)
    dead = f" (pid {', '.join(map(str, stale))} left a record but is gone)" if stale else ""
    return Health(False, f"unhealthy: no live {role} on {host}{dead}")
