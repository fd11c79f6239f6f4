"""The operators' view of serve and worker: liveness records for ``jitsi-bot health``
and, when ``metrics_port`` is set, Prometheus /metrics (docs/operations.md)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from adapters.wiring import App
from infra import heartbeat
from infra.heartbeat import Heartbeat
from infra.leftovers import LeftoverMark
from infra.metrics_http import DeploymentCollector, PlatformView, serve_metrics
from infra.redis_store import RedisPlatformStore
from infra.sessions import RedisSessionStore

log = logging.getLogger("jitsi.operations")

EXIT_OK, EXIT_UNHEALTHY = 0, 1


@contextmanager
def operated(app: App, role: str) -> Iterator[None]:
    """Run the body as a ``role`` process (serve, worker) that ``health`` and Prometheus
    can see: its heartbeat renewed, and /metrics served when configured."""
    beat = Heartbeat(app.metrics_redis, app.keys, role, app.settings.heartbeat_seconds).start()
    stop_metrics = None
    port = app.settings.metrics_port
    if port is not None:
        stop_metrics = serve_metrics(app.settings.metrics_host, port, collector(app))
        log.info("metrics on http://%s:%d/metrics", app.settings.metrics_host, port)
    try:
        yield
    finally:
        if stop_metrics is not None:
            stop_metrics()
        beat.stop()


def collector(app: App) -> DeploymentCollector:
    """What a scrape reads, all through the short-timeout client: a hung Redis makes
    the scrape say ``jitsi_redis_up 0`` within seconds rather than hang."""
    client = app.metrics_redis
    store = RedisPlatformStore(client, app.keys)
    view = PlatformView(
        status=store.status,
        watch=RedisSessionStore(client, app.keys).load,
        leftovers=LeftoverMark(store).marked,
        running_hour=app.costs.running_hour if app.costs.known else None,
    )
    return DeploymentCollector(client, app.keys, view)


def health(app: App, process: str | None) -> int:
    """Exit 0 when a ``process`` (serve or worker; either, when None) lives on this host
    and Redis answers; print why not otherwise."""
    roles = [process] if process else list(heartbeat.ROLES)
    results = [heartbeat.check(app.settings.redis_dsn, app.keys, role) for role in roles]
    good = [r for r in results if r.ok]
    if good:
        print(good[0].message)
        return EXIT_OK
    print("; ".join(r.message for r in results))
    return EXIT_UNHEALTHY
