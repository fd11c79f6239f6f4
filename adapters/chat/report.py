"""`cost report` outside the core: the month's chart drawn as PNG bytes (chat uploads
them) or written to files (the terminal), and what chat says when the chart cannot be
delivered: the summary, the reason, and the numbers inline, so nothing is lost."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bot.report import MonthReport


@dataclass(frozen=True, slots=True)
class ReportFiles:
    """One month's chart and numbers, ready to upload."""

    report: MonthReport
    png: bytes
    size: tuple[int, int]  # the PNG's width and height in pixels

    @property
    def csv(self) -> str:
        return self.report.csv()

    @property
    def png_name(self) -> str:
        return self.report.filename("png")

    @property
    def csv_name(self) -> str:
        return self.report.filename("csv")


Draw = Callable[[MonthReport], ReportFiles]
"""Draw a month's chart (synchronous and CPU-bound: chat calls it in a worker thread)."""

Write = Callable[[MonthReport, Path], tuple[Path, Path]]
"""Write a month's PNG and CSV into a folder; their paths."""


def draw(report: MonthReport) -> ReportFiles:
    """The chart through ``infra.cost_chart`` (matplotlib, headless)."""
    # Imported on the first chart, not at start-up: matplotlib takes about half a
    # second to import, which every `jitsi-bot` command would otherwise pay.
    from infra.cost_chart import png_size, render_png

    png = render_png(report)
    return ReportFiles(report, png, png_size(png))


def write(report: MonthReport, folder: Path) -> tuple[Path, Path]:
    """``cost-report-YYYY-MM.png`` and ``.csv`` in ``folder`` (the CLI and the terminal chat)."""
    from infra.cost_chart import write_report  # matplotlib: see ``draw``

    return write_report(report, folder)


def undelivered(report: MonthReport, problem: str, *, summary: str = "", fence: str = "") -> str:
    """``summary`` (when not posted already), the ``problem`` and the CSV itself (inside
    ``fence``, e.g. Slack's ```): posted when the chart cannot be, so the numbers
    still reach the chat."""
    csv = f"{fence}\n{report.csv()}{fence}" if fence else report.csv().rstrip("\n")
    lines = [summary] if summary else []
    lines += [problem, f"The numbers, as CSV ({report.filename('csv')}):", csv]
    return "\n".join(lines)
