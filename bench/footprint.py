"""Resident memory of an idle `jitsi-bot serve` and an idle `jitsi-bot worker`.

Both run as real subprocesses against a private redis-server; memory is read
(RSS, with children for the worker) once each has settled, the worker after its
start-up reconcile has ended (the AWS endpoint is unreachable, so it fails after
botocore's retries), so the figure is an idle worker's.

Usage: python bench/footprint.py
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import psutil
import redis
from rq import Queue

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._support import redis_server  # noqa: E402


def rss_mb(pid: int) -> float:
    proc = psutil.Process(pid)
    total = proc.memory_info().rss
    for child in proc.children(recursive=True):
        total += child.memory_info().rss
    return total / 2**20


def processes(pid: int) -> int:
    return 1 + len(psutil.Process(pid).children(recursive=True))


def startup_jobs_done(url: str, queue_name: str) -> bool:
    """The worker's start-up reconcile has ended (it ran in a work horse)."""
    client = redis.Redis.from_url(url)
    try:
        queue = Queue(queue_name, connection=client)
        ended = queue.finished_job_registry.count + queue.failed_job_registry.count
        return ended >= 1 and queue.started_job_registry.count == 0
    finally:
        client.close()


def settle(pid: int, seconds: float = 3.0) -> float:
    """RSS once it stops growing (sampled every 0.5 s, at most ``seconds`` x 4)."""
    last, stable_since = -1.0, time.monotonic()
    deadline = time.monotonic() + seconds * 4
    while time.monotonic() < deadline:
        now = rss_mb(pid)
        if abs(now - last) > 0.5:
            last, stable_since = now, time.monotonic()
        elif time.monotonic() - stable_since >= seconds:
            break
        time.sleep(0.5)  # sampling interval of a benchmark, not a test
    return last


def main() -> int:
    with redis_server() as url:
        env = {k: v for k, v in os.environ.items() if not k.startswith("JITSI_")}
        env.update(
            JITSI_REDIS_URL=url,
            JITSI_PROJECT_NAME="footprint",
            JITSI_AWS_ENDPOINT_URL="http://127.0.0.1:9",
            JITSI_RECONCILE_INTERVAL_SECONDS="0",
        )
        results: dict[str, tuple[float, int]] = {}
        for name, argv in (("serve", ["serve"]), ("worker", ["worker"])):
            proc = subprocess.Popen(
                [sys.executable, "-m", "adapters.cli", *argv],
                cwd=ROOT,
                env=env,
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            try:
                if name == "worker":
                    deadline = time.monotonic() + 120
                    while not startup_jobs_done(url, "jitsi-footprint"):
                        if time.monotonic() > deadline:
                            raise TimeoutError("the worker's start-up reconcile did not end")
                        time.sleep(0.5)  # polling interval of a benchmark, not a test
                results[name] = (settle(proc.pid), processes(proc.pid))
            finally:
                proc.terminate()
                proc.wait(timeout=15)
        # A bare interpreter, measured the same way (its RSS, not ru_maxrss: a
        # child's maximum RSS counts the parent's pages it was forked with).
        bare = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", "import time; time.sleep(30)"],
            stdout=subprocess.DEVNULL,
        )
        try:
            python_mb = settle(bare.pid, 1.0)
        finally:
            bare.kill()
            bare.wait()
    for name, (mb, count) in results.items():
        print(
            f"idle {name}: {mb:.1f} MiB RSS in {count} process(es) "
            f"({mb / python_mb:.1f} x a bare python3 at {python_mb:.1f} MiB)"
        )
    total = sum(mb for mb, _ in results.values())
    print(f"serve + worker: {total:.1f} MiB RSS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
