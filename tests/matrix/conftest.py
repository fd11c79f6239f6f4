"""Matrix fixtures: ONE real Synapse per session; per test a fresh bot account,
fresh users and a fresh room, and the bot's adapter running in a thread of its own."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest

from adapters.chat.host import ChatHost
from adapters.matrix.app import MatrixAdapter
from adapters.wiring import App
from bot.config import Settings
from bot.config_chat import MatrixSettings
from tests.matrix.synapse import Synapse, User, homeserver
from tests.support.services import wait_for


@pytest.fixture(scope="session")
def synapse(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synapse]:
    with homeserver(tmp_path_factory.mktemp("synapse")) as hs:
        yield hs


class BotRunner:
    """A ``MatrixAdapter`` served in its own event loop and thread, as ``serve`` runs it."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.adapter: MatrixAdapter | None = None
        self.host: ChatHost | None = None
        self.task: Future[Any] | None = None

    def call(self, fn: Callable[[], Any], timeout: float = 30) -> Any:
        async def wrapper() -> Any:
            result = fn()
            return await result if asyncio.iscoroutine(result) else result

        return asyncio.run_coroutine_threadsafe(wrapper(), self.loop).result(timeout)

    def start(self, wait_ready: bool = True) -> MatrixAdapter:
        def build() -> MatrixAdapter:
            self.host = App(self.settings).chat_host()
            return MatrixAdapter(self.host)

        self.adapter = self.call(build)
        self.task = asyncio.run_coroutine_threadsafe(self.adapter.run(), self.loop)
        if wait_ready:
            wait_for(
                lambda: self.adapter.ready.is_set() or self._failed(), 30, "the bot's 1st sync"
            )
        return self.adapter

    def _failed(self) -> bool:
        if self.task is not None and self.task.done():
            self.task.result()  # raises what run() raised
        return False

    def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            wait_for(lambda: self.task.done(), 10, "the bot's run() to end")  # type: ignore[union-attr]
        if self.adapter is not None:
            self.call(self.adapter.close)
        if self.host is not None:
            self.call(self.host.close)
        self.adapter = self.host = self.task = None

    def shutdown(self) -> None:
        self.stop()
        self.call(self.loop.shutdown_default_executor)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)
        self.loop.close()


def matrix_settings(hs: Synapse, bot: User, tmp: Path, **extra: Any) -> MatrixSettings:
    body: dict[str, Any] = {
        "homeserver": hs.url,
        "user_id": bot.user_id,
        "access_token": bot.token,
        "device_id": bot.device_id,
        "store_path": str(tmp / "matrix-store"),
        "edit_interval_seconds": 0.5,
        "sync_timeout_seconds": 5,
        **extra,
    }
    return MatrixSettings(**body)


def bot_settings(base: Settings, matrix: MatrixSettings) -> Settings:
    return base.model_copy(update={"matrix": matrix})


@pytest.fixture
def runners() -> Iterator[list[BotRunner]]:
    made: list[BotRunner] = []
    yield made
    for runner in made:
        runner.shutdown()


def bot_messages(user: User, room_id: str, bot_id: str) -> list[dict[str, Any]]:
    """The bot's events in the room (originals and edits), oldest first."""
    return [
        e
        for e in user.messages(room_id)
        if e.get("sender") == bot_id and e.get("type") == "m.room.message"
    ]


def originals(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        e
        for e in events
        if (e["content"].get("m.relates_to") or {}).get("rel_type") not in ("m.replace",)
    ]


def edits_of(events: list[dict[str, Any]], event_id: str) -> list[dict[str, Any]]:
    return [
        e
        for e in events
        if (e["content"].get("m.relates_to") or {}).get("rel_type") == "m.replace"
        and e["content"]["m.relates_to"].get("event_id") == event_id
    ]


def latest_text(events: list[dict[str, Any]], event_id: str) -> str:
    edits = edits_of(events, event_id)
    if edits:
        return str(edits[-1]["content"]["m.new_content"]["body"])
    original = next(e for e in events if e["event_id"] == event_id)
    return str(original["content"]["body"])


def join_room(owner: User, bot: User, *members: User, **room: Any) -> str:
    """A fresh room created by ``owner`` (room version 12) with the bot and members in it."""
    room_id = owner.create_room(**room)
    for member in (bot, *members):
        owner.invite(room_id, member.user_id)
        member.join(room_id)
    return room_id


# The e2e platform (emulated AWS + real worker subprocesses) for the end-to-end tests.
from tests.e2e.conftest import emulator_url, platform  # noqa: E402, F401
