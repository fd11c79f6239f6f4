"""The terminal chat's notice channel: unprompted notices (idle warnings, repairs,
budgets, schedules) printed as they arrive, from a background thread."""

from __future__ import annotations

import threading

import redis
from rich.console import Console

from adapters.console import translate
from bot.events import Notice
from infra.keys import Keys


class NoticePrinter:
    """Follows the notices stream from "now" and prints each notice once."""

    def __init__(self, client: redis.Redis, keys: Keys, console: Console) -> None:
        self.r = client
        self.keys = keys
        self.console = console
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> NoticePrinter:
        last = self.r.xrevrange(self.keys.notices, count=1)
        after = last[0][0].decode() if last else "0-0"
        self._thread = threading.Thread(target=self._run, args=(after,), daemon=True)
        self._thread.start()
        return self

    def _run(self, after: str) -> None:
        while not self._stop.is_set():
            try:
                reply = self.r.xread({self.keys.notices: after}, block=1000, count=50)
            except redis.RedisError:
                if self._stop.wait(1.0):
                    return
                continue
            for _, entries in reply or []:
                for entry_id, raw in entries:
                    after = entry_id.decode()
                    fields = {k.decode(): v.decode() for k, v in raw.items()}
                    try:
                        notice = Notice.from_fields(fields)
                    except ValueError:
                        continue
                    self.console.print(
                        translate.notice_text(notice), style="yellow", markup=False, highlight=False
                    )

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
