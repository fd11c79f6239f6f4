"""The audit history as plain data: one entry per chat command and per lifecycle job's
end, its stream fields, its JSON export and its chat rendering. No I/O."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot import schedule
from bot.cost import money
from bot.fmt import safe_text

# What `history` lists when no number is given, and the most it lists: a chat message
# stays readable, and a typo (`history 99999`) cannot make the bot read the whole stream.
HISTORY_DEFAULT = 10
HISTORY_MAX = 50
# Command text is kept as typed, cut to this many characters (a paste cannot fill Redis).
COMMAND_TEXT_MAX = 200


class EntryKind(StrEnum):
    COMMAND = "command"  # someone typed a command (any adapter, any outcome)
    JOB = "job"  # a start or stop job ended (the worker)


@dataclass(frozen=True, slots=True)
class AuditEntry:
    """One line of the audit log. ``what`` is the command text, or the job's kind."""

    kind: EntryKind
    at: float  # wall-clock seconds since the epoch
    user: str
    platform: str
    channel: str
    what: str
    outcome: str
    seconds: float | None = None  # how long the command's handling or the job took
    job_id: str | None = None
    ok: bool | None = None  # jobs: did it end as asked
    cost: float | None = None  # jobs that closed a session: what the session cost
    aws_calls: int | None = None  # jobs: AWS API calls made
    entry_id: str = ""  # the stream entry id (``<ms>-<seq>``), set when read back

    def fields(self) -> dict[str, str]:
        """The stream entry's fields (absent values are left out)."""
        raw: dict[str, str] = {
            "kind": self.kind.value,
            "at": repr(self.at),
            "user": self.user,
            "platform": self.platform,
            "channel": self.channel,
            # "command" (not "what"): the field's name since the first audited command.
            "command": self.what[:COMMAND_TEXT_MAX],
            "outcome": self.outcome,
        }
        if self.seconds is not None:
            raw["seconds"] = repr(round(self.seconds, 3))
        if self.job_id is not None:
            raw["job_id"] = self.job_id
        if self.ok is not None:
            raw["ok"] = "1" if self.ok else "0"
        if self.cost is not None:
            raw["cost"] = repr(self.cost)
        if self.aws_calls is not None:
            raw["aws_calls"] = str(self.aws_calls)
        return raw

    @classmethod
    def from_fields(cls, entry_id: str, raw: dict[str, str]) -> AuditEntry:
        """Read an entry back; tolerant of entries written before jobs were audited (no
        ``kind``, no ``seconds``) and of a damaged number."""
        return cls(
            kind=EntryKind.JOB if raw.get("kind") == EntryKind.JOB.value else EntryKind.COMMAND,
            at=_float(raw.get("at")) or _id_seconds(entry_id),
            user=raw.get("user", ""),
            platform=raw.get("platform", ""),
            channel=raw.get("channel", ""),
            what=raw.get("command", ""),
            outcome=raw.get("outcome", ""),
            seconds=_float(raw.get("seconds")),
            job_id=raw.get("job_id") or None,
            ok={"1": True, "0": False}.get(raw.get("ok", "")),
            cost=_float(raw.get("cost")),
            aws_calls=_int(raw.get("aws_calls")),
            entry_id=entry_id,
        )

    def as_json(self) -> dict[str, object]:
        """The export's object: every field, absent values as null."""
        return {
            "id": self.entry_id,
            "kind": self.kind.value,
            "at": self.at,
            "user": self.user,
            "platform": self.platform,
            "channel": self.channel,
            "what": self.what,
            "outcome": self.outcome,
            "seconds": self.seconds,
            "job_id": self.job_id,
            "ok": self.ok,
            "cost": self.cost,
            "aws_calls": self.aws_calls,
        }


def history_text(entries: list[AuditEntry], now: float, zone: str) -> str:
    """The `history` reply: newest first, one line each (who, where, what, outcome,
    duration, cost). User-typed text is shown escaped and cut (it may be anything)."""
    if not entries:
        return "The audit history is empty."
    lines = [f"Last {len(entries)} audit entries, newest first:"]
    for e in entries:
        when = schedule.when(e.at, now, zone)
        who = _shown(e.user, 64) or "?"
        where = _shown(f"{e.platform} {e.channel}".strip(), 64)
        took = f", {_took(e.seconds)}" if e.seconds is not None else ""
        if e.kind is EntryKind.JOB:
            calls = f", {e.aws_calls} AWS calls" if e.aws_calls is not None else ""
            cost = f", session cost {money(e.cost)}" if e.cost is not None else ""
            job = f" {_shown(e.job_id, 16)}" if e.job_id else ""
            lines.append(
                f"  {when}: {_shown(e.what, 16)} job{job} for {who} ({where}) "
                f"ended {_shown(e.outcome, 32)}{took}{calls}{cost}"
            )
        else:
            lines.append(
                f"  {when}: {who} ({where}) `{_shown(e.what, 60)}` -> {_shown(e.outcome, 48)}{took}"
            )
    return "\n".join(lines)


def _shown(text: str, limit: int) -> str:
    """Someone's text inside our message: escaped (``safe_text``), and without what chat
    markup would act on (a backtick ends the code span; Slack reads ``<!channel>`` as a
    mention). The export keeps the text exactly as recorded."""
    return safe_text(text, limit).translate(_MARKUP)


_MARKUP = str.maketrans({"`": "'", "<": "\u2039", ">": "\u203a"})  # single angle quotes


def _took(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1000:.0f} ms"
    if seconds < 120:
        return f"{seconds:.1f} s"
    return f"{seconds / 60:.1f} min"


def _float(value: str | None) -> float | None:
    try:
        return float(value) if value else None
    except ValueError:
        return None


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value else None
    except ValueError:
        return None


def _id_seconds(entry_id: str) -> float:
    """A stream id's milliseconds as seconds (the entry's time when ``at`` is missing)."""
    try:
        return int(entry_id.split("-", 1)[0]) / 1000.0
    except ValueError:
        return 0.0
