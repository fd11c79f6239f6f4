"""Issue 11's fault cases, measured from outside: real processes, one run, one table.

Each case gets its own redis-server (AOF, restartable) and its own AWS emulator
(the "field" profile at ``--time-scale``), then drives `jitsi-bot worker` (no
supervisor) and `jitsi-bot say` as a user would, provokes the fault, and measures
what the bot does. A case that does not behave as issue 11 asks prints FAIL with
what it saw; the script exits 1 if any case failed. The cases live in
bench/outages_worker.py, outages_aws.py and outages_host.py; their world in
bench/outages_rig.py.

Usage: python bench/outages.py [--quick] [--time-scale 0.02] [--cases 1,5,10]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.outages_aws import case_denied, case_hung, case_rollback, case_throttle, case_unhealthy
from bench.outages_host import case_concurrent, case_config, case_idle, case_input
from bench.outages_rig import Failed, Options, Row
from bench.outages_worker import case_dead_worker, case_follow_drop, case_redis, case_sigkill

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
