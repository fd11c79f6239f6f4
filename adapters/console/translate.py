"""Console <-> core: actors from terminal users, and renderings of replies and views."""

from __future__ import annotations

import getpass
import json
from typing import Any

from rich.console import Group, RenderableType
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from bot.events import Event, Notice
from bot.model import Actor, ChatPlatform, UserId
from bot.render import ProgressView
from bot.reply import Reply

_MARKS = {"done": ("✓", "green"), "failed": ("✗", "red")}


def actor(user: str | None = None, channel: str | None = None) -> Actor:
    name = user or getpass.getuser()
    return Actor(UserId(f"console:{name}"), channel or "terminal", ChatPlatform.CONSOLE, name)


def reply_json(reply: Reply) -> str:
    return json.dumps(
        {
            "type": "reply",
            "kind": reply.kind.value,
            "text": reply.text,
            "job_id": reply.job_id,
            "joined": reply.joined,
            "link": reply.link,  # only the terminal's user reads it
        },
        sort_keys=True,
    )


def event_json(event: Event) -> str:
    body: dict[str, Any] = {"type": "event", **event.to_json()}
    return json.dumps(body, sort_keys=True)


def view_renderable(view: ProgressView) -> RenderableType:
    """The ONE message of a job as a rich renderable, redrawn in place."""
    table = Table.grid(padding=(0, 1))
    table.add_column(width=2)
    table.add_column()
    table.add_column(justify="right", style="dim")
    for step in view.steps.values():
        mark: RenderableType
        if step.state == "running":
            mark = Spinner("dots", style="cyan")
        else:
            symbol, colour = _MARKS[step.state]
            mark = Text(symbol, style=colour)
        label = Text(step.label)
        if step.note and step.state != "done":
            label.append(f"  {step.note}", style="dim" if step.state == "running" else "red")
        took = f"{step.seconds:.1f} s" if step.seconds is not None else ""
        table.add_row(mark, label, took)
    parts: list[RenderableType] = [Text(view.title or f"Job {view.job_id}", style="bold"), table]
    parts.extend(Text(f"• {n}", style="yellow") for n in view.notices)
    if view.error:
        parts.append(Text(f"Error: {view.error}", style="bold red"))
    if view.url:
        parts.append(Text(f"Join: {view.url}", style="bold green"))
    parts.extend(Text(line) for line in view.cost_lines)
    if view.audit:
        parts.append(Text(view.audit, style="green" if "clean" in view.audit else "bold red"))
    if view.finished:
        extra = ", ".join(
            x
            for x in (
                f"{view.seconds:.1f} s" if view.seconds is not None else "",
                f"{view.aws_calls} AWS calls" if view.aws_calls is not None else "",
            )
            if x
        )
        parts.append(
            Text(
                f"{view.summary}" + (f" ({extra})" if extra else ""),
                style="bold green" if view.ok else "bold red",
            )
        )
    return Group(*parts)


def notice_text(notice: Notice) -> str:
    """One unprompted notice as a terminal line; an idle warning carries its `keep` hint."""
    line = f"[{notice.kind.value}] {notice.text}"
    keep = notice.data.get("keep_command")
    if keep:
        line += f" Type `{keep}` to keep it running."
    return line
