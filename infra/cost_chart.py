"""`cost report`'s chart: daily meeting hours (bars) and the cumulative cost against
the budget line, as a PNG drawn headless (matplotlib's Agg backend, no display)."""

from __future__ import annotations

import io
import struct
from pathlib import Path

# A Figure with its own Agg canvas, never pyplot: pyplot's global figure registry is
# not thread-safe, and the chat process draws in worker threads (a Slack and a Matrix
# report at once); nothing here needs a display either.
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from bot.report import MonthReport

WIDTH_IN, HEIGHT_IN, DPI = 10.0, 5.0, 100  # 1000 x 500 pixels: readable in chat


def png_size(png: bytes) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk (Matrix's m.image wants both)."""
    if png[:8] != b"\x89PNG\r\n\x1a\n" or png[12:16] != b"IHDR":
        raise ValueError("not a PNG")
    width, height = struct.unpack(">II", png[16:24])
    return int(width), int(height)


def render_png(report: MonthReport) -> bytes:
    """The chart as PNG bytes, 1000 x 500 pixels; safe to call from several threads."""
    fig = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI)
    FigureCanvasAgg(fig)
    hours_ax = fig.add_subplot()
    days = [r.day.day for r in report.rows]
    hours_ax.bar(days, [r.hours for r in report.rows], color="#8fb8de", label="meeting hours")
    hours_ax.set_xlabel(f"day of {report.month} (UTC)")
    hours_ax.set_ylabel("meeting hours")
    hours_ax.set_xlim(0.5, max(days, default=1) + 0.5)
    # From zero, and at least an hour tall: a month without meetings gets an empty
    # axis from 0 to 1 h, not matplotlib's -0.05 to 0.05 around nothing.
    hours_ax.set_ylim(0, max([r.hours for r in report.rows] + [1.0]) * 1.15)
    cost_ax = hours_ax.twinx()
    cost_ax.plot(
        days,
        [r.cumulative for r in report.rows],
        color="#c0392b",
        marker="o",
        markersize=3,
        label="cumulative cost",
    )
    if report.budget is not None:
        cost_ax.axhline(report.budget, color="#555555", linestyle="--", label="budget")
    cost_ax.set_ylabel("US dollars")
    # Room above the budget line, so it never sits on the frame.
    top = max([r.cumulative for r in report.rows] + [report.budget or 0.0, 0.01])
    cost_ax.set_ylim(0, top * 1.15)
    handles = hours_ax.get_legend_handles_labels()
    more = cost_ax.get_legend_handles_labels()
    cost_ax.legend(handles[0] + more[0], handles[1] + more[1], loc="upper left")
    meetings = f"{report.hours:.1f} h" if report.sessions or report.hours else "no meetings"
    hours_ax.set_title(f"Jitsi platform, {report.month}: {meetings}, ${report.total:.2f}")
    fig.tight_layout()
    out = io.BytesIO()
    fig.savefig(out, format="png")
    return out.getvalue()


def write_report(report: MonthReport, folder: Path) -> tuple[Path, Path]:
    """``cost-report-YYYY-MM.png`` and ``.csv`` in ``folder``; their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    png, csv = folder / report.filename("png"), folder / report.filename("csv")
    png.write_bytes(render_png(report))
    csv.write_text(report.csv(), encoding="utf-8")
    return png, csv
