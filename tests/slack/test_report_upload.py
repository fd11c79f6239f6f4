"""`cost report`'s chart and CSV reach Slack through files upload v2 (slack_sdk's
files_upload_v2 against the local Slack server: URL, upload, completion)."""

from __future__ import annotations

import asyncio

from slack_sdk.web.async_client import AsyncWebClient

from adapters.slack.report import post_report
from bot.report import month_report
from infra.cost_chart import render_png
from tests.slack.fake_slack import BOT_TOKEN, CHANNEL, FakeSlack
from tests.unit.test_cost_report import SESSIONS


def test_chart_and_csv_upload_through_files_v2() -> None:
    report = month_report("2026-11", SESSIONS, 0.60, 2.0)
    png = render_png(report)

    async def run() -> tuple[FakeSlack, list[str]]:
        fake = await FakeSlack().start()
        try:
            web = AsyncWebClient(token=BOT_TOKEN, base_url=fake.api_url)
            ids = await post_report(web, CHANNEL, "2026-11", png, report.csv(), "Costs of 2026-11")
            return fake, ids
        finally:
            await fake.close()

    fake, ids = asyncio.run(run())
    assert len(ids) == 2
    sent = {f["filename"]: f for f in fake.files.values()}
    chart = sent["cost-report-2026-11.png"]
    assert chart["complete"] and chart["data"] == png and chart["channel_id"] == CHANNEL
    assert chart["data"][:8] == b"\x89PNG\r\n\x1a\n"
    assert sent["cost-report-2026-11.csv"]["data"].decode() == report.csv()
    assert chart["initial_comment"] == "Costs of 2026-11"
    assert [c.method for c in fake.calls].count("files.getUploadURLExternal") == 2
