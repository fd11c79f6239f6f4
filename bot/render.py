"""Folding a job's events into ONE message that every adapter keeps up to date."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.events import Event, EventKind


@dataclass(slots=True)
class StepView:
    name: str
    label: str
    state: str = "running"  # running | done | failed
    seconds: float | None = None
    note: str = ""


@dataclass(slots=True)
class ProgressView:
    """The current picture of one job; ``apply`` each event in stream order."""

    job_id: str = ""
    title: str = ""
    steps: dict[str, StepView] = field(default_factory=dict)
    url: str | None = None
    cost_lines: list[str] = field(default_factory=list)
    audit: str | None = None
    notices: list[str] = field(default_factory=list)
    error: str | None = None
    finished: bool = False
    ok: bool | None = None
    summary: str = ""
    aws_calls: int | None = None
    seconds: float | None = None

    def apply(self, event: Event) -> None:
        self.job_id = event.job_id
        kind, data = event.kind, event.data
        if kind is EventKind.ACCEPTED:
            self.title = event.message
        elif kind is EventKind.STEP_STARTED and event.step:
            self.steps[event.step] = StepView(event.step, str(data.get("label", event.step)))
        elif kind is EventKind.STEP_FINISHED and event.step:
            step = self.steps.setdefault(
                event.step, StepView(event.step, str(data.get("label", event.step)))
            )
            step.state = "done" if data.get("ok", True) else "failed"
            step.seconds = float(data.get("seconds", 0.0))
            step.note = "" if data.get("ok", True) else event.message
        elif kind is EventKind.WAITING and event.step in self.steps:
            self.steps[event.step].note = event.message
        elif kind is EventKind.URL_READY:
            self.url = str(data.get("url") or event.message)
        elif kind is EventKind.COST:
            self.cost_lines.append(event.message)
        elif kind is EventKind.AUDIT:
            self.audit = event.message
        elif kind is EventKind.NOTICE:
            if not data.get("picked_up"):
                self.notices.append(event.message)
        elif kind is EventKind.ERROR:
            self.error = event.message
        elif kind is EventKind.FINISHED:
            self.finished = True
            self.ok = bool(data.get("ok"))
            self.summary = event.message
            calls = data.get("aws_calls")
            self.aws_calls = int(calls) if isinstance(calls, int) else None
            secs = data.get("seconds")
            self.seconds = float(secs) if isinstance(secs, int | float) else None

    @property
    def current_step(self) -> StepView | None:
        running = [s for s in self.steps.values() if s.state == "running"]
        return running[-1] if running else None

    def text(self) -> str:
        """The message as plain text (Slack mrkdwn and Matrix bodies build on it)."""
        lines = [self.title or f"Job {self.job_id}"]
        for step in self.steps.values():
            mark = {"running": "…", "done": "✓", "failed": "✗"}[step.state]
            took = f" ({step.seconds:.1f} s)" if step.seconds is not None else ""
            note = f" — {step.note}" if step.note and step.state != "done" else ""
            lines.append(f"{mark} {step.label}{took}{note}")
        lines.extend(f"• {n}" for n in self.notices)
        if self.error:
            lines.append(f"Error: {self.error}")
        if self.url:
            lines.append(f"Join: {self.url}")
        lines.extend(self.cost_lines)
        if self.audit:
            lines.append(self.audit)
        if self.finished:
            extra = []
            if self.seconds is not None:
                extra.append(f"{self.seconds:.1f} s")
            if self.aws_calls is not None:
                extra.append(f"{self.aws_calls} AWS calls")
            lines.append(f"{self.summary}" + (f" ({', '.join(extra)})" if extra else ""))
        return "\n".join(lines)


def event_line(event: Event) -> str:
    """One line per event, for logs and ``jitsi-bot say``."""
    k = event.kind
    if k is EventKind.STEP_FINISHED:
        secs = event.data.get("seconds")
        mark = "done" if event.data.get("ok", True) else "FAILED"
        return f"[{event.step}] {mark} in {secs} s" + (
            "" if event.data.get("ok", True) else f": {event.message}"
        )
    if k is EventKind.STEP_STARTED:
        return f"[{event.step}] {event.message}"
    if k is EventKind.FINISHED:
        return (
            f"{event.message} ({event.data.get('seconds')} s, "
            f"{event.data.get('aws_calls')} AWS calls)"
        )
    if k is EventKind.ERROR:
        return f"ERROR: {event.message}"
    return event.message
