"""`cost report` in Slack: the chart and its CSV through files upload v2
(files.getUploadURLExternal, the upload, files.completeUploadExternal; the old
files.upload is retired), and what the asker gets when that fails."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from adapters.chat.host import ChatHost
from adapters.chat.report import ReportFiles, undelivered
from adapters.slack.client import Say, error_of
from adapters.slack.translate import SlackRequest
from bot.reply import Reply

log = logging.getLogger("jitsi.slack")


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


async def upload(
    web: AsyncWebClient,
    channel: str,
    files: ReportFiles,
    comment: str,
    thread_ts: str | None,
    invite: str,
) -> str | None:
    """``post_report`` with Slack's errors converted: None once posted, else why not,
    in words the asker can act on (``invite`` names the bot for ``/invite``)."""
    month = files.report.month
    try:
        await post_report(web, channel, month, files.png, files.csv, comment, thread_ts)
    except SlackApiError as exc:
        code = error_of(exc)
        if code in ("not_in_channel", "channel_not_found"):
            return f"Slack answered `{code}`; invite me with `/invite @{invite}` and ask again."
        if code == "missing_scope":  # an app installed before `cost report` existed
            return f"Slack answered `{code}`; the app needs the files:write scope (docs/slack.md)."
        return f"Slack answered `{code}`."
    except (TimeoutError, SlackClientError, OSError) as exc:
        return f"Slack did not take the upload ({type(exc).__name__}); ask again later."
    return None


async def deliver(
    host: ChatHost, web: AsyncWebClient, req: SlackRequest, reply: Reply, later: Say
) -> None:
    """The chart and CSV in one message, the summary as its comment, where it was
    asked (in the thread of the message whose button asked). When that fails, the
    summary, the reason and the CSV go through ``later`` (response_url: it works
    even where the bot is not a member)."""
    report = reply.report
    assert report is not None
    why: str | None
    try:
        files = await host.report_files(report)
    except Exception as exc:  # whatever matplotlib raises, the numbers still go out
        log.exception("drawing the cost report of %s", report.month)
        why = f"drawing it failed ({type(exc).__name__})."
    else:
        name = host.settings.command_name
        why = await upload(web, req.channel, files, reply.text, req.message_ts, name)
        if why is None:
            return
        log.warning("cost report upload to %s: %s", req.channel, why)
    problem = f"I could not post the chart of {report.month}: {why}"
    await later(undelivered(report, problem, summary=reply.text, fence="```"), True)
