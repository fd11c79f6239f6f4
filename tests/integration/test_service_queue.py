"""Chat command -> real Redis/RQ queue -> in-process burst worker -> events, on a fake cloud."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest
import redis
from rq import Queue, SimpleWorker

from adapters.wiring import App
from bot.config import Settings
from bot.events import Event, EventKind
from bot.model import Actor, ChatPlatform, JobKind, UserId
from bot.render import ProgressView
from bot.reply import ReplyKind
from bot.state import PlatformState
from infra import jobs
from infra.follow import BEGINNING
from tests.support.clocks import FakeClock
from tests.support.fake_cloud import FakeCloud
from tests.support.fake_parts import fake_parts


def actor(name: str = "alice") -> Actor:
    return Actor(UserId(f"console:{name}"), "general", ChatPlatform.CONSOLE, name)


@pytest.fixture
def app(redis_url: str, project: str) -> Iterator[App]:
    settings = Settings(
        project_name=project,
        redis_url=redis_url,
        poll_min_seconds=1,
        poll_max_seconds=2,
        reconcile_interval_seconds=0,
        allowed_users={"stop": ["console:alice"]},
    )
    clock = FakeClock()
    cloud = FakeCloud(clock)
    app = App(settings, clock=clock, given_parts=fake_parts(cloud))
    app.__dict__["fake_cloud"] = cloud
    jobs.install(app.job_context())
    yield app
    jobs.install(None)
    app.redis.close()


def drain(app: App) -> None:
    queue = Queue(app.keys.queue_name, connection=app.redis)
    SimpleWorker([queue], connection=app.redis).work(burst=True)


def events_of(app: App, job_id: str, timeout: float = 2) -> list[Event]:
    """The job's events up to its terminal one, waiting up to ``timeout`` s for it."""

    async def read() -> list[Event]:
        events: list[Event] = []
        after = BEGINNING
        deadline = time.monotonic() + timeout
        try:
            while not events or not events[-1].terminal:
                assert time.monotonic() < deadline, f"job {job_id} did not end"
                batch = await app.follower.job_events(job_id, after, block_ms=100)
                events += [e for _, e in batch.items]
                after = batch.last
        finally:
            await app.follower.aclose()
        return events

    return asyncio.run(read())


def view_of(app: App, job_id: str) -> ProgressView:
    view = ProgressView()
    for event in events_of(app, job_id):
        view.apply(event)
    return view


def test_start_runs_through_the_queue_and_posts_the_url(app: App) -> None:
    reply = app.service.handle("start standup", actor())
    assert reply.kind is ReplyKind.JOB and reply.job_id and not reply.joined
    assert reply.job_kind is JobKind.START  # typed: no adapter parses the text again
    assert app.store.status().desired.value == "running"  # written before any work
    drain(app)
    view = view_of(app, reply.job_id)
    assert view.ok and view.url == "https://meet.example.com/standup"
    assert app.store.status().state is PlatformState.RUNNING and app.store.status().job_id is None


def test_second_start_while_starting_joins_the_same_job(app: App) -> None:
    first = app.service.handle("start", actor("alice"))
    second = app.service.handle("start", actor("bob"))
    assert second.joined and second.job_id == first.job_id
    assert second.job_kind is JobKind.START
    assert len(Queue(app.keys.queue_name, connection=app.redis)) == 1


def test_start_while_running_answers_at_once_with_the_url(app: App) -> None:
    app.service.handle("start", actor())
    drain(app)
    reply = app.service.handle("start", actor("bob"))
    assert reply.kind is ReplyKind.INFO and "https://meet.example.com" in reply.text
    assert "per hour" in reply.text
    assert len(Queue(app.keys.queue_name, connection=app.redis)) == 0


def test_stop_queued_behind_a_start_wins(app: App) -> None:
    start = app.service.handle("start", actor())
    stop = app.service.handle("stop", actor())
    assert stop.job_id != start.job_id and stop.job_kind is JobKind.STOP
    drain(app)
    start_view, stop_view = view_of(app, start.job_id), view_of(app, stop.job_id)  # type: ignore[arg-type]
    assert start_view.finished and start_view.url is None  # cancelled at its first boundary
    assert stop_view.ok and stop_view.audit and "clean" in stop_view.audit
    assert app.store.status().state is PlatformState.STOPPED


def test_denied_and_malformed_commands_are_audited_and_queue_nothing(app: App) -> None:
    denied = app.service.handle("stop", actor("mallory"))
    assert denied.kind is ReplyKind.DENIED and denied.exit_code == 2 and denied.private
    bad = app.service.handle("start a b", actor())
    assert bad.kind is ReplyKind.USAGE and "a-b" in bad.text
    assert len(Queue(app.keys.queue_name, connection=app.redis)) == 0
    outcomes = [entry.outcome for entry in app.audit_log.recent(10)]
    assert outcomes == ["usage-error", "denied"]


def test_status_and_cost_answer_without_a_job(app: App) -> None:
    status = app.service.handle("status", actor())
    assert status.kind is ReplyKind.INFO and "stopped" in status.text
    cost = app.service.handle("cost", actor())
    assert (
        "per hour" in cost.text and "Break-even" in cost.text and "This month so far" in cost.text
    )


def test_stop_reports_session_cost_into_the_ledger(app: App) -> None:
    app.service.handle("start", actor())
    drain(app)
    stop = app.service.handle("stop", actor())
    drain(app)
    view = view_of(app, stop.job_id)  # type: ignore[arg-type]
    assert any("Session lasted" in line for line in view.cost_lines)
    sessions = app.redis.xrange(app.keys.ledger_sessions)
    assert len(sessions) == 1 and float(sessions[0][1][b"cost"]) > 0


def test_reconcile_resumes_a_job_whose_worker_died(app: App, redis_client: redis.Redis) -> None:
    reply = app.service.handle("start", actor())
    # The job was picked up, then its worker died: RQ shows it started, nobody holds the lock.
    Queue(app.keys.queue_name, connection=app.redis).empty()
    app.store.save(app.store.status().moved_to(PlatformState.STARTING, 0))
    result = jobs.reconcile()
    assert result.startswith("resumed start")
    view = view_of(app, reply.job_id)  # type: ignore[arg-type]
    assert view.ok and view.url  # the requester's job stream got its ending
    assert jobs.reconcile() == "converged"


def test_a_crashing_job_still_ends_its_stream(app: App) -> None:
    cloud = app.__dict__["fake_cloud"]
    assert isinstance(cloud, FakeCloud)
    cloud.fail_on["ingress.bring_up"] = ZeroDivisionError("bug")  # type: ignore[assignment]
    reply = app.service.handle("start", actor())
    drain(app)
    view = view_of(app, reply.job_id)  # type: ignore[arg-type]
    assert view.finished and view.ok is False and "crashed" in (view.error or "")
    assert any(e.kind is EventKind.FINISHED for e in events_of(app, reply.job_id, 1))  # type: ignore[arg-type]
