"""The terminal chat prints notices as they arrive, with the `keep` hint."""

from __future__ import annotations

import io
import time
from typing import Any

from rich.console import Console

from adapters.console.notices import NoticePrinter
from bot.events import Notice, NoticeKind
from tests.support.services import wait_for


def test_notices_are_printed_with_the_keep_hint(rig_factory: Any) -> None:
    rig = rig_factory()
    rig.app.notices.notify(Notice(NoticeKind.REPAIR, time.time(), "old news"))
    out = io.StringIO()
    printer = NoticePrinter(rig.app.follower, Console(file=out, width=300)).start()
    try:
        rig.app.notices.notify(
            Notice(
                NoticeKind.IDLE_WARNING,
                time.time(),
                "No one has been in a meeting for 10 minutes. Stopping in 5 minutes.",
                data={"keep_command": "keep 30"},
            )
        )
        wait_for(lambda: "keep 30" in out.getvalue(), 5, "the notice on the terminal")
    finally:
        printer.stop()
    text = out.getvalue()
    assert "old news" not in text  # only what arrives after the chat opened
    assert "[idle_warning] No one has been in a meeting for 10 minutes." in text
    assert "Type `keep 30` to keep it running." in text
