"""Outage cases 5-9: AWS in trouble: a rollback that cannot finish, throttling, a hung
endpoint, a denied action, targets that never turn healthy (bench/outages.py runs them)."""

from __future__ import annotations

import time

from bench.outages_rig import Options, Row, check, rig, stop_clean
from tests.e2e.outage_support import (
    DELETE_NLB_UNAVAILABLE,
    doubled_dots,
    fast_reconcile_env,
    hung_endpoint,
    json_lines,
    throttled,
)
from tests.support.services import control, wait_for


def case_rollback(opts: Options) -> list[Row]:
    """5. A rollback whose AWS calls fail, then are restored."""
    fast = 2.0
    with rig(opts, "rollback", fast_reconcile_env(fast, teardown_retry=3)) as g:
        g.p.start_worker()
        control(g.p.emulator, "targets", {"mode": "unhealthy"})  # the start fails
        control(g.p.emulator, "faults", DELETE_NLB_UNAVAILABLE)
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
            dots = doubled_dots(res.lines)
            check(not dots, f"messages with '..': {dots}")
            # Hold AWS failing for two fast intervals: the notice must stay single.
            deadline = time.monotonic() + 2 * fast
            wait_for(lambda: time.monotonic() >= deadline, 3 * fast, "two fast intervals")
            during = len(g.notices("leftovers"))
        finally:
            control(g.p.emulator, "faults", {"clear": True})
        restored = time.monotonic()
        wait_for(lambda: g.audit_clean(), 60, "a clean audit")
        wait_for(lambda: g.state() == "stopped", 30, "the stopped state")
        took = time.monotonic() - restored
        wait_for(lambda: g.notices("leftovers-gone"), 30, "the all-clear")
        leftovers = g.notices("leftovers")
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
        for faulty in (False, True):
            follower = g.p.say_async("start")
            try:
                wait_for(lambda: g.step_seen("register", "step_finished"), 60, "register")
                if faulty:
                    control(g.p.emulator, "faults", throttled("DescribeTargetHealth", count))
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
