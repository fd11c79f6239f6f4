"""The audit log on a real Redis: append-only, newest first for `history`, trimmed to its
bounds (entries and days), exported as JSON lines in bounded memory, however long."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from adapters.cli import main
from bot.audit import AuditEntry, EntryKind
from bot.model import Actor, ChatPlatform, JobId, JobKind, JobResult, JobSpec, SessionCost, UserId
from infra.audit_log import DAY_SECONDS, RedisAuditLog
from infra.keys import Keys

ALICE = Actor(UserId("console:alice"), "general", ChatPlatform.CONSOLE)
BOB = Actor(UserId("slack:U0BOB"), "C0GENERAL", ChatPlatform.SLACK)


def test_commands_and_jobs_newest_first(redis_client: redis.Redis, project: str) -> None:
    log = RedisAuditLog(redis_client, Keys(project))
    log.record(ALICE, "start x", "job job=1", 0.012)
    log.record(BOB, "stop", "denied")
    spec = JobSpec(JobId("j1"), JobKind.STOP, BOB, None, time.time())
    log.record_job(spec, "ok", JobResult(True, SessionCost(3600, 0.42), aws_calls=17), 95.5)
    job, denied, start = log.recent(10)
    assert (start.kind, start.user, start.channel, start.platform) == (
        EntryKind.COMMAND,
        "console:alice",
        "general",
        "console",
    )
    assert (start.what, start.outcome, start.seconds) == ("start x", "job job=1", 0.012)
    assert (denied.outcome, denied.seconds) == ("denied", None)
    assert (job.kind, job.what, job.job_id, job.outcome, job.ok) == (
        EntryKind.JOB,
        "stop",
        "j1",
        "ok",
        True,
    )
    assert (job.cost, job.aws_calls, job.seconds, job.platform) == (0.42, 17, 95.5, "slack")
    assert [e.outcome for e in log.recent(1)] == ["ok"] and log.recent(0) == []


def test_only_the_newest_max_entries_are_kept(redis_client: redis.Redis, project: str) -> None:
    log = RedisAuditLog(redis_client, Keys(project), max_entries=10)
    for n in range(25):
        log.record(ALICE, f"status {n}", "info")
    assert log.length() == 10
    assert [e.what for e in log.recent(50)] == [f"status {n}" for n in range(24, 14, -1)]


def test_entries_older_than_the_retention_are_trimmed(
    redis_client: redis.Redis, project: str
) -> None:
    keys = Keys(project)
    now_ms = int(time.time() * 1000)
    # Entries written long ago (explicit ids: a stream id is its entry's time).
    for days in (400, 100, 31, 29, 1):
        old = AuditEntry(EntryKind.COMMAND, 0.0, "console:old", "console", "g", f"{days}d", "info")
        redis_client.xadd(
            keys.audit_log, old.fields(), id=f"{now_ms - days * DAY_SECONDS * 1000}-0"
        )  # type: ignore[arg-type]
    RedisAuditLog(redis_client, keys, retention_days=0).record(ALICE, "status", "info")
    assert RedisAuditLog(redis_client, keys).length() == 6  # 0: no age bound
    RedisAuditLog(redis_client, keys, retention_days=30).record(ALICE, "cost", "info")
    kept = [e.what for e in RedisAuditLog(redis_client, keys).recent(50)]
    assert kept == ["cost", "status", "1d", "29d"]
    # An entry's time comes from its id when its own field is missing (written by hand).
    assert RedisAuditLog(redis_client, keys).recent(50)[-1].at == pytest.approx(
        (now_ms - 29 * DAY_SECONDS * 1000) / 1000
    )


def test_old_and_damaged_entries_still_read(redis_client: redis.Redis, project: str) -> None:
    keys = Keys(project)
    # The shape written before jobs were audited, and numbers someone damaged.
    redis_client.xadd(
        keys.audit_log,
        {
            "user": "u",
            "channel": "c",
            "platform": "slack",
            "command": "stop",
            "outcome": "denied",
            "at": "1795000000.5",
        },
    )
    redis_client.xadd(
        keys.audit_log, {"kind": "job", "seconds": "lots", "aws_calls": "x", "cost": ""}
    )
    damaged, old = RedisAuditLog(redis_client, keys).recent(5)
    assert (old.kind, old.what, old.at, old.seconds) == (
        EntryKind.COMMAND,
        "stop",
        1795000000.5,
        None,
    )
    assert (damaged.kind, damaged.seconds, damaged.aws_calls, damaged.cost) == (
        EntryKind.JOB,
        None,
        None,
        None,
    )


@pytest.fixture
def huge(redis_client: redis.Redis, project: str) -> Iterator[tuple[RedisAuditLog, float]]:
    """A log of 100,000 entries, the newest 1,000 after a mark in time."""
    keys = Keys(project)
    start_ms = int(time.time() * 1000) - 200_000
    pipe = redis_client.pipeline(transaction=False)
    for n in range(100_000):
        entry = AuditEntry(
            EntryKind.COMMAND,
            (start_ms + n) / 1000,
            f"console:u{n % 7}",
            "console",
            "g",
            f"status {n}",
            "info",
            seconds=0.001,
        )
        pipe.xadd(keys.audit_log, entry.fields(), id=f"{start_ms + n}-0")  # type: ignore[arg-type]
        if n % 5000 == 4999:
            pipe.execute()
    pipe.execute()
    yield RedisAuditLog(redis_client, keys, max_entries=1_000_000), (start_ms + 99_000) / 1000
    redis_client.delete(keys.audit_log)


# Runs the real command in a child process and reports the child's peak memory (KiB).
_PEAK = (
    "import resource, sys\n"
    "from adapters.cli import main\n"
    "code = main(sys.argv[1:])\n"
    "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
    "sys.exit(code)\n"
)


def _export_peak_kib(redis_url: str, project: str, workdir: Path, *args: str) -> int:
    env = {k: v for k, v in os.environ.items() if not k.startswith("JITSI_")}
    env.update(JITSI_REDIS_URL=redis_url, JITSI_PROJECT_NAME=project)
    done = subprocess.run(
        [sys.executable, "-c", _PEAK, "audit", "export", *args],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
        check=True,
    )
    return int(done.stderr.strip().splitlines()[-1])


def test_a_huge_log_exports_as_a_stream(
    huge: tuple[RedisAuditLog, float], redis_url: str, project: str, tmp_path: Path
) -> None:
    log, mark = huge
    out = tmp_path / "audit.jsonl"
    baseline = _export_peak_kib(redis_url, project, tmp_path, "--since", "2099-01-01")
    peak = _export_peak_kib(redis_url, project, tmp_path, "--output", str(out))
    # 100,000 entries held at once take well over 100 MB of Python objects; pages of
    # 500 take a few MB above what the process needs anyway (the empty export).
    assert peak - baseline < 40 * 1024, f"export grew by {(peak - baseline) / 1024:.0f} MB"
    with out.open(encoding="utf-8") as lines:
        first = json.loads(next(lines))
        assert first["what"] == "status 0" and first["kind"] == "command"
        assert sum(1 for _ in lines) == 99_999
    assert not (tmp_path / "audit.jsonl.part").exists()
    recent = list(log.since(mark))
    assert len(recent) == 1000 and recent[0].what == "status 99000"
    # `history` reads only what it shows, however long the log.
    assert [e.what for e in log.recent(3)] == ["status 99999", "status 99998", "status 99997"]


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, redis_url: str, project: str) -> None:
    for name in list(os.environ):
        if name.startswith("JITSI_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)  # no config file from the checkout
    monkeypatch.setenv("JITSI_REDIS_URL", redis_url)
    monkeypatch.setenv("JITSI_PROJECT_NAME", project)


@pytest.mark.parametrize(
    "since",
    ["yesterday-ish garbage", "", "-7d", "7 days", "99999999999999d", "2026-13-45", "\x1b[31m"],
)
def test_export_refuses_a_malformed_since(
    cli_env: None, since: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["audit", "export", f"--since={since}"])  # "=": argparse takes -7d as a value
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "--since" in err and "ISO 8601" in err and "\x1b" not in err


def test_export_from_the_command_line(
    cli_env: None,
    redis_client: redis.Redis,
    project: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    keys = Keys(project)
    now_ms = int(time.time() * 1000)
    old = AuditEntry(EntryKind.COMMAND, 0.0, "console:old", "console", "g", "old", "info")
    redis_client.xadd(keys.audit_log, old.fields(), id=f"{now_ms - 3 * DAY_SECONDS * 1000}-0")  # type: ignore[arg-type]
    RedisAuditLog(redis_client, keys).record(ALICE, "start ünï", "job job=1", 0.02)
    out = tmp_path / "out.jsonl"
    assert main(["audit", "export", "--since", "2d", "--output", str(out)]) == 0
    [line] = out.read_text(encoding="utf-8").splitlines()
    assert json.loads(line)["what"] == "start ünï"
    assert "Wrote 1 audit entries" in capsys.readouterr().err
    assert main(["audit", "export", "--since", "2020-01-01T00:00:00Z"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [json.loads(x)["what"] for x in lines] == ["old", "start ünï"]
    assert main(["audit", "export", "--since", "2020-01-01"]) == 0  # a date: UTC midnight
    assert len(capsys.readouterr().out.splitlines()) == 2
