"""`cost report` in Matrix: the chart as an ``m.image`` (and the CSV as an ``m.file``)
through the media repository of the real Synapse; the user downloads the same bytes."""

from __future__ import annotations

import asyncio
import struct
import urllib.request
from pathlib import Path

from adapters.matrix.client import MatrixClient
from bot.report import month_report
from infra.cost_chart import render_png
from tests.matrix.conftest import join_room, matrix_settings
from tests.matrix.synapse import Synapse
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
            await client.send_file(room, png, "cost-report-2026-11.png", "image/png", size)
            await client.send_file(
                room, report.csv().encode(), "cost-report-2026-11.csv", "text/csv"
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
