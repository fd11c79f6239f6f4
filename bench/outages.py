"""Issue 11's fault cases, measured from outside: real processes, one run, one table.

Each case gets its own redis-server (AOF, restartable) and its own AWS emulator
(the "field" profile at ``--time-scale``), then drives `jitsi-bot worker` (no
supervisor) and `jitsi-bot say` as a user would, provokes the fault, and measures
what the bot does. A case that does not behave as issue 11 asks prints FAIL with
what it saw; the script exits 1 if any case failed.

Usage: python bench/outages.py [--quick] [--time-scale 0.02] [--cases 1,5,10]
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psutil
import redis

from bot.config import Settings
from bot.events import Notice
from infra.aws.bootstrap import bootstrap
from infra.aws.session import AwsClients
from infra.follow import WORKER_STOPPED
from infra.keys import Keys
from tests.e2e.conftest import Platform, platform_env
from tests.support import services
from tests.support.aws import issued_certificate
from tests.support.services import RestartableRedis, control, restartable_redis, wait_for

# The e2e settings (platform_env): lease 2 s, polls 0.05-0.25 s, grace 1 s.
LEASE = 2.0


@dataclass
class Options:
    time_scale: float
    quick: bool
    tmp: Path


@dataclass
class Rig:
    """One case's private world: its Redis, its emulator, one platform on them."""

    server: RestartableRedis
    p: Platform
    r: redis.Redis
    keys: Keys

    def state(self) -> str | None:
        v = self.r.hget(self.keys.platform, "state")
        return v.decode() if v else None

    def job(self) -> str | None:
        v = self.r.hget(self.keys.platform, "job_id")
        return v.decode() if v else None

    def events(self, job_id: str) -> list[dict[str, Any]]:
        return [json.loads(f[b"event"]) for _, f in self.r.xrange(self.keys.job_events(job_id))]

    def step_seen(self, step: str, kind: str = "step_started") -> str | None:
        """The current job's id once its ``step`` has an event of ``kind``."""
        job = self.job()
        if job and any(e.get("step") == step and e.get("kind") == kind for e in self.events(job)):
            return job
        return None

    def running_step(self, job_id: str) -> str | None:
        started: list[str] = []
        for e in self.events(job_id):
            if e.get("kind") == "step_started":
                started.append(str(e["step"]))
            elif e.get("kind") == "step_finished" and e.get("step") in started:
                started.remove(str(e["step"]))
        return started[-1] if started else None

    def notices(self) -> list[Notice]:
        rows = self.r.xrange(self.keys.notices)
        return [Notice.from_fields({k.decode(): v.decode() for k, v in f.items()}) for _, f in rows]

    def audit_clean(self) -> bool:
        return self.p.cli("infra", "audit").code == 0

    def nlbs(self) -> int:
        lbs = self.p.clients.elbv2.describe_load_balancers()["LoadBalancers"]
        name = f"{self.p.settings.project_name}-nlb"
        return len([lb for lb in lbs if lb["LoadBalancerName"] == name])


@contextlib.contextmanager
def rig(opts: Options, name: str, env: dict[str, str] | None = None) -> Iterator[Rig]:
    tmp = Path(tempfile.mkdtemp(prefix=f"{name}-", dir=opts.tmp))
    project = f"o{uuid.uuid4().hex[:8]}"
    with (
        restartable_redis(tmp / "redis-data") as server,
        services.emulator("field", opts.time_scale, log=tmp / "emulator.log") as emu,
    ):
        settings = Settings(
            project_name=project,
            redis_url=server.url,
            aws_endpoint_url=emu,
            domain="meet.e2e.example",
            # The emulator answers its state before its HTTPS front is listening.
            **wait_for(lambda: services.https_front(emu), 30, "the HTTPS front"),  # type: ignore[arg-type]
        )
        # What an operator's deploy has: a hosted zone (a start's preflight requires
        # one), an issued certificate for the NLB's TLS listener, the base bootstrapped.
        zone = AwsClients(settings).route53.create_hosted_zone(
            Name="e2e.example", CallerReference=project
        )
        zone_id = str(zone["HostedZone"]["Id"]).rsplit("/", 1)[-1]
        settings = settings.model_copy(update={"hosted_zone_id": zone_id})
        issued_certificate(settings)
        bootstrap(settings, AwsClients(settings))
        env = {
            **platform_env(project, server.url, emu),
            "JITSI_HOSTED_ZONE_ID": zone_id,
            **(env or {}),
        }
        p = Platform(env, settings, emu, tmp)
        # One try per call: an outage must read as an outage at once.
        r = redis.Redis.from_url(server.url, socket_connect_timeout=1, retry=None)
        try:
            yield Rig(server, p, r, Keys(project))
        finally:
            for proc in p.workers:
                if proc.poll() is None:
                    p.kill_worker(proc)


class Failed(Exception):
    """The bot did not do what issue 11 asks; ``rows`` are what was measured before."""

    def __init__(self, what: str, rows: list[tuple[str, str]] | None = None) -> None:
        super().__init__(what)
        self.rows = rows or []


def check(cond: object, what: str) -> None:
    if not cond:
        raise Failed(what)


def json_lines(out: str) -> list[dict[str, Any]]:
    return [json.loads(x) for x in out.splitlines() if x.startswith("{") and x.endswith("}")]


def start_and_wait(g: Rig) -> None:
    res = g.p.say("start")
    check(res.code == 0, f"start failed: {res.stdout[-800:]}{res.stderr[-800:]}")


def stop_clean(g: Rig) -> None:
    res = g.p.say("stop")
    check(res.code == 0, f"stop failed: {res.stdout[-800:]}{res.stderr[-800:]}")
    audits = res.events("audit")
    check(not audits or audits[-1]["data"]["clean"] is True, "stop's audit not clean")
    check(g.audit_clean(), "`infra audit` not clean after the stop")


def reap(proc: subprocess.Popen[str]) -> str:
    """Kill a `say` that may still follow; what it printed."""
    with contextlib.suppress(Exception):
        proc.kill()
        out, err = proc.communicate(timeout=10)
        return out + err
    return ""


# ---------------------------------------------------------------------------- cases


Row = tuple[str, str]  # (what, measured)


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
    assert follower.stdout is not None
    reply = json.loads(follower.stdout.readline() or "{}")
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


def _outage(g: Rig, seconds: float, worker: subprocess.Popen[bytes]) -> None:
    g.server.stop()
    ends = time.monotonic() + seconds
    wait_for(
        lambda: worker.poll() is not None or time.monotonic() >= ends,
        seconds + 5,
        "the outage",
    )
    check(worker.poll() is None, "the worker exited during the outage")
    g.server.start()


def case_redis(opts: Options) -> list[Row]:
    """2. Redis restart (3 s, AOF) and a 60 s outage mid-start, unsupervised worker."""
    rows: list[Row] = []
    for seconds in (3, 60):
        with rig(opts, f"redis{seconds}") as g:
            worker = g.p.start_worker()
            follower = g.p.say_async("start")
            job_id = wait_for(lambda: g.step_seen("scale-up", "step_finished"), 60, "the scale-up")
            _outage(g, seconds, worker)
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
        wait_for(lambda: g.job(), 30, "the job to be queued")
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


def case_rollback(opts: Options) -> list[Row]:
    """5. A rollback whose AWS calls fail, then are restored."""
    fast = 2.0
    env = {
        "JITSI_RECONCILE_INTERVAL_SECONDS": "300",
        "JITSI_RECONCILE_FAST_INTERVAL_SECONDS": str(fast),
        "JITSI_TEARDOWN_RETRY_SECONDS": "3",
    }
    with rig(opts, "rollback", env) as g:
        g.p.start_worker()
        control(g.p.emulator, "targets", {"mode": "unhealthy"})  # the start fails
        control(
            g.p.emulator,
            "faults",
            {
                "permanent": {
                    "operation": "DeleteLoadBalancer",
                    "code": "ServiceUnavailable",
                    "status": 503,
                    "count": 100000,
                }
            },
        )
        began = time.monotonic()
        try:
            res = g.p.say("start")
        finally:
            control(g.p.emulator, "targets", {"mode": "auto"})
        answered = time.monotonic() - began
        try:
            text = res.stdout + res.stderr
            check(res.code == 1, f"start exit {res.code}")
            check("Traceback" not in text and "crashed" not in text, text[-800:])
            audit = res.events("audit")[-1]
            check(audit["data"]["clean"] is False, "the audit was clean while AWS failed")
            per_hour = audit["data"]["per_hour"]
            for line in res.lines:
                msg = str(line.get("message", "")).replace("…", "")
                check(".." not in msg, f"message with '..': {msg}")
            # Hold AWS failing for two fast intervals: the notice must stay single.
            deadline = time.monotonic() + 2 * fast
            wait_for(lambda: time.monotonic() >= deadline, 3 * fast, "two fast intervals")
            during = len([n for n in g.notices() if n.data.get("repair") == "leftovers"])
        finally:
            control(g.p.emulator, "faults", {"clear": True})
        restored = time.monotonic()
        wait_for(lambda: g.audit_clean(), 60, "a clean audit")
        wait_for(lambda: g.state() == "stopped", 30, "the stopped state")
        took = time.monotonic() - restored
        wait_for(
            lambda: any(n.data.get("repair") == "leftovers-gone" for n in g.notices()),
            30,
            "the all-clear",
        )
        leftovers = [n for n in g.notices() if n.data.get("repair") == "leftovers"]
        check(during == 1 and len(leftovers) == 1, f"{len(leftovers)} leftover notices")
        check("Traceback" not in g.p.worker_log(), "traceback in the worker log")
    return [
        (
            "rollback's DeleteLoadBalancer answered 503 until restored",
            f"failed start answered in {answered:.1f} s, left ${per_hour:g}/h reported, "
            f"no traceback; {len(leftovers)} leftover notice (+1 all-clear); audit clean "
            f"{took:.1f} s after AWS was restored (fast interval {fast:g} s)",
        )
    ]


def case_throttle(opts: Options) -> list[Row]:
    """6. Throttled DescribeTargetHealth polls: the start succeeds, extra seconds."""
    count = 24  # 8 polls' worth: botocore tries each call 3 times
    with rig(opts, "throttle") as g:
        g.p.start_worker()
        times = []
        for throttled in (False, True):
            follower = g.p.say_async("start")
            try:
                wait_for(lambda: g.step_seen("register", "step_finished"), 60, "register")
                if throttled:
                    control(
                        g.p.emulator,
                        "faults",
                        {"throttle": {"operation": "DescribeTargetHealth", "count": count}},
                    )
                t0 = time.monotonic()
                out, err = follower.communicate(timeout=120)
                times.append(time.monotonic() - t0)
            finally:
                control(g.p.emulator, "faults", {"clear": True})
            check(follower.returncode == 0, f"start failed: {out[-800:]}{err[-800:]}")
            check(any(x.get("kind") == "url_ready" for x in json_lines(out)), "no URL")
            stop_clean(g)
    return [
        (
            f"DescribeTargetHealth throttled {count} times in a row after register",
            f"start succeeded; register->URL {times[1]:.1f} s vs {times[0]:.1f} s "
            f"unthrottled (+{times[1] - times[0]:.1f} s)",
        )
    ]


@contextlib.contextmanager
def hung_endpoint() -> Iterator[str]:
    """A TCP server that accepts every connection and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            held.append(conn)  # kept open, never read from or written to

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(timeout=5)
        for conn in held:
            conn.close()
        server.close()


def case_hung(opts: Options) -> list[Row]:
    """7. An AWS endpoint that accepts and never answers: `status` answer time."""
    rows: list[Row] = []
    with rig(opts, "hung") as g, hung_endpoint() as url:
        for args in (("status",), ("status", "--json")):
            began = time.monotonic()
            res = g.p.cli(*args, extra_env={"JITSI_AWS_ENDPOINT_URL": url}, timeout=60)
            took = time.monotonic() - began
            check(res.code == 1 and "Traceback" not in res.stderr, res.stderr[-500:])
            said = "did not answer" in res.stderr + res.stdout
            check(said, f"`{' '.join(args)}` did not say AWS did not answer")
            check(took < 10, f"`{' '.join(args)}` took {took:.1f} s (> 10 s)")
            rows.append((f"`jitsi-bot {' '.join(args)}` with AWS hung", f"{took:.1f} s, exit 1"))
    return rows


def case_denied(opts: Options) -> list[Row]:
    """8. AccessDenied on a start's call: fails naming the action, rolled back, clean."""
    op = "CreateTargetGroup"
    with rig(opts, "denied") as g:
        g.p.start_worker()
        control(
            g.p.emulator,
            "faults",
            {"permanent": {"operation": op, "code": "AccessDenied", "count": 100000}},
        )
        began = time.monotonic()
        try:
            res = g.p.say("start")
        finally:
            control(g.p.emulator, "faults", {"clear": True})
        took = time.monotonic() - began
        check(res.code == 1, f"start exit {res.code}")
        errors = [x["message"] for x in res.events("error")]
        check(errors and op in errors[0], f"the action is not named: {errors}")
        check("Traceback" not in res.stdout + res.stderr, "traceback")
        check(g.state() in ("failed", "stopped"), f"state {g.state()}")
        check(g.audit_clean() and g.nlbs() == 0, "not rolled back")
    return [
        (
            f"AccessDenied on every {op}",
            f"start failed in {took:.1f} s naming `{op}`; rolled back, audit clean",
        )
    ]


def case_unhealthy(opts: Options) -> list[Row]:
    """9. Never-healthy targets: fails after unhealthy_grace_seconds, rolled back."""
    grace = 5.0
    with rig(opts, "unhealthy", {"JITSI_UNHEALTHY_GRACE_SECONDS": str(grace)}) as g:
        g.p.start_worker()
        control(g.p.emulator, "targets", {"mode": "unhealthy"})
        try:
            follower = g.p.say_async("start")
            wait_for(lambda: g.step_seen("healthy"), 60, "the health wait")
            t0 = time.monotonic()
            wait_for(lambda: g.job() is None, 120, "the start to end")
            took = time.monotonic() - t0
            out, _err = follower.communicate(timeout=60)
        finally:
            control(g.p.emulator, "targets", {"mode": "auto"})
        check(follower.returncode == 1, f"exit {follower.returncode}")
        errors = [x["message"] for x in json_lines(out) if x.get("kind") == "error"]
        check(errors, "no error event")
        check(g.audit_clean() and g.nlbs() == 0, "not rolled back")
    return [
        (
            f"targets never healthy (unhealthy_grace_seconds {grace:g})",
            f"start failed and rolled back {took:.1f} s after the health wait began; "
            f"audit clean; said: {errors[0][:90]}",
        )
    ]


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
    from bot.config import _PROJECT

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


CASES: dict[int, Callable[[Options], list[Row]]] = {
    1: case_sigkill,
    2: case_redis,
    3: case_dead_worker,
    4: case_follow_drop,
    5: case_rollback,
    6: case_throttle,
    7: case_hung,
    8: case_denied,
    9: case_unhealthy,
    10: case_concurrent,
    11: case_input,
    12: case_config,
    13: case_idle,
}


@dataclass
class Outcome:
    number: int
    rows: list[Row] = field(default_factory=list)
    failure: str = ""
    seconds: float = 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--time-scale", type=float, default=0.02)
    parser.add_argument("--quick", action="store_true", help="a 30 s idle span")
    parser.add_argument("--cases", help="comma-separated case numbers (default: all)")
    args = parser.parse_args()
    chosen = [int(x) for x in args.cases.split(",")] if args.cases else list(CASES)
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="outages-") as tmp:
        opts = Options(args.time_scale, args.quick, Path(tmp))
        for number in chosen:
            fn = CASES[number]
            began = time.monotonic()
            o = Outcome(number)
            try:
                o.rows = fn(opts)
            except Failed as exc:
                o.failure = str(exc)
                o.rows = exc.rows
            except Exception:
                o.failure = traceback.format_exc()
            o.seconds = time.monotonic() - began
            outcomes.append(o)
            title = (fn.__doc__ or "").strip().splitlines()[0]
            print(f"\n{title}  ({o.seconds:.0f} s)", flush=True)
            for what, measured in o.rows:
                print(f"  {what}: {measured}", flush=True)
            if o.failure:
                print(f"  FAIL: {o.failure}", flush=True)
    failed = [o.number for o in outcomes if o.failure]
    total = sum(o.seconds for o in outcomes)
    print(
        f"\nfield profile x{args.time_scale:g}; {len(outcomes)} cases in {total:.0f} s; "
        f"failed: {failed or 'none'}"
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
