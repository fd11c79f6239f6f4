"""`cost report`'s chart: daily meeting hours (bars) and the cumulative cost against
the budget line, as a PNG drawn headless (matplotlib's Agg backend, no display)."""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # before pyplot: a worker has no display

import matplotlib.pyplot as plt

from bot.report import MonthReport

WIDTH_IN, HEIGHT_IN, DPI = 10.0, 5.0, 100  # 1000 x 500 pixels: readable in chat


def render_png(report: MonthReport) -> bytes:
    fig, hours_ax = plt.subplots(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI)
    try:
        days = [r.day.day for r in report.rows]
        hours_ax.bar(days, [r.hours for r in report.rows], color="#8fb8de", label="meeting hours")
        hours_ax.set_xlabel(f"day of {report.month} (UTC)")
        hours_ax.set_ylabel("meeting hours")
        hours_ax.set_xlim(0.5, max(days, default=1) + 0.5)
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
        total = report.rows[-1].cumulative if report.rows else 0.0
        hours = sum(r.hours for r in report.rows)
        hours_ax.set_title(f"Jitsi platform, {report.month}: {hours:.1f} h, ${total:.2f}")
        fig.tight_layout()
        out = io.BytesIO()
        fig.savefig(out, format="png")
        return out.getvalue()
    finally:
        plt.close(fig)


def write_report(report: MonthReport, folder: Path) -> tuple[Path, Path]:
    """``cost-report-YYYY-MM.png`` and ``.csv`` in ``folder``; their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    png = folder / f"cost-report-{report.month}.png"
    csv = folder / f"cost-report-{report.month}.csv"
    png.write_bytes(render_png(report))
    csv.write_text(report.csv(), encoding="utf-8")
    return png, csv
