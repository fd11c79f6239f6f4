"""Outage cases 10-13: the host and its users: 250 `say start` at once, hostile input,
a bad configuration, an idle worker's footprint (bench/outages.py runs them)."""

from __future__ import annotations

import os
import sys
import time
import uuid
from pathlib import Path

import psutil

from bench.outages_rig import Options, Row, check, rig, stop_clean
from bot.config import _PROJECT
from tests.e2e.conftest import Platform
from tests.e2e.outage_support import json_lines
from tests.support.services import wait_for


def case_concurrent(opts: Options) -> list[Row]:
    """10. 250 `say start` from 50 users at once: exactly one lifecycle job."""
    n, users = (250, 50)
    with rig(opts, "concurrent") as g:
        g.p.start_worker()
        g.p.start_worker()  # two workers: the lock, not luck, keeps it to one
        began = time.monotonic()
        outs = _forked_says(g.p, n, users, opts.tmp)
        took = time.monotonic() - began
        codes = [c for c, _ in outs]
        jobs: set[str] = set()
        for _, text in outs:
            for x in json_lines(text):
                if x.get("job_id"):
                    jobs.add(str(x["job_id"]))
        streams = [k for k in g.r.scan_iter(f"{g.keys.prefix}:job:*:events")]
        check(all(c == 0 for c in codes), f"exit codes {sorted(set(codes))}")
        check(len(streams) == 1, f"{len(streams)} job streams")
        check(len(jobs) == 1, f"replies named {len(jobs)} jobs")
        check(g.nlbs() == 1, f"{g.nlbs()} NLBs")
        stop_clean(g)
    return [
        (
            f"{n} `say start` from {users} users at once, 2 workers",
            f"{len(streams)} lifecycle job ({len(jobs)} job id in the replies), 1 NLB; "
            f"all {n} exited 0 within {took:.1f} s",
        )
    ]


def _forked_says(p: Platform, n: int, users: int, tmp: Path) -> list[tuple[int, str]]:
    """``n`` `jitsi-bot say --json start` processes at once. Forked from one process
    that has imported the CLI, so 250 interpreters do not each spend a second of a
    2-core machine importing it: each child is still its own process with its own
    Redis connections, running the CLI's main()."""
    import adapters.cli as cli

    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(p.env)
    pids: list[tuple[int, Path]] = []
    try:
        gate_r, gate_w = os.pipe()
        for i in range(n):
            out = tmp / f"say-{uuid.uuid4().hex[:8]}.out"
            pid = os.fork()
            if pid == 0:  # the child: wait for the gate, then run the command
                code = 1
                try:
                    os.close(gate_w)
                    os.read(gate_r, 1)
                    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
                    os.dup2(fd, 1)
                    os.dup2(fd, 2)
                    code = cli.main(["say", "--json", "--user", f"user{i % users}", "start"])
                finally:
                    sys.stdout.flush()
                    os._exit(code)
            pids.append((pid, out))
        os.close(gate_r)
        os.close(gate_w)  # every child's read returns: they start together
    finally:
        os.environ.clear()
        os.environ.update(saved)
    results = []
    for pid, out in pids:
        _, status = os.waitpid(pid, 0)
        results.append((os.waitstatus_to_exitcode(status), out.read_text()))
    return results


def case_input(opts: Options) -> list[Row]:
    """11. Tab, bell, U+202E in a command: refused, nothing echoed raw."""
    rows: list[Row] = []
    bad = "\t\r\x07\x08\x0b\x1b\u202e"
    with rig(opts, "input") as g:
        for text in ("start\tstop", "start\x07\x08\x0b", "start \u202eevil", "\x1b[31mstart"):
            res = g.p.cli("say", "--user", "alice", text)
            out = res.stdout + res.stderr
            check(res.code != 0, f"{text!r} accepted")
            check(not any(c in out for c in bad), f"{text!r}: raw echo {out!r}")
            check(g.job() is None, f"{text!r} queued a job")
            rows.append((f"`say {text!r}`", f"refused, exit {res.code}: {out.strip()[:80]!r}"))
    return rows


def case_config(opts: Options) -> list[Row]:
    """12. A bad project name: the printed pattern is verbatim."""

    with rig(opts, "config") as g:
        res = g.p.cli("status", extra_env={"JITSI_PROJECT_NAME": "Bad_Name"})
        out = res.stdout + res.stderr
        check(res.code != 0, "a bad project name was accepted")
        check(_PROJECT.pattern in out, f"pattern not verbatim: {out[-500:]}")
        check("Traceback" not in out, "traceback")
    return [
        (
            "`JITSI_PROJECT_NAME=Bad_Name jitsi-bot status`",
            f"exit {res.code}, printed `{_PROJECT.pattern}`",
        )
    ]


def case_idle(opts: Options) -> list[Row]:
    """13. An idle worker's RSS and CPU over a minute or two."""
    span = 30.0 if opts.quick else 120.0
    with rig(opts, "idle") as g:
        worker = g.p.start_worker()
        wait_for(lambda: "Listening on" in g.p.worker_log(), 60, "the worker to listen")
        proc = psutil.Process(worker.pid)
        # Its start-up reconcile runs in a work horse: measure after it has ended.
        wait_for(lambda: not proc.children(recursive=True), 60, "the start-up reconcile")

        def sample() -> tuple[float, float]:
            family = [proc, *proc.children(recursive=True)]
            rss = sum(p.memory_info().rss for p in family) / 2**20
            cpu = sum(sum(p.cpu_times()[:2]) for p in family)
            return rss, cpu

        rss0, cpu0 = sample()
        t0 = time.monotonic()
        peak = rss0
        ends = t0 + span

        def done() -> bool:
            nonlocal peak
            peak = max(peak, sample()[0])
            return time.monotonic() >= ends

        wait_for(done, span + 10, "the idle span", step=1.0)
        rss1, cpu1 = sample()
        elapsed = time.monotonic() - t0
        check(rss1 - rss0 < 5, f"RSS grew {rss0:.1f} -> {rss1:.1f} MiB")
    return [
        (
            f"idle worker over {elapsed:.0f} s",
            f"RSS {rss0:.1f} -> {rss1:.1f} MiB (peak {peak:.1f}); "
            f"CPU {100 * (cpu1 - cpu0) / elapsed:.2f} % of a core",
        )
    ]
