"""The terminal chat: send commands as a chat user would and watch ONE live message."""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Callable, Coroutine, Iterable
from pathlib import Path
from typing import Any, TypeVar

from rich.console import Console
from rich.live import Live
from rich.text import Text

from adapters.chat.host import Commands
from adapters.chat.report import Write, undelivered, write
from adapters.console import translate
from adapters.console.notices import NoticePrinter
from adapters.console.term import terminal
from bot.config import Settings
from bot.events import Event, EventKind
from bot.fmt import safe_text
from bot.model import Actor
from bot.render import ProgressView, event_line
from bot.reply import Reply, ReplyKind
from bot.report import MonthReport
from infra.follow import BEGINNING, WORKER_STOPPED, Follower, WorkerWatch
from infra.outage import StateUnavailable, converted

T = TypeVar("T")

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


class NoWorker(Exception):
    """Nobody picked the job up within the pickup window."""


class WorkerStopped(Exception):
    """The job's worker stopped renewing its lease (``infra.follow.WorkerWatch``)."""


class ConsoleChat:
    """One terminal user's chat. ``renderer`` names the cursor that lets a restarted
    chat finish showing its jobs; None: nothing is remembered (``jitsi-bot say``)."""

    def __init__(
        self,
        commands: Commands,
        follower: Follower,
        settings: Settings,
        actor: Actor,
        console: Console | None = None,
        renderer: str | None = None,
        write_report: Write = write,
    ) -> None:
        self.write_report = write_report
        self.commands = commands
        self.follower = follower
        self.settings = settings
        self.actor = actor
        # Piped output is read by programs and tests: never wrap it.
        self.console = console or terminal(soft_wrap=not sys.stdout.isatty())
        self.renderer = renderer

    # -- one command ---------------------------------------------------------
    def say(self, text: str, *, as_json: bool = False, live: bool = False) -> int:
        with converted():  # Redis gone: "the queue is unreachable", not a traceback
            reply = self.commands.handle(text, self.actor)
        if as_json:
            print(translate.reply_json(reply), flush=True)
        elif reply.kind is not ReplyKind.JOB or reply.joined:
            self.console.print(reply.text, markup=False, highlight=False)
        if reply.link and not as_json:  # the terminal is the asker's own: the link goes here
            self.console.print(reply.link, markup=False, highlight=False, soft_wrap=True)
        if reply.report is not None:  # `cost report`: the files go where the user is
            return save_report(self.console, reply.report, Path.cwd(), self.write_report, as_json)
        if reply.kind is not ReplyKind.JOB or reply.job_id is None:
            return reply.exit_code
        return self.follow(reply, as_json=as_json, live=live)

    def follow(self, reply: Reply, *, as_json: bool = False, live: bool = False) -> int:
        assert reply.job_id is not None
        view = ProgressView()
        try:
            if live:
                with Live(
                    translate.view_renderable(view),
                    console=self.console,
                    refresh_per_second=8,
                    transient=False,
                ) as screen:
                    self._run(
                        self._follow(
                            reply.job_id,
                            view,
                            lambda e: screen.update(translate.view_renderable(view)),
                        )
                    )
            else:

                def show(event: Event) -> None:
                    if as_json:
                        print(translate.event_json(event), flush=True)
                    else:
                        self.console.print(event_line(event), markup=False, highlight=False)

                self._run(self._follow(reply.job_id, view, show))
        except NoWorker as exc:
            self._problem(str(exc), as_json)
            return EXIT_FAILED
        except WorkerStopped:
            self._problem(WORKER_STOPPED, as_json)
            return EXIT_FAILED
        except StateUnavailable as exc:
            self._problem(
                f"Lost the queue while following job {reply.job_id}: {exc} The job "
                "itself goes on; `jitsi-bot status` shows the platform when Redis is back.",
                as_json,
            )
            return EXIT_FAILED
        except TimeoutError:
            self._problem(
                f"No progress for a long time on job {reply.job_id}; is the worker "
                "alive? `jitsi-bot status` shows the platform.",
                as_json,
            )
            return EXIT_FAILED
        return EXIT_OK if view.ok else EXIT_FAILED

    def _problem(self, text: str, as_json: bool) -> None:
        if as_json:
            print(json.dumps({"type": "problem", "text": text}), flush=True)
        else:
            self.console.print(text, markup=False, style="bold red", highlight=False)

    async def _follow(
        self, job_id: str, view: ProgressView, on_event: Callable[[Event], None]
    ) -> None:
        follower, renderer, settings = self.follower, self.renderer, self.settings
        picked_up = False
        deadline = time.monotonic() + settings.worker_pickup_seconds
        after = await follower.job_cursor(renderer, job_id) if renderer else BEGINNING
        idle_limit = settings.start_timeout_seconds + settings.stop_timeout_seconds
        last_seen = time.monotonic()
        # Replayed events say a worker picked the job up long ago; only the lease
        # says whether one still runs it.
        watch = WorkerWatch(follower, job_id, settings.worker_lost_seconds)
        while True:
            batch = await follower.job_events(job_id, after, block_ms=250)
            after = batch.last
            now = time.monotonic()
            if not batch.items:
                if not picked_up and now > deadline:
                    raise NoWorker(
                        f"No worker picked up job {job_id} within "
                        f"{settings.worker_pickup_seconds:g} s. Start one with `jitsi-bot worker` "
                        "(same JITSI_REDIS_URL); the job stays queued and runs when a "
                        "worker starts."
                    )
                if picked_up and await watch.stopped():
                    raise WorkerStopped(job_id)
                if now - last_seen > idle_limit:
                    raise TimeoutError(job_id)
                continue
            last_seen = now
            for entry_id, event in batch.items:
                picked_up = picked_up or event.kind is not EventKind.ACCEPTED
                view.apply(event)
                on_event(event)
                # Only what reached the screen counts as rendered: flush, then
                # move the cursor, so a killed bot neither loses nor repeats.
                self.console.file.flush()
                sys.stdout.flush()
                if renderer:
                    await follower.ack_job(renderer, job_id, entry_id)
                if event.terminal:
                    if renderer:
                        await follower.forget_job(renderer, job_id)
                    return

    def _run(self, work: Coroutine[Any, Any, T]) -> T:
        """Run ``work`` on a loop of its own: the terminal is synchronous, the follower
        async; its connections are released with the loop."""

        async def run() -> T:
            try:
                return await work
            finally:
                await self.follower.aclose()

        return asyncio.run(run())

    # -- interactive ------------------------------------------------------------
    def repl(self, lines: Iterable[str] | None = None) -> int:
        """Read commands until EOF or ``quit``; ``lines`` replaces stdin (scripts, tests)."""
        self.resume()
        interactive = lines is None and sys.stdin.isatty()
        source = lines if lines is not None else _stdin_lines(interactive, self.console)
        if interactive:
            self.console.print("Type help for commands, quit to leave.", markup=False)
        # Notices (idle warnings, repairs) interleave with the prompt: only when a
        # person is typing, never in scripted output that programs read.
        printer = NoticePrinter(self.follower, self.console).start() if interactive else None
        try:
            return self._loop(source, interactive)
        finally:
            if printer is not None:
                printer.stop()

    def _loop(self, source: Iterable[str], interactive: bool) -> int:
        status = EXIT_OK
        for raw in source:
            text = raw.strip()
            if not text:
                continue
            if text.lower() in ("quit", "exit", "q"):
                break
            if not interactive:
                self.console.print(
                    f"> {safe_text(text)}", style="bold", markup=False, highlight=False
                )
            try:
                status = self.say(text, live=self.console.is_terminal)
            except StateUnavailable as exc:  # Redis away: this command fails, the chat goes on
                self._problem(exc.user_message(), as_json=False)
                status = EXIT_FAILED
        return status

    def resume(self) -> None:
        """Finish rendering jobs a previous run of this renderer left half-shown."""
        if self.renderer is None:
            return
        for job_id in self._run(self.follower.pending_jobs(self.renderer)):
            self.console.print(f"Resuming job {job_id}…", style="dim", markup=False)
            self.follow(Reply(ReplyKind.JOB, "", job_id=job_id), live=self.console.is_terminal)


def save_report(
    console: Console, report: MonthReport, folder: Path, write: Write = write, as_json: bool = False
) -> int:
    """Write the month's PNG and CSV into ``folder`` and print their paths (the terminal
    chat and `jitsi-bot cost report`); when that fails, say why and print the CSV."""
    try:
        png, csv = write(report, folder.resolve())
    except Exception as exc:  # a read-only folder, a full disk, matplotlib: said, not raised
        why = exc.strerror if isinstance(exc, OSError) and exc.strerror else type(exc).__name__
        problem = f"I could not write the chart of {report.month} in {folder}: {why}."
        if as_json:
            print(json.dumps({"type": "problem", "text": problem, "csv": report.csv()}), flush=True)
        else:
            console.print(undelivered(report, problem), markup=False, highlight=False)
        return EXIT_FAILED
    if as_json:
        made = {"type": "report", "month": report.month, "png": str(png), "csv": str(csv)}
        print(json.dumps(made, sort_keys=True), flush=True)
    else:
        console.print(f"Wrote {png} and {csv}.", markup=False, highlight=False, soft_wrap=True)
    return EXIT_OK


def _stdin_lines(interactive: bool, console: Console) -> Iterable[str]:
    while True:
        try:
            line = (
                console.input(Text("jitsi> ", style="bold cyan"))
                if interactive
                else sys.stdin.readline()
            )
        except (EOFError, KeyboardInterrupt):
            return
        if not interactive and line == "":
            return
        yield line
