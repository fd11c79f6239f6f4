"""The chat host on a real Redis: coalesced job rendering, message targets, notices."""

from __future__ import annotations

import asyncio

import pytest

from adapters.chat.host import ChatHost
from adapters.wiring import App
from bot.config import Settings
from bot.events import Event, EventKind, Notice, NoticeKind
from bot.model import JobId
from bot.render import ProgressView


@pytest.fixture
def host(redis_url: str, project: str) -> ChatHost:
    return ChatHost(App(Settings(project_name=project, redis_url=redis_url)))


def test_follow_job_coalesces_and_always_draws_the_end(host: ChatHost) -> None:
    sink = host.app.sink
    job = JobId("j1")
    for n in range(30):
        sink.emit(Event(EventKind.NOTICE, job, float(n), f"note {n}"))
    sink.emit(Event(EventKind.FINISHED, job, 31.0, "done", data={"ok": True}))
    drawn: list[tuple[int, bool]] = []

    async def update(view: ProgressView, final: bool) -> None:
        drawn.append((len(view.notices), final))

    async def run() -> ProgressView:
        await host.save_target("slack", job, {"channel": "C1", "ts": "1.2"})
        assert await host.pending_targets("slack") == {"j1": {"channel": "C1", "ts": "1.2"}}
        view = await host.follow_job("slack", job, update, min_interval=0.5)
        assert await host.pending_targets("slack") == {}
        await host.close()
        return view

    view = asyncio.run(run())
    assert view.ok and drawn[-1] == (30, True)
    assert len(drawn) <= 2  # 31 events, one or two edits


def test_notices_resume_after_the_last_acknowledged(host: ChatHost) -> None:
    async def take(n: int, ack: bool = True) -> list[str]:
        out = []
        async for entry_id, notice in host.notices("matrix"):
            out.append(notice.text)
            if ack:
                await host.ack_notice("matrix", entry_id)
            if len(out) == n:
                break
        return out

    async def run() -> tuple[list[str], list[str], list[str]]:
        host.app.notices.notify(Notice(NoticeKind.REPAIR, 0.0, "before the bot ever ran"))
        reader = asyncio.create_task(take(2))
        # The reader pins "now" and then blocks in XREAD: wait until Redis says so.
        deadline = asyncio.get_running_loop().time() + 5
        while not any(c.get("cmd") == "xread" for c in host.app.redis.client_list()):
            assert asyncio.get_running_loop().time() < deadline, "reader never blocked"
            await asyncio.sleep(0.01)
        host.app.notices.notify(Notice(NoticeKind.REPAIR, 1.0, "first"))
        host.app.notices.notify(Notice(NoticeKind.IDLE_WARNING, 2.0, "second"))
        first = await reader
        host.app.notices.notify(Notice(NoticeKind.SUMMARY, 3.0, "third"))
        unacked = await take(1, ack=False)  # crashes before posting it...
        again = await take(1)  # ...so the restart gets it again
        await host.close()
        return first, unacked, again

    first, unacked, again = asyncio.run(run())
    assert first == ["first", "second"]
    assert unacked == ["third"] and again == ["third"]
