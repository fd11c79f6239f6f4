"""Fixtures of the guard tests: a stats server the test owns, a platform on the
fake cloud with a fake clock, and helpers that play the RQ scheduler's part."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from rq import Queue, SimpleWorker
from rq.registry import ScheduledJobRegistry
from rq.scheduler import RQScheduler

from adapters.wiring import App
from bot.config import Settings
from bot.events import Notice
from bot.model import Actor, ChatPlatform, UserId
from infra import jobs
from infra.guard import Guards
from tests.e2e.conftest import platform  # noqa: F401 (the e2e fixture, reused)
from tests.support import services
from tests.support.clocks import FakeClock
from tests.support.fake_cloud import FakeCloud
from tests.support.fake_parts import fake_parts


@dataclass
class StatsServer:
    """Speaks Jicofo ``/stats`` and JVB ``/colibri/stats`` and ``/metrics``."""

    participants: int = 0
    stall: bool = False  # hold every request until released: a source that times out
    requests: int = 0
    release: threading.Event = field(default_factory=threading.Event)
    url: str = ""

    def body(self, path: str) -> tuple[str, str]:
        if path.startswith("/metrics"):
            return (
                "text/plain",
                f"# TYPE jitsi_participants gauge\njitsi_participants {self.participants}\n",
            )
        return "application/json", json.dumps({"participants": self.participants, "conferences": 1})


@pytest.fixture
def stats() -> Iterator[StatsServer]:
    state = StatsServer()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.requests += 1
            if state.stall:
                state.release.wait(10)
                return
            kind, body = state.body(self.path)
            data = body.encode()
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield state
    state.release.set()
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="session")
def emulator_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The AWS emulator, field delays scaled to seconds (as the e2e suite runs it)."""
    log = tmp_path_factory.mktemp("emulator") / "emulator.log"
    with services.emulator("field", 0.02, log=log) as url:
        yield url


def actor(name: str = "alice", channel: str = "general") -> Actor:
    return Actor(UserId(f"console:{name}"), channel, ChatPlatform.CONSOLE, name)


@dataclass
class Rig:
    app: App
    clock: FakeClock
    cloud: FakeCloud

    @property
    def guards(self) -> Guards:
        return self.app.guards

    def say(self, text: str, who: str = "alice") -> Any:
        return self.app.service.handle(text, actor(who))

    def drain(self) -> None:
        queue = Queue(self.app.keys.queue_name, connection=self.app.redis)
        SimpleWorker([queue], connection=self.app.redis).work(burst=True)

    def tick(self, minutes: float = 1.0) -> str:
        """Move the clock and run the monitor as the scheduled chain would."""
        self.clock.m += minutes * 60
        current = self.app.redis.get(self.app.keys.monitor_scheduled)
        return self.guards.run_monitor(current.decode() if current else "")

    def notices(self) -> list[Notice]:
        rows = self.app.redis.xrange(self.app.keys.notices)
        return [Notice.from_fields({k.decode(): v.decode() for k, v in r.items()}) for _, r in rows]

    def texts(self) -> list[str]:
        return [n.text for n in self.notices()]

    def make_due(self) -> int:
        """Play the clock forward for RQ: every scheduled job is due now; enqueue them."""
        queue = Queue(self.app.keys.queue_name, connection=self.app.redis)
        registry = ScheduledJobRegistry(queue=queue)
        ids = registry.get_job_ids()
        for job_id in ids:
            self.app.redis.zadd(registry.key, {job_id: 0})
        scheduler = RQScheduler([queue], connection=self.app.redis)
        scheduler.acquire_locks()
        scheduler.enqueue_scheduled_jobs()
        scheduler.release_locks()
        return len(ids)


def make_settings(project: str, redis_url: str, **extra: Any) -> Settings:
    base: dict[str, Any] = {
        "project_name": project,
        "redis_url": redis_url,
        "poll_min_seconds": 1,
        "poll_max_seconds": 2,
        "reconcile_interval_seconds": 0,
        "idle": {"minutes": 15, "warn_minutes": 5, "readings": 3, "grace_minutes": 5},
    }
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(base.get(key), dict):
            base[key] = {**base[key], **value}
        else:
            base[key] = value
    return Settings(**base)


@pytest.fixture
def rig_factory(redis_url: str, project: str) -> Iterator[Any]:
    made: list[App] = []

    def build(**extra: Any) -> Rig:
        settings = make_settings(project, redis_url, **extra)
        clock = FakeClock(start=1_780_000_000.0)
        cloud = FakeCloud(clock)
        app = App(settings, clock=clock, given_parts=fake_parts(cloud))
        jobs.install(app.job_context())
        made.append(app)
        return Rig(app, clock, cloud)

    yield build
    jobs.install(None)
    for app in made:
        app.redis.close()
