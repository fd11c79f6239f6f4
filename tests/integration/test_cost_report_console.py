"""`cost report` in the terminal, on a real Redis: the terminal chat (`say`, the demo)
and `jitsi-bot cost report` write the month's PNG and CSV to the current folder and
print their paths; a file that cannot be written is said, with the CSV printed."""

from __future__ import annotations

import io
import json
import struct
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from rich.console import Console

from adapters import ops
from adapters.wiring import App
from bot.config import Settings
from bot.model import Actor, ChatPlatform, UserId

ALICE = Actor(UserId("console:alice"), "terminal", ChatPlatform.CONSOLE, "alice")


@pytest.fixture
def app(redis_url: str, project: str) -> Iterator[App]:
    app = App(Settings(project_name=project, redis_url=redis_url, budget={"monthly": 20.0}))
    now = time.time()
    app.ledger.record_session(now - 3600, now, 0.235)  # ended now: this UTC month
    yield app
    app.redis.close()


def this_month() -> str:
    return datetime.now(UTC).strftime("%Y-%m")


def chat_output(app: App, text: str, *, as_json: bool = False) -> tuple[int, str]:
    out = io.StringIO()
    chat = app.console_chat(ALICE, Console(file=out, width=300))
    code = chat.say(text, as_json=as_json)
    return code, out.getvalue()


def test_the_terminal_chat_writes_the_files_here_and_says_where(
    app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    month = this_month()
    code, out = chat_output(app, "cost report")
    png, csv = tmp_path / f"cost-report-{month}.png", tmp_path / f"cost-report-{month}.csv"
    assert code == 0
    assert out.startswith(f"Cost report for {month}, to the ")
    assert f"Wrote {png} and {csv}." in out
    data = png.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", data[16:24]) == (1000, 500)
    lines = csv.read_text().splitlines()
    assert lines[0].startswith("day,meeting_hours") and ",1.000," in lines[-1]


def test_json_output_names_the_files(
    app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    code, _ = chat_output(app, "cost report", as_json=True)
    reply, made = (json.loads(line) for line in capsys.readouterr().out.splitlines())
    assert code == 0 and reply["kind"] == "info" and reply["text"].startswith("Cost report")
    assert made == {
        "type": "report",
        "month": this_month(),
        "png": str(tmp_path / f"cost-report-{this_month()}.png"),
        "csv": str(tmp_path / f"cost-report-{this_month()}.csv"),
    }


def test_a_file_that_cannot_be_written_is_said_and_the_csv_printed(
    app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    month = this_month()
    (tmp_path / f"cost-report-{month}.png").mkdir()  # in the way of the chart
    code, out = chat_output(app, "cost report")
    assert code == 1 and "Traceback" not in out
    assert out.startswith(f"Cost report for {month}")  # the summary is not lost
    assert f"I could not write the chart of {month} in {tmp_path}: Is a directory." in out
    assert f"The numbers, as CSV (cost-report-{month}.csv):\nday,meeting_hours," in out


def test_the_cli_takes_the_same_path(
    app: App, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    month = this_month()
    assert ops.cost_view(app, ["report", month]) == 0
    out = capsys.readouterr().out
    assert out.startswith(f"Cost report for {month}")
    assert f"Wrote {tmp_path / f'cost-report-{month}.png'}" in out
    for bad, needle in (
        (["report", "2026-13"], "`2026-13` is not a month"),
        (["report", month, "x"], "at most one month"),
        (["report", "2999-01"], "2999-01 has not begun yet"),
    ):
        assert ops.cost_view(app, bad) == 1
        assert needle in capsys.readouterr().err
