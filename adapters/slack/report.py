"""`cost report` in Slack: the chart and its CSV through files upload v2
(files.getUploadURLExternal, the upload, files.completeUploadExternal; the old
files.upload is retired)."""

from __future__ import annotations

from typing import Any

from slack_sdk.web.async_client import AsyncWebClient


async def post_report(
    web: AsyncWebClient,
    channel: str,
    month: str,
    png: bytes,
    csv: str,
    comment: str,
    thread_ts: str | None = None,
) -> list[str]:
    """Upload the PNG and the CSV to ``channel`` in one message; the new files' ids."""
    kwargs: dict[str, Any] = {"thread_ts": thread_ts} if thread_ts else {}
    resp = await web.files_upload_v2(
        channel=channel,
        initial_comment=comment,
        file_uploads=[
            {
                "file": png,
                "filename": f"cost-report-{month}.png",
                "title": f"Costs {month}",
            },
            {
                "content": csv,
                "filename": f"cost-report-{month}.csv",
                "title": f"Costs {month} (CSV)",
            },
        ],
        **kwargs,
    )
    return [str(f["id"]) for f in resp.get("files") or []]
