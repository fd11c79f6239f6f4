"""Matrix: command-to-first-reply latency and Matrix events sent per start.

A real Synapse (loopback, SQLite), a private redis-server, the AWS emulator
(field profile, time-scaled), a real `jitsi-bot worker` subprocess and the
MatrixAdapter in-process. A user sends `!jitsi start` / `!jitsi stop` N times;
latency is the homeserver's own timestamps (reply minus command, one clock),
events are the bot's messages for the job (first reply + edits + thread).

Usage: python bench/matrix_latency.py [--rounds 5] [--edit-interval 4] [--time-scale 0.05]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._support import percentile, redis_server
from bot.config import Settings
from infra.aws.bootstrap import bootstrap
from infra.aws.session import AwsClients
from tests.e2e.conftest import platform_env
from tests.matrix.conftest import (
    BotRunner,
    bot_messages,
    bot_settings,
    edits_of,
    join_room,
    latest_text,
    matrix_settings,
)
from tests.matrix.synapse import homeserver
from tests.support import services


def one(user, room: str, bot_id: str, text: str, done: str) -> tuple[float, int, float]:  # type: ignore[no-untyped-def]
    before = {e["event_id"] for e in bot_messages(user, room, bot_id)}
    cmd_id = user.say(room, text)
    cmd_ts = next(e for e in user.messages(room, 50) if e["event_id"] == cmd_id)["origin_server_ts"]

    def first():  # type: ignore[no-untyped-def]
        new = [e for e in bot_messages(user, room, bot_id) if e["event_id"] not in before]
        roots = [e for e in new if "org.jitsi_chatops.job" in e["content"]]
        return roots[0] if roots else None

    root = services.wait_for(first, 30, "first reply")
    t0 = time.monotonic()
    services.wait_for(
        lambda: done in latest_text(bot_messages(user, room, bot_id), root["event_id"]),  # type: ignore[index]
        300,
        "the job's end",
    )
    took = time.monotonic() - t0
    new = [e for e in bot_messages(user, room, bot_id) if e["event_id"] not in before]
    related = [root, *edits_of(new, root["event_id"])]  # type: ignore[index]
    thread = [
        e for e in new if (e["content"].get("m.relates_to") or {}).get("rel_type") == "m.thread"
    ]
    return (root["origin_server_ts"] - cmd_ts) / 1000, len(related) + len(thread), took  # type: ignore[index]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--edit-interval", type=float, default=4.0)
    ap.add_argument("--time-scale", type=float, default=0.05)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="matrix-bench-"))
    with (
        redis_server() as redis_url,
        services.emulator("field", args.time_scale, log=tmp / "emulator.log") as emu,
        homeserver(tmp) as hs,
    ):
        project = f"b{uuid.uuid4().hex[:8]}"
        settings = Settings(
            project_name=project,
            redis_url=redis_url,
            aws_endpoint_url=emu,
            domain="meet.bench.example",
        )
        bootstrap(settings, AwsClients(settings))
        env = platform_env(project, redis_url, emu)
        env["JITSI_DOMAIN"] = "meet.bench.example"
        worker = subprocess.Popen(
            [sys.executable, "-m", "adapters.cli", "worker"],
            env=env,
            cwd=services.ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        bot, alice = hs.register(), hs.register()
        room = join_room(alice, bot)
        cfg = matrix_settings(hs, bot, tmp, edit_interval_seconds=args.edit_interval)
        runner = BotRunner(bot_settings(settings, cfg))
        runner.start()
        lat: list[float] = []
        starts: list[int] = []
        stops: list[int] = []
        durations: list[float] = []
        try:
            for _ in range(args.rounds):
                latency, events, took = one(alice, room, bot.user_id, "!jitsi start", "Join:")
                lat.append(latency)
                starts.append(events)
                durations.append(took)
                latency, events, _ = one(alice, room, bot.user_id, "!jitsi stop", "clean")
                lat.append(latency)
                stops.append(events)
            sent = runner.adapter.client.sent if runner.adapter else 0
        finally:
            runner.shutdown()
            services.stop_process(worker)  # type: ignore[arg-type]
    print(f"Synapse startup: {hs.startup_seconds:.2f} s")  # type: ignore[attr-defined]
    print(
        f"commands: {len(lat)} (start+stop x {args.rounds}), edit interval {args.edit_interval} s"
    )
    print(
        f"command -> first reply: median {statistics.median(lat) * 1000:.0f} ms, "
        f"p95 {percentile(lat, 95) * 1000:.0f} ms, max {max(lat) * 1000:.0f} ms"
    )
    print(
        f"Matrix events per start (first reply + edits + thread): "
        f"median {statistics.median(starts):g}, max {max(starts)}; start took "
        f"median {statistics.median(durations):.1f} s"
    )
    print(f"Matrix events per stop: median {statistics.median(stops):g}, max {max(stops)}")
    print(f"total messages sent by the bot: {sent}")


if __name__ == "__main__":
    main()
