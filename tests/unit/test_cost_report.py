"""`cost report`: the month's daily numbers (CSV) and the chart (a PNG of the expected
size and shape, drawn headless)."""

from __future__ import annotations

import struct
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from bot.report import month_report
from infra.cost_chart import DPI, HEIGHT_IN, WIDTH_IN, png_size, render_png, write_report


def at(day: int, hour: int) -> float:
    return datetime(2026, 11, day, hour, tzinfo=UTC).timestamp()


SESSIONS = [
    (at(3, 9), at(3, 10) + 1800, 0.371),  # 1.5 h
    (at(3, 14), at(3, 15), 0.235),
    (at(10, 9), at(10, 12), 0.70),
    (datetime(2026, 10, 31, 9, tzinfo=UTC).timestamp(), at(1, 0) - 1, 0.5),  # October's
]


def test_daily_rows_and_csv() -> None:
    report = month_report("2026-11", SESSIONS, 0.60, 5.0, until=date(2026, 11, 12))
    assert len(report.rows) == 12
    third = report.rows[2]
    assert third.hours == pytest.approx(2.5)
    assert third.cost == pytest.approx(0.371 + 0.235 + 0.02)  # idle $0.60 over 30 days
    assert report.rows[-1].cumulative == pytest.approx(0.371 + 0.235 + 0.70 + 12 * 0.02)
    lines = report.csv().splitlines()
    assert lines[0] == "day,meeting_hours,cost_usd,cumulative_usd,budget_usd"
    assert lines[3] == "2026-11-03,2.500,0.6260,0.6660,5.00"


def test_chart_is_a_png_of_the_expected_size(tmp_path: Path) -> None:
    report = month_report("2026-11", SESSIONS, 0.60, 2.0)
    png, csv = write_report(report, tmp_path)
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    assert (width, height) == (int(WIDTH_IN * DPI), int(HEIGHT_IN * DPI))  # 2:1, 1000 x 500
    assert 10_000 < len(data) < 500_000
    assert csv.read_text().count("\n") == 31  # header and 30 days


def test_charts_drawn_at_once_in_threads_are_each_whole() -> None:
    # The chat process draws in worker threads (a Slack and a Matrix report at once):
    # no shared pyplot state may mix two figures.
    reports = [month_report("2026-11", SESSIONS, 0.60, 2.0), month_report("2026-09", [], 0.6, None)]
    alone = [render_png(r) for r in reports]
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(render_png, reports * 2))
    assert together == alone * 2
    assert {png_size(png) for png in together} == {(1000, 500)}


def test_a_month_without_meetings_is_still_a_chart() -> None:
    report = month_report("2026-09", [], 0.23, 20.0)
    assert report.sessions == 0 and report.hours == 0 and len(report.rows) == 30
    assert report.total == pytest.approx(0.23)
    assert png_size(render_png(report)) == (1000, 500)


def test_png_size_refuses_what_is_not_a_png() -> None:
    with pytest.raises(ValueError, match="not a PNG"):
        png_size(b"GIF89a" + b"\0" * 30)
