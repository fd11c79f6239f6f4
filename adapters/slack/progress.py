"""A job's one message in Slack: posted where the command was given, redrawn from the
job's events (``chat.update``), its details posted in the thread at the end. The
message is a saved target, so a restarted adapter resumes editing it."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping
from typing import Any

from slack_sdk.errors import SlackApiError

from adapters.chat.host import ChatHost
from adapters.slack import translate
from adapters.slack.client import RENDERER, SlackWeb, error_of
from adapters.slack.occupancy import Occupancy, Spawn
from adapters.slack.translate import SlackRequest
from bot.render import ProgressView
from bot.reply import Reply
from infra.follow import StateUnavailable

log = logging.getLogger("jitsi.slack")


class JobMessages:
    """Posts and follows the progress messages of the jobs asked for in Slack."""

    def __init__(
        self,
        host: ChatHost,
        web: SlackWeb,
        occupancy: Occupancy,
        spawn: Spawn,
        *,
        min_interval: float,
        command: str,
    ) -> None:
        self.host = host
        self.web = web
        self.occupancy = occupancy
        self._spawn = spawn
        self.min_interval = min_interval
        self.command = command  # `/jitsi`, as the messages name it
        self.following: dict[str, str] = {}  # message ts -> job id

    async def post(self, req: SlackRequest, reply: Reply, kind: str) -> None:
        """Post the job's message in the requester's channel and follow the job; where
        the bot cannot post, tell the requester alone how to invite it."""
        assert reply.job_id is not None
        view = ProgressView(job_id=reply.job_id, title=reply.text)
        try:
            posted = await self.web.client.chat_postMessage(
                channel=req.channel,
                text=translate.fallback_text(view),
                blocks=translate.progress_blocks(view, kind),
            )
            self.web.api_calls += 1
        except SlackApiError as exc:
            log.warning("cannot post progress in %s: %s", req.channel, error_of(exc))
            await self.web.ephemeral(
                req.channel,
                req.user_id,
                f"I cannot post in this channel ({error_of(exc)}); invite me with "
                f"`/invite @{self.host.settings.command_name}`. The job runs anyway: "
                f"`{self.command} status` shows it.",
            )
            return
        target = {"channel": str(posted["channel"]), "ts": str(posted["ts"]), "kind": kind}
        await self.host.follower.save_target(RENDERER, reply.job_id, target)
        self.follow(reply.job_id, target)

    def follow(self, job_id: str, target: Mapping[str, Any]) -> None:
        """Redraw ``target`` (a saved message) from the job's events until it ends."""
        channel, ts = str(target.get("channel", "")), str(target.get("ts", ""))
        kind = str(target.get("kind", "start"))
        if not channel or not ts:
            return
        # A job that ended before a restart, whose running meeting was being watched:
        # replay it to redraw the message with the current reading, nothing else.
        resumed_watch = target.get("watching") is not None
        self.following[ts] = job_id

        async def update(view: ProgressView, final: bool) -> None:
            session: float | None = None
            participants: int | None = None
            if final and kind == "start" and view.ok and view.url:
                # Redis unavailable: unknown, and the Stop confirmation stays red.
                with contextlib.suppress(StateUnavailable):
                    session, participants = await self.occupancy.read()
            await edit(self.web, channel, ts, view, kind, participants)
            if final and not resumed_watch:
                await self.web.call(
                    "chat_postMessage",
                    channel=channel,
                    thread_ts=ts,
                    text=translate.details_text(view),
                )
            if session is not None:
                self.occupancy.watch(job_id, channel, ts, view, session, participants)

        async def follow() -> None:
            try:
                await self.host.follow_job(RENDERER, job_id, update, min_interval=self.min_interval)
                # The host dropped the target: keep it while the message is watched.
                if ts in self.occupancy.watching:
                    saved = {"channel": channel, "ts": ts, "kind": kind, "watching": True}
                    await self.host.follower.save_target(RENDERER, job_id, saved)
            except StateUnavailable as exc:  # the target stays saved: a restart resumes it
                log.warning("lost the event stream of job %s: %s", job_id, exc)
            except TimeoutError:
                if resumed_watch:  # the job's events expired: leave the message as it is
                    await self.host.follower.drop_target(RENDERER, job_id)
                    return
                view = ProgressView(job_id=job_id, title=f"Job {job_id}")
                view.error = f"No progress for a long time; `{self.command} status` shows more."
                await edit(self.web, channel, ts, view, kind)
            finally:
                self.following.pop(ts, None)

        self._spawn(follow())


async def edit(
    web: SlackWeb,
    channel: str,
    ts: str,
    view: ProgressView,
    kind: str,
    participants: int | None = None,
) -> None:
    """Redraw a job's message (``kind`` start or stop) as ``view``."""
    await web.call(
        "chat_update",
        channel=channel,
        ts=ts,
        text=translate.fallback_text(view),
        blocks=translate.progress_blocks(view, kind, participants),
    )
