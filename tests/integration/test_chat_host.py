"""The chat host on a real Redis: coalesced job rendering and its message target.
(Notices and the targets' own contract: test_follow.)"""

from __future__ import annotations

import asyncio

import pytest

from adapters.wiring import App
from bot.config import Settings
from bot.events import Event, EventKind
from bot.model import JobId
from bot.render import ProgressView
from infra.follow import WORKER_STOPPED


@pytest.fixture
def app(redis_url: str, project: str) -> App:
    return App(Settings(project_name=project, redis_url=redis_url))


def test_follow_job_coalesces_and_always_draws_the_end(app: App) -> None:
    host = app.chat_host()
    job = JobId("j1")
    for n in range(30):
        app.sink.emit(Event(EventKind.NOTICE, job, float(n), f"note {n}"))
    app.redis.xadd(app.keys.job_events(job), {"event": "{garbage"})  # skipped, not fatal
    app.sink.emit(Event(EventKind.FINISHED, job, 31.0, "done", data={"ok": True}))
    drawn: list[tuple[int, bool]] = []

    async def update(view: ProgressView, final: bool) -> None:
        drawn.append((len(view.notices), final))

    async def run() -> ProgressView:
        await host.follower.save_target("slack", job, {"channel": "C1", "ts": "1.2"})
        assert await host.follower.pending_targets("slack") == {
            "j1": {"channel": "C1", "ts": "1.2"}
        }
        view = await host.follow_job("slack", job, update, min_interval=0.5)
        assert await host.follower.pending_targets("slack") == {}
        await host.close()
        return view

    view = asyncio.run(run())
    assert view.ok and drawn[-1] == (30, True)
    assert len(drawn) <= 2  # 31 events, one or two edits


def test_a_silent_job_times_out_and_keeps_its_target(app: App) -> None:
    host = app.chat_host()
    job = JobId("j2")
    app.sink.emit(Event(EventKind.ACCEPTED, job, 0.0, "Starting requested by alice."))
    app.redis.xadd(app.keys.job_events(job), {"event": "{garbage"})  # the last entry

    async def update(view: ProgressView, final: bool) -> None:
        pass

    async def run() -> None:
        await host.follower.save_target("slack", job, {"channel": "C1", "ts": "1.3"})
        with pytest.raises(TimeoutError):
            await host.follow_job("slack", job, update, min_interval=0.1, idle_timeout=0.3)
        assert await host.follower.target("slack", job) is not None  # a restart resumes it
        await host.close()

    asyncio.run(run())


def test_a_job_whose_worker_stopped_is_told_and_still_followed(
    redis_url: str, project: str
) -> None:
    app = App(Settings(project_name=project, redis_url=redis_url, worker_lost_seconds=0.2))
    host = app.chat_host()
    job = JobId("j3")
    app.sink.emit(Event(EventKind.ACCEPTED, job, 0.0, "Starting requested by alice."))
    app.sink.emit(
        Event(EventKind.NOTICE, job, 1.0, "A worker picked up the start.", data={"picked_up": True})
    )
    drawn: list[list[str]] = []
    told = asyncio.Event()

    async def update(view: ProgressView, final: bool) -> None:
        drawn.append(list(view.notices))
        if WORKER_STOPPED in view.notices:
            told.set()

    async def run() -> ProgressView:
        following = asyncio.create_task(host.follow_job("slack", job, update, min_interval=0.05))
        try:
            await asyncio.wait_for(told.wait(), 10)  # no lease, no queue: it is told
        except TimeoutError:
            raise AssertionError(f"never told the worker stopped: {drawn}") from None
        # A worker comes back and the reconciler resumes the job on its id.
        app.sink.emit(Event(EventKind.NOTICE, job, 2.0, "Resuming.", data={"resumed": True}))
        app.sink.emit(Event(EventKind.FINISHED, job, 3.0, "done", data={"ok": True}))
        view = await following
        await host.close()
        return view

    view = asyncio.run(run())
    assert view.ok and view.notices == [WORKER_STOPPED, "Resuming."]
