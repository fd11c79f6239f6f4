"""`history` end to end: commands through the service, jobs through the real queue and a
burst worker (on a fake cloud), every one in the audit stream, read back in chat."""

from __future__ import annotations

import io
from collections.abc import Iterator

import pytest
from rich.console import Console
from rq import Queue, SimpleWorker

from adapters.wiring import App
from bot.audit import EntryKind
from bot.config import Settings
from bot.model import Actor, ChatPlatform, UserId
from bot.reply import ReplyKind
from infra import jobs
from tests.support.clocks import FakeClock
from tests.support.fake_cloud import FakeCloud
from tests.support.fake_parts import fake_parts


def actor(name: str, platform: ChatPlatform = ChatPlatform.CONSOLE) -> Actor:
    return Actor(UserId(f"{platform.value}:{name}"), f"#{name}-room", platform, name)


ALICE, BOB = actor("alice"), actor("bob", ChatPlatform.SLACK)


def make_app(redis_url: str, project: str, **overrides: object) -> App:
    values: dict[str, object] = {
        "project_name": project,
        "redis_url": redis_url,
        "poll_min_seconds": 1,
        "poll_max_seconds": 2,
        "reconcile_interval_seconds": 0,
        "allowed_users": {"history": [ALICE.user]},
    }
    values.update(overrides)
    clock = FakeClock()
    return App(Settings(**values), clock=clock, given_parts=fake_parts(FakeCloud(clock)))  # type: ignore[arg-type]


@pytest.fixture
def app(redis_url: str, project: str) -> Iterator[App]:
    app = make_app(redis_url, project)
    jobs.install(app.job_context())
    yield app
    jobs.install(None)
    app.redis.close()


def drain(app: App) -> None:
    queue = Queue(app.keys.queue_name, connection=app.redis)
    SimpleWorker([queue], connection=app.redis).work(burst=True)


def test_history_lists_commands_and_job_ends(app: App) -> None:
    start = app.service.handle("start standup", ALICE)
    drain(app)
    stop = app.service.handle("stop", BOB)
    drain(app)
    app.service.handle("start a b", BOB)  # malformed: audited too
    reply = app.service.handle("history 5", ALICE)
    assert reply.kind is ReplyKind.INFO and reply.private  # names people: the asker only
    lines = reply.text.splitlines()
    assert lines[0] == "Last 5 audit entries, newest first:"
    assert "slack:bob (slack #bob-room) `start a b` -> usage-error" in lines[1]
    assert f"stop job {stop.job_id} for slack:bob (slack #bob-room) ended ok" in lines[2]
    assert "AWS calls" in lines[2] and "session cost $" in lines[2]
    assert f"`stop` -> job job={stop.job_id}" in lines[3]
    assert f"start job {start.job_id} for console:alice (console #alice-room) ended ok" in lines[4]
    assert "session cost" not in lines[4]  # a start closes no session
    # The job entries carry what the worker measured.
    stop_end = next(e for e in app.audit_log.recent(10) if e.kind is EntryKind.JOB)
    assert stop_end.ok and stop_end.aws_calls and stop_end.cost is not None
    assert stop_end.seconds is not None and stop_end.seconds >= 0
    # `history` itself is recorded after it answered, so it never lists itself.
    assert app.audit_log.recent(1)[0].what == "history 5"


def test_history_answers_to_the_allow_list(app: App) -> None:
    denied = app.service.handle("history", BOB)
    assert denied.kind is ReplyKind.DENIED and "history" in denied.text
    assert app.audit_log.recent(1)[0].outcome == "denied"


@pytest.mark.parametrize("text", ["history 99999999999999999999", "history -1", "history abc"])
def test_malformed_history_is_a_usage_error_and_audited(app: App, text: str) -> None:
    reply = app.service.handle(text, ALICE)
    assert reply.kind is ReplyKind.USAGE and reply.exit_code == 2 and "history" in reply.text
    assert app.audit_log.recent(1)[0].what == text


def test_the_configured_bound_trims_the_log(redis_url: str, project: str) -> None:
    app = make_app(redis_url, project, audit_max_entries=10)
    try:
        for _ in range(15):
            app.service.handle("status", ALICE)
        assert app.audit_log.length() == 10
        reply = app.service.handle("history 50", ALICE)
        assert reply.text.startswith("Last 10 audit entries")
    finally:
        app.redis.close()


def test_the_terminal_prints_history_as_plain_text(app: App) -> None:
    app.service.handle("start [bold]x[/]", ALICE)  # rich markup typed as a command
    out = io.StringIO()
    chat = app.console_chat(ALICE, Console(file=out, width=200))
    assert chat.say("history") == 0
    assert "`start [bold]x[/]` -> usage-error" in out.getvalue()
