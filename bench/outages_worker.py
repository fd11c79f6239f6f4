"""Outage cases 1-4: the worker killed, Redis away, a follower whose worker or Redis
went (bench/outages.py runs them)."""

from __future__ import annotations

import contextlib
import json
import subprocess
import time
from typing import Any

from bench.outages_rig import (
    Failed,
    Options,
    Rig,
    Row,
    check,
    reap,
    rig,
    start_and_wait,
    stop_clean,
)
from infra.follow import WORKER_STOPPED
from tests.e2e.outage_support import json_lines, redis_away, say_reply
from tests.support.services import wait_for


def case_sigkill(opts: Options) -> list[Row]:
    """1. Worker SIGKILL at every start step and every stop step."""
    rows: list[Row] = []
    with rig(opts, "sigkill") as g:
        g.p.start_worker()
        # Learn the steps of this platform's start and stop from one clean run.
        res = g.p.say("start")
        check(res.code == 0, f"baseline start failed: {res.stdout[-1500:]}{res.stderr[-800:]}")
        start_steps = _steps(res)
        res = g.p.say("stop")
        check(res.code == 0, f"baseline stop failed: {res.stdout[-1500:]}{res.stderr[-800:]}")
        stop_steps = _steps(res)
        check(start_steps and stop_steps, "no steps seen")
        failures = []
        for kind, steps in (("start", start_steps), ("stop", stop_steps)):
            for step in steps:
                try:
                    rows.append(_kill_at(g, kind, step))
                except (Failed, TimeoutError) as exc:
                    rows.append((f"SIGKILL at {kind} step `{step}`", f"FAIL: {exc}"))
                    failures.append(f"{kind}:{step}")
                    _recover(g)
        if failures:
            raise Failed(f"steps failed: {', '.join(failures)}", rows)
    return rows


def _recover(g: Rig) -> None:
    """After a failed step: a live worker, the platform stopped, for the next step."""
    if not any(w.poll() is None for w in g.p.workers):
        g.p.start_worker()
    with contextlib.suppress(Exception):
        wait_for(lambda: g.job() is None, 120, "the job to end")
    g.p.say("stop")


def _steps(res: Any) -> list[str]:
    """The step names a `say --json` run showed, in order."""
    return list(dict.fromkeys(str(x["step"]) for x in res.events("step_started")))


def _await_step(g: Rig, follower: subprocess.Popen[str], step: str, timeout: float) -> str:
    """The follower's job id once ``step`` started, read as the events arrive (a
    blocking XREAD): the last stop step lasts about 0.1 s, shorter than a poll."""
    reply = say_reply(follower, timeout)
    job_id = reply.get("job_id")
    if not job_id:
        raise TimeoutError(f"no job in the reply: {reply}")
    stream, last = g.keys.job_events(job_id), "0"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for _, entries in g.r.xread({stream: last}, block=200) or []:
            for entry_id, fields in entries:
                last = entry_id
                e = json.loads(fields[b"event"])
                if e.get("step") == step and e.get("kind") == "step_started":
                    return str(job_id)
    raise TimeoutError(f"step {step} of job {job_id}")


def _kill_at(g: Rig, kind: str, step: str) -> Row:
    label = f"SIGKILL at {kind} step `{step}`"
    if kind == "stop":
        start_and_wait(g)
    follower = g.p.say_async(kind)
    try:
        try:
            job_id = _await_step(g, follower, step, 90)
        except TimeoutError:
            out = reap(follower)
            raise Failed(
                f"{kind} step {step} never started; state {g.state()}, job {g.job()}; "
                f"the `say` printed: {out[-1200:]}"
            ) from None
        [worker] = [w for w in g.p.workers if w.poll() is None]
        g.p.kill_worker(worker)
        killed = time.monotonic()
        assert isinstance(job_id, str)
        at = g.running_step(job_id) or "(between steps)"
        already_done = g.job() != job_id
        g.p.start_worker()
        target = "running" if kind == "start" else "stopped"
        wait_for(lambda: g.state() == target and g.job() is None, 120, f"{kind} to converge")
        took = time.monotonic() - killed
        evs = g.events(job_id)
        if kind == "start":
            check(any(e["kind"] == "url_ready" for e in evs), f"{label}: no URL on job {job_id}")
        finished = [e for e in evs if e["kind"] == "finished"]
        check(finished and finished[-1]["data"].get("ok", True), f"{label}: job {job_id} not ok")
        resumed = any(e.get("data", {}).get("resumed") for e in evs)
        check(resumed or already_done, f"{label}: job {job_id} not resumed on its id")
    finally:
        reap(follower)
    if kind == "start":
        stop_clean(g)
    else:
        check(g.audit_clean(), f"{label}: audit not clean")
    note = "job had already ended" if already_done else f"running `{at}`, resumed on its id"
    return (label, f"converged {took:.1f} s after the kill ({note}); audit clean")


def case_redis(opts: Options) -> list[Row]:
    """2. Redis restart (3 s, AOF) and a 60 s outage mid-start, unsupervised worker."""
    rows: list[Row] = []
    for seconds in (3, 60):
        with rig(opts, f"redis{seconds}") as g:
            worker = g.p.start_worker()
            follower = g.p.say_async("start")
            job_id = wait_for(lambda: g.step_seen("scale-up", "step_finished"), 60, "the scale-up")
            alive = redis_away(g.server, seconds, worker)
            check(alive, "the worker exited during the outage")
            back = time.monotonic()
            wait_for(lambda: g.state() == "running", 120, "the start to converge")
            took = time.monotonic() - back
            evs = g.events(str(job_id))
            check(any(e["kind"] == "url_ready" for e in evs), "no URL after the outage")
            check(worker.poll() is None, "the worker exited")
            log = g.p.worker_log()
            check("quitting" not in log, "the worker quit")
            reap(follower)
            stop_clean(g)
            rows.append(
                (
                    f"Redis away {seconds} s mid-start (after scale-up)",
                    f"worker stayed up; converged {took:.1f} s after Redis returned, "
                    f"same job id; stop's audit clean",
                )
            )
    return rows


def case_dead_worker(opts: Options) -> list[Row]:
    """3. `say` joining a job whose worker died: time until told."""
    with rig(opts, "dead", {"JITSI_WORKER_LOST_SECONDS": "2"}) as g:
        worker = g.p.start_worker()
        first = g.p.say_async("start")
        wait_for(lambda: g.step_seen("scale-up", "step_finished"), 60, "the scale-up")
        g.p.kill_worker(worker)
        killed = time.monotonic()
        out, _err = first.communicate(timeout=60)
        told_first = time.monotonic() - killed
        began = time.monotonic()
        second = g.p.say("start")
        told_second = time.monotonic() - began
        for code, text in ((first.returncode, out), (second.code, second.stdout)):
            check(code == 1, f"exit {code}, expected 1: {text[-500:]}")
            problems = [x["text"] for x in json_lines(text) if x.get("type") == "problem"]
            check(WORKER_STOPPED in problems, f"not told: {text[-500:]}")
        g.p.start_worker()
        wait_for(lambda: g.state() == "running", 120, "the resumed start")
        stop_clean(g)
    return [
        (
            "worker SIGKILLed mid-start: the following `say`",
            f"told after {told_first:.1f} s, exit 1 (lease 2 s, worker_lost_seconds 2 s)",
        ),
        (
            "a `say start` joining that job",
            f"told after {told_second:.1f} s (including its interpreter start), exit 1",
        ),
    ]


def case_follow_drop(opts: Options) -> list[Row]:
    """4. `say` while Redis drops mid-follow."""
    with rig(opts, "drop") as g:
        follower = g.p.say_async("start")  # no worker: it follows a queued job
        check(say_reply(follower, 30).get("job_id"), "no job in the reply")
        g.server.stop()
        began = time.monotonic()
        out, err = follower.communicate(timeout=30)
        took = time.monotonic() - began
        check(follower.returncode == 1, f"exit {follower.returncode}")
        check("Traceback" not in out + err, f"traceback: {err[-800:]}")
        g.server.start()
        down = time.monotonic()
        g.server.stop()
        res = g.p.say("start")
        took_down = time.monotonic() - down
        check(res.code == 1 and "The queue is unreachable" in res.stderr, res.stderr)
        check("Traceback" not in res.stderr + res.stdout, res.stderr)
        g.server.start()
    return [
        (
            "Redis drops while `say` follows a job",
            f"exit 1 {took:.2f} s after Redis went, no traceback",
        ),
        ("`say start` while Redis is down", f"exit 1 in {took_down:.2f} s, no traceback"),
    ]
