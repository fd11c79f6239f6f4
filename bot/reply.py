"""What the core answers a chat command with: plain data that each adapter renders."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.model import JobId, JobKind
from bot.report import MonthReport


class ReplyKind(StrEnum):
    INFO = "info"  # answered at once, nothing queued
    JOB = "job"  # a job is queued or joined: follow its events
    USAGE = "usage"  # the command was malformed
    DENIED = "denied"  # the actor may not run it


@dataclass(frozen=True, slots=True)
class Reply:
    kind: ReplyKind
    text: str
    job_id: JobId | None = None
    joined: bool = False
    private: bool = False  # only the requester needs to see it (Slack ephemeral)
    job_kind: JobKind | None = None  # what the job does (set with ``job_id``)
    # The asker's own meeting link and what to say with it: for their eyes only (Slack
    # ephemeral, Matrix direct message, the terminal). Never audited, logged or emitted.
    link: str | None = None
    # `cost report`: the month's numbers. Each adapter draws the chart and delivers it
    # with ``text``, the summary, which is posted alone when the chart cannot be.
    report: MonthReport | None = None

    def __repr__(self) -> str:  # a logged Reply must not carry the link
        shown = "<link>" if self.link else None
        return f"Reply(kind={self.kind}, text={self.text!r}, job_id={self.job_id}, link={shown})"

    @property
    def exit_code(self) -> int:
        return 2 if self.kind in (ReplyKind.USAGE, ReplyKind.DENIED) else 0
