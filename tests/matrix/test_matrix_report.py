"""`cost report` in Matrix: the chart as an ``m.image`` (and the CSV as an ``m.file``)
through the media repository of the real Synapse; the user downloads the same bytes.
Then the whole command through the adapter: `!jitsi cost report` answered with the
summary, the image and the file, and, when the homeserver refuses the upload, with
the summary, the reason and the CSV inline."""

from __future__ import annotations

import asyncio
import struct
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from adapters.matrix.client import MatrixClient
from adapters.matrix.media import send_file
from adapters.wiring import App
from bot.config import Settings
from bot.report import month_report
from infra.cost_chart import render_png
from tests.matrix.conftest import (
    BotRunner,
    bot_messages,
    bot_settings,
    join_room,
    matrix_settings,
)
from tests.matrix.synapse import Synapse, User
from tests.support.services import wait_for
from tests.unit.test_cost_report import SESSIONS


def _download(hs: Synapse, token: str, mxc: str) -> bytes:
    server, media = mxc.removeprefix("mxc://").split("/", 1)
    req = urllib.request.Request(
        f"{hs.url}/_matrix/client/v1/media/download/{server}/{media}",
        headers={"Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(req, timeout=10) as resp:
        return bytes(resp.read())


def test_chart_posts_as_an_image_through_the_media_repository(
    synapse: Synapse, tmp_path: Path
) -> None:
    bot, owner = synapse.register(), synapse.register()
    room = join_room(owner, bot)
    report = month_report("2026-11", SESSIONS, 0.60, 2.0)
    png = render_png(report)
    size = struct.unpack(">II", png[16:24])

    async def run() -> None:
        client = MatrixClient(matrix_settings(synapse, bot, tmp_path))
        try:
            await client.login()
            # One full sync first, as the adapter does: nio must see the room's
            # members to know whether (and for whom) to encrypt.
            await client.sync(None, 1000, True)
            client.state_loaded.set()
            await send_file(client, room, png, "cost-report-2026-11.png", "image/png", size)
            await send_file(
                client, room, report.csv().encode(), "cost-report-2026-11.csv", "text/csv"
            )
        finally:
            await client.close()

    asyncio.run(run())
    events = [e for e in owner.messages(room) if e.get("sender") == bot.user_id]
    image = next(e["content"] for e in events if e["content"].get("msgtype") == "m.image")
    assert image["info"] == {"mimetype": "image/png", "size": len(png), "w": 1000, "h": 500}
    assert _download(synapse, owner.token, image["url"]) == png
    table = next(e["content"] for e in events if e["content"].get("msgtype") == "m.file")
    assert _download(synapse, owner.token, table["url"]).decode() == report.csv()


def _running_bot(
    synapse: Synapse, runners: list[BotRunner], tmp_path: Path, redis_url: str, project: str
) -> tuple[User, User, str, str]:
    """A bot serving a fresh room of alice's, with one 1-hour session of this month in
    its ledger; (bot, alice, room, this month)."""
    bot, alice = synapse.register(), synapse.register()
    room = join_room(alice, bot)
    settings = Settings(project_name=project, redis_url=redis_url, budget={"monthly": 20.0})
    seeding = App(settings)
    now = time.time()
    seeding.ledger.record_session(now - 3600, now, 0.235)  # ended now: this UTC month
    seeding.redis.close()
    runner = BotRunner(bot_settings(settings, matrix_settings(synapse, bot, tmp_path)))
    runners.append(runner)
    runner.start()
    return bot, alice, room, datetime.fromtimestamp(now, UTC).strftime("%Y-%m")


def _after(events: list[dict[str, Any]], command: str) -> list[dict[str, Any]]:
    """The bot's events from its reply to ``command`` on."""
    for index, event in enumerate(events):
        reply_to = (event["content"].get("m.relates_to") or {}).get("m.in_reply_to") or {}
        if reply_to.get("event_id") == command:
            return events[index:]
    return []


def test_cost_report_command_posts_summary_image_and_file(
    synapse: Synapse, runners: list[BotRunner], tmp_path: Path, redis_url: str, project: str
) -> None:
    bot, alice, room, month = _running_bot(synapse, runners, tmp_path, redis_url, project)
    asked = alice.say(room, "!jitsi cost report")
    events = wait_for(
        lambda: (lambda e: e if len(e) >= 3 else None)(
            _after(bot_messages(alice, room, bot.user_id), asked)
        ),
        30,
        "the summary, the chart and the CSV",
    )
    summary, image, table = (e["content"] for e in events[:3])
    assert summary["msgtype"] == "m.notice"
    assert summary["body"].startswith(f"Cost report for {month}, to the ")
    assert "1.0 h of meetings in 1 session." in summary["body"]
    assert "Budget: $20.00 a month" in summary["body"]
    assert image["msgtype"] == "m.image" and image["body"] == f"cost-report-{month}.png"
    png = _download(synapse, alice.token, image["url"])
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and 10_000 < len(png) < 500_000
    assert image["info"] == {"mimetype": "image/png", "size": len(png), "w": 1000, "h": 500}
    assert struct.unpack(">II", png[16:24]) == (1000, 500)
    assert table["msgtype"] == "m.file" and table["info"]["mimetype"] == "text/csv"
    csv = _download(synapse, alice.token, table["url"]).decode()
    today = datetime.now(UTC).date()
    lines = csv.splitlines()
    assert lines[0] == "day,meeting_hours,cost_usd,cumulative_usd,budget_usd"
    assert len(lines) == today.day + 1
    assert lines[-1].startswith(f"{today.isoformat()},1.000,") and lines[-1].endswith(",20.00")


def test_a_refused_upload_still_brings_the_summary_and_the_numbers(
    synapse: Synapse, runners: list[BotRunner], tmp_path: Path, redis_url: str, project: str
) -> None:
    bot, alice, room, month = _running_bot(synapse, runners, tmp_path, redis_url, project)
    # Use up the bot's day of uploads (media_upload_limits in tests/matrix/synapse.py):
    # Synapse itself then refuses the chart.
    junk = urllib.request.Request(
        f"{synapse.url}/_matrix/media/v3/upload?filename=junk.bin",
        data=b"\0" * (2 * 1024 * 1024),
        headers={
            "Authorization": f"Bearer {bot.token}",
            "Content-Type": "application/octet-stream",
        },
        method="POST",
    )
    with urllib.request.urlopen(junk, timeout=30) as resp:
        assert resp.status == 200
    asked = alice.say(room, "!jitsi cost report")
    events = wait_for(
        lambda: (lambda e: e if len(e) >= 2 else None)(
            _after(bot_messages(alice, room, bot.user_id), asked)
        ),
        30,
        "the summary and the failure",
    )
    summary, failure = (e["content"]["body"] for e in events[:2])
    assert summary.startswith(f"Cost report for {month}")
    assert failure.startswith(f"I could not post the chart of {month}: the homeserver did not take")
    assert "M_USER_LIMIT_EXCEEDED" in failure and "Traceback" not in failure
    assert f"The numbers, as CSV (cost-report-{month}.csv):\nday,meeting_hours," in failure
    assert ",1.000," in failure
    assert not any(e["content"].get("msgtype") in ("m.image", "m.file") for e in events)
