"""The Matrix adapter: ``!jitsi`` commands in allowed rooms, one edited ``m.notice``
per job, power-level permissions, notices, resumable after restarts.

Exactly-once commands across reconnects and restarts: the sync token is kept in
Redis and advanced only after a sync's commands were handled, and each command
event is claimed (HSETNX) before it is handled, so a crash between the two
neither loses a command (the token was not advanced) nor runs it twice (the
claim is there). Claims are dropped once the token covers them.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from typing import Any

from nio import InviteInfo, MegolmEvent, SyncResponse

from adapters.chat.host import ChatHost
from adapters.chat.report import undelivered
from adapters.matrix import translate
from adapters.matrix.client import Backoff, MatrixClient
from adapters.matrix.errors import MatrixAuthError, MatrixError, MatrixUnavailable
from adapters.matrix.media import send_file
from bot.errors import BotError
from bot.model import ChatPlatform
from bot.render import ProgressView
from bot.reply import Reply, ReplyKind
from infra.follow import StateUnavailable

log = logging.getLogger("jitsi.matrix")

RENDERER = "matrix"
_NO_E2E = (
    "This room is end-to-end encrypted, and this bot runs without encryption support, so "
    "it cannot read commands here. Use an unencrypted room, or ask the bot's operator to "
    "install the e2e extra (pip install 'jitsi-chatops[e2e]') and keep matrix_encryption on."
)


class MatrixAdapter:
    """``run`` serves until cancelled and reconnects on its own; ``close`` logs out nothing
    (the access token stays valid) and closes the HTTP session."""

    name = "matrix"

    def __init__(self, host: ChatHost, client: MatrixClient | None = None) -> None:
        cfg = host.settings.matrix
        if cfg is None:
            raise MatrixError("The matrix section of the configuration is missing.")
        self.host = host
        self.state = host.follower
        self.cfg = cfg
        self.client = client or MatrixClient(cfg)
        self.started_ms = int(time.time() * 1000)
        self.ready = asyncio.Event()  # set after the first successful sync
        self.syncs = 0
        self._tasks: set[asyncio.Task[Any]] = set()
        self._following: dict[str, asyncio.Task[Any]] = {}

    # -- lifecycle -------------------------------------------------------------
    async def run(self) -> None:
        backoff = Backoff()
        while True:
            try:
                await self.client.login()
                break
            except MatrixUnavailable as exc:
                wait = backoff.next()
                log.warning("Matrix login: %s; retrying in %.1f s", exc, wait)
                await asyncio.sleep(wait)
        for job_id, target in (await self.state.pending_targets(RENDERER)).items():
            self._follow(job_id, target)
        self._spawn(self._post_notices())
        await self._sync_loop()

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            # Bounded: a task waiting on a worker thread (a blocking Redis read) ends
            # only when that read returns; it must not hold the shutdown up.
            await asyncio.wait(list(self._tasks), timeout=5.0)
        await self.client.close()

    def _spawn(self, coro: Any) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(lambda t: t.cancelled() or t.exception())  # retrieved: no noise
        return task

    # -- sync ------------------------------------------------------------------
    async def _sync_loop(self) -> None:
        backoff = Backoff()
        token = await self.state.sync_token(RENDERER)
        # Resuming from a saved token runs what was sent while we were away, if recent.
        not_before = self.started_ms - int(self.cfg.max_command_age_seconds * 1000)
        timeout_ms = int(self.cfg.sync_timeout_seconds * 1000)
        while True:
            try:
                resp = await self.client.sync(token, timeout_ms, first=token is None)
            except MatrixAuthError:
                raise
            except MatrixUnavailable as exc:
                wait = exc.retry_after or backoff.next()
                log.warning("Matrix sync: %s; retrying in %.1f s", exc, wait)
                await asyncio.sleep(wait)
                continue
            backoff.reset()
            # On a failure the token stays: the sync is read again, and the claims keep
            # each of its commands to one run.
            try:
                claimed = await self._handle_sync(resp, first=token is None, not_before=not_before)
                await self.state.commit_sync(RENDERER, resp.next_batch, claimed)
            except (MatrixUnavailable, StateUnavailable) as exc:
                log.warning("Matrix: %s while handling a sync; reading it again", exc)
                await asyncio.sleep(backoff.next())
                continue
            token = resp.next_batch
            self.syncs += 1
            self.ready.set()

    async def _handle_sync(self, resp: SyncResponse, *, first: bool, not_before: int) -> list[str]:
        for room_id, info in resp.rooms.invite.items():
            await self._on_invite(room_id, info)
        claimed: list[str] = []
        if first:
            return claimed
        for room_id, room in resp.rooms.join.items():
            for event in room.timeline.events:
                if isinstance(event, MegolmEvent):
                    await self._on_undecryptable(room_id, event)
                    continue
                source = getattr(event, "source", None)
                cmd = translate.command_from_event(
                    source, room_id, bot_user=self.client.user_id, prefix=self.cfg.command_prefix
                )
                if cmd is None:
                    continue
                if not await self.state.claim_event(RENDERER, cmd.event_id):
                    continue  # handled before a crash or reconnect
                claimed.append(cmd.event_id)
                ts = source.get("origin_server_ts", 0) if isinstance(source, dict) else 0
                try:
                    if ts < not_before:
                        await self._answer(
                            cmd,
                            f"Not run: `{self.cfg.command_prefix} "
                            f"{cmd.text}` was sent while the bot was offline. "
                            "Send it again if you still want it.",
                        )
                    else:
                        await self._on_command(cmd)
                except MatrixUnavailable:
                    raise  # the token is not advanced; the claim keeps it from running twice
                except MatrixError as exc:
                    log.warning("answering %s in %s: %s", cmd.event_id, room_id, exc)
        return claimed

    async def _on_invite(self, room_id: str, info: InviteInfo) -> None:
        # nio drops ``content`` from stripped state; put the membership back.
        state = [
            {**e.source, "content": {"membership": getattr(e, "membership", None)}}
            for e in info.invite_state
            if isinstance(getattr(e, "source", None), dict)
        ]
        inviter = translate.invite_from_state(state, self.client.user_id)
        if inviter and self._allowed(inviter, room_id):
            try:
                await self.client.join(room_id)
                log.info("joined %s (invited by %s)", room_id, inviter)
                if not self.client.encrypted and translate.is_encrypted(
                    await self.client.room_state(room_id)
                ):
                    await self._tell_no_e2e(room_id)
            except MatrixUnavailable:
                raise  # the sync is read again, and the invite with it
            except MatrixError as exc:  # e.g. the invite was withdrawn meanwhile
                log.warning("joining %s: %s", room_id, exc)
        else:
            log.info("rejected invite to %s from %s", room_id, inviter)
            await self.client.reject(room_id)

    def _allowed(self, user_id: str, room_id: str) -> bool:
        cfg = self.cfg
        return translate.is_allowed(
            user_id,
            room_id,
            homeservers=cfg.allowed_homeservers,
            rooms=cfg.allowed_rooms,
            users=cfg.allowed_users,
        )

    async def _on_undecryptable(self, room_id: str, event: MegolmEvent) -> None:
        if event.sender == self.client.user_id or event.server_timestamp < self.started_ms:
            return
        if self.client.encrypted:
            log.warning("could not decrypt %s in %s", event.event_id, room_id)
        else:
            await self._tell_no_e2e(room_id)

    async def _tell_no_e2e(self, room_id: str) -> None:
        """Once per room (remembered in Redis): the bot cannot read encrypted rooms.
        Marked after sending: a crash in between repeats it rather than losing it."""
        if await self.state.room_told(RENDERER, room_id):
            return
        await self.client.send(room_id, translate.notice(_NO_E2E))
        await self.state.mark_room_told(RENDERER, room_id)

    # -- commands --------------------------------------------------------------
    async def _on_command(self, cmd: translate.CommandMessage) -> None:
        actor, room_id = cmd.actor, cmd.room_id
        if self.cfg.allowed_rooms and room_id not in self.cfg.allowed_rooms:
            log.info("ignoring a command in %s (not in matrix_allowed_rooms)", room_id)
            return
        if not self._allowed(actor.user, room_id):
            await self._deny(cmd, "not in the Matrix allow list", "You may not use this bot.")
            return
        needed = translate.required_level(cmd.verb, self.cfg.power_levels)
        if needed > 0:
            level = translate.power_level(actor.user, await self.client.room_state(room_id))
            if level < needed:
                await self._deny(
                    cmd,
                    f"power level {level:g} < {needed}",
                    f"`{cmd.verb}` needs power level {needed} in this room (you have {level:g}).",
                )
                return
        try:
            reply = await self.host.handle(cmd.text or "help", actor)
        except BotError as exc:
            await self._answer(cmd, f"Could not do that: {exc.user_message()}")
            return
        if reply.link:
            await self._send_link(cmd, reply.link)
        if reply.report is not None:
            await self._answer(cmd, reply.text)
            await self._post_report(cmd, reply)
            return
        if reply.kind is not ReplyKind.JOB or reply.job_id is None:
            await self._answer(cmd, reply.text)
            return
        target = await self.state.target(RENDERER, reply.job_id)
        if target is not None:  # a second start while starting: one message per job
            where = "above" if target.get("room_id") == room_id else "in the room it was asked"
            await self._answer(cmd, f"{reply.text} Progress is in the message {where}.")
            return
        # Saved before sending, with a fixed transaction id: a restart resends it
        # and the homeserver answers with the same event instead of a second one.
        target = {"room_id": room_id, "txn": f"jitsi-{reply.job_id}-first", "text": reply.text}
        await self.state.save_target(RENDERER, reply.job_id, target)
        self._follow(reply.job_id, target)

    async def _post_report(self, cmd: translate.CommandMessage, reply: Reply) -> None:
        """After the summary, the chart as an ``m.image`` (with its size) and the CSV as
        an ``m.file``, through the media repository. When either fails, a notice with
        the reason and the CSV inline: the numbers reach the room all the same."""
        report = reply.report
        assert report is not None
        step = "draw the chart"
        try:
            files = await self.host.report_files(report)
            step = "post the chart"
            await send_file(
                self.client, cmd.room_id, files.png, files.png_name, "image/png", files.size
            )
            step = "post the CSV"
            await send_file(
                self.client, cmd.room_id, files.csv.encode(), files.csv_name, "text/csv"
            )
            return
        except MatrixError as exc:  # MatrixUnavailable too: a retry would repeat the summary
            log.warning("cost report in %s: %s", cmd.room_id, exc)
            why = f"the homeserver did not take it ({exc})"
        except Exception as exc:  # whatever matplotlib raises, the numbers still go out
            log.exception("drawing the cost report of %s", report.month)
            why = f"it failed ({type(exc).__name__})"
        await self._answer(
            cmd, undelivered(report, f"I could not {step} of {report.month}: {why}.")
        )

    async def _send_link(self, cmd: translate.CommandMessage, link: str) -> None:
        """The asker's own link, in a direct room with them: never in the room asked in."""
        try:
            room = await self.client.direct.room(cmd.actor.user)
            await self.client.send(room, translate.notice(link))
        except MatrixError as exc:
            log.warning("direct message to %s: %s", cmd.actor.user, exc.code or type(exc).__name__)
            await self._answer(
                cmd, "I could not send you a direct message with your link; `link` asks again."
            )

    async def _deny(self, cmd: translate.CommandMessage, why: str, text: str) -> None:
        await self.host.audit(cmd.actor, cmd.text, f"denied: {why}")
        await self._answer(cmd, text)

    async def _answer(self, cmd: translate.CommandMessage, text: str) -> None:
        await self.client.send(cmd.room_id, translate.notice(text, reply_to=cmd.event_id))

    # -- following a job -------------------------------------------------------
    def _follow(self, job_id: str, target: dict[str, Any]) -> None:
        if job_id not in self._following:
            task = self._spawn(self._render_job(job_id, target))
            self._following[job_id] = task
            task.add_done_callback(lambda _t: self._following.pop(job_id, None))

    async def _render_job(self, job_id: str, target: dict[str, Any]) -> None:
        room_id = str(target["room_id"])
        try:
            if not target.get("event_id"):  # a new job, or a crash before the first send
                target["event_id"] = await self.client.send(
                    room_id,
                    translate.first_reply(str(target.get("text", "")), job_id),
                    txn=str(target["txn"]),
                )
                await self.state.save_target(RENDERER, job_id, target)
            root = str(target["event_id"])

            async def update(view: ProgressView, final: bool) -> None:
                content = translate.view_message(view)
                digest = hashlib.sha256(json.dumps(content, sort_keys=True).encode()).hexdigest()
                if digest != target.get("drawn"):
                    await self.client.send(room_id, translate.edit(root, content))
                    target["drawn"] = digest
                    if not final:
                        await self.state.save_target(RENDERER, job_id, target)
                details = translate.view_details(view) if final else None
                if details:
                    thread = translate.in_thread(root, translate.notice(details))
                    await self.client.send(room_id, thread, txn=f"jitsi-{job_id}-details")

            await self.host.follow_job(
                RENDERER, job_id, update, min_interval=self.cfg.edit_interval_seconds
            )
        except TimeoutError:
            log.warning("job %s: no progress for too long; giving up its message", job_id)
            await self.state.drop_target(RENDERER, job_id)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("rendering job %s", job_id)

    # -- notices -----------------------------------------------------------------
    async def _post_notices(self) -> None:
        backoff = Backoff()
        while True:
            try:
                await self._post_notices_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # StateUnavailable, mostly: the acknowledged cursor
                wait = backoff.next()  # resumes it
                log.warning("notices: %s; retrying in %.1f s", exc, wait)
                await asyncio.sleep(wait)

    async def _post_notices_once(self) -> None:
        async for entry_id, item in self.state.notices(RENDERER):
            rooms = list(dict.fromkeys(self.cfg.notice_rooms))
            if item.platform == ChatPlatform.MATRIX.value and item.channel:
                rooms = list(dict.fromkeys([*rooms, item.channel]))
            text = translate.notice_text(item, self.cfg.command_prefix)
            for room_id in rooms:
                try:
                    await self.client.send(
                        room_id, translate.notice(text), txn=f"jitsi-notice-{entry_id}-{room_id}"
                    )
                except MatrixError as exc:
                    log.warning("notice to %s: %s", room_id, exc)
            await self.state.ack_notice(RENDERER, entry_id)
