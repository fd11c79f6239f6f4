"""The terminal chat's notice channel: unprompted notices (idle warnings, repairs,
budgets, schedules) printed as they arrive, from a background thread."""

from __future__ import annotations

import asyncio
import threading

from rich.console import Console

from adapters.console import translate
from infra.follow import EntryId, Follower, StateUnavailable


class NoticePrinter:
    """Follows the notices stream from "now" (when ``start`` returns) and prints each
    notice once; remembers nothing across runs."""

    def __init__(self, follower: Follower, console: Console) -> None:
        self.follower = follower
        self.console = console
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> NoticePrinter:
        after = asyncio.run(self._pin())
        self._thread = threading.Thread(target=lambda: asyncio.run(self._print(after)), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)

    async def _pin(self) -> EntryId:
        try:
            return await self.follower.notices_start(None)
        finally:
            await self.follower.aclose()

    async def _print(self, after: EntryId) -> None:
        try:
            while not self._stop.is_set():
                try:
                    batch = await self.follower.read_notices(after, block_ms=1000)
                except StateUnavailable:
                    await asyncio.sleep(1.0)
                    continue
                after = batch.last
                for _, notice in batch.items:
                    self.console.print(
                        translate.notice_text(notice), style="yellow", markup=False, highlight=False
                    )
        finally:
            await self.follower.aclose()
