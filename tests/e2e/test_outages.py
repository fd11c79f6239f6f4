"""Redis outages and dead workers, with real processes: a redis-server (AOF) that the
tests stop and start again, `jitsi-bot worker` with no supervisor, `jitsi-bot say`,
and the AWS emulator.

The figures the tests measure are printed (run with ``-s``) and quoted in
docs/reliability.md.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from infra.follow import WORKER_STOPPED
from infra.keys import Keys
from tests.e2e.conftest import Platform, bootstrapped_platform
from tests.e2e.outage_support import PlatformRedis, outage_client, redis_away, say_reply
from tests.support.services import RestartableRedis, restartable_redis, wait_for

pytestmark = pytest.mark.e2e


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RestartableRedis]:
    with restartable_redis(tmp_path / "redis-data") as srv:
        yield srv


@pytest.fixture
def outage_platform(
    project: str, server: RestartableRedis, emulator_url: str, tmp_path: Path
) -> Iterator[Platform]:
    with bootstrapped_platform(project, server.url, emulator_url, tmp_path) as p:
        yield p


def _view(p: Platform, server: RestartableRedis) -> PlatformRedis:
    # One try per call: the tests poll, and must see an outage as an outage at once.
    return PlatformRedis(outage_client(server.url), Keys(p.settings.project_name))


@pytest.mark.parametrize("seconds", [3, 60])
def test_worker_outlives_a_redis_outage_mid_start(
    outage_platform: Platform, server: RestartableRedis, seconds: int
) -> None:
    p = outage_platform
    worker = p.start_worker()
    follower = p.say_async("start retro")
    view = _view(p, server)
    job_id = wait_for(
        lambda: view.step_seen("scale-up", "step_finished"), 60, "the start to scale up"
    )
    assert isinstance(job_id, str)

    assert redis_away(server, seconds, worker), "the worker exited during the outage"
    back = time.monotonic()
    wait_for(lambda: view.state() == "running", 120, "the start to converge")
    converged = time.monotonic() - back
    events = view.events(job_id)
    kinds = [e["kind"] for e in events]
    assert "url_ready" in kinds, kinds
    assert any(e.get("data", {}).get("resumed") for e in events)
    # The job ended and freed its slot (just after it recorded "running").
    wait_for(lambda: view.job() is None, 30, "the job slot to be freed")
    assert worker.poll() is None, p.worker_log()
    log = p.worker_log()
    assert "quitting" not in log and "Redis is back" in log, log
    # Said once per outage by each part, not once per retry.
    assert log.count("Redis is unreachable") <= 4, log
    follower.communicate(timeout=30)  # it lost Redis mid-follow: covered below

    stop = p.say("stop")
    assert stop.code == 0, stop.stdout + stop.stderr + p.worker_log()
    assert stop.events("audit")[0]["data"]["clean"] is True
    assert p.cli("infra", "audit").code == 0
    print(f"\n[outage {seconds} s] start converged {converged:.1f} s after Redis returned")


def test_say_answers_at_once_during_an_outage(
    outage_platform: Platform, server: RestartableRedis
) -> None:
    server.stop()
    began = time.monotonic()
    result = outage_platform.say("start")
    took = time.monotonic() - began
    assert result.code == 1
    assert "The queue is unreachable" in result.stderr and "Traceback" not in result.stderr
    assert took < 10, took  # includes the interpreter's start
    print(f"\n[outage] `say start` answered in {took:.2f} s")


def test_say_following_a_job_when_redis_drops_prints_no_traceback(
    outage_platform: Platform, server: RestartableRedis
) -> None:
    p = outage_platform
    follower = p.say_async("start")  # no worker: it follows a queued job
    # Its reply is out: the command went through, and now it follows the job. (The job
    # id is claimed, and queued, before the command has finished with Redis.)
    assert say_reply(follower, 30).get("job_id")
    server.stop()
    began = time.monotonic()
    out, err = follower.communicate(timeout=30)
    took = time.monotonic() - began
    assert follower.returncode == 1, out + err
    assert "Traceback" not in err + out, err
    problem = [json.loads(x) for x in out.splitlines() if '"problem"' in x]
    assert problem and "The queue is unreachable" in problem[0]["text"], out
    print(f"\n[outage] a following `say` exited {took:.2f} s after Redis went away")


def test_followers_are_told_when_the_worker_dies(
    outage_platform: Platform, server: RestartableRedis
) -> None:
    p = outage_platform
    lost = {"JITSI_WORKER_LOST_SECONDS": "2"}
    p.env.update(lost)
    worker = p.start_worker()
    first = p.say_async("start retro")
    view = _view(p, server)
    wait_for(lambda: view.step_seen("scale-up", "step_finished"), 60, "the start to scale up")
    p.kill_worker(worker)
    killed = time.monotonic()
    out, err = first.communicate(timeout=60)
    told_first = time.monotonic() - killed
    # One who asks afterwards joins the job, replays its events and is told too.
    began = time.monotonic()
    second = p.say("start")
    told_second = time.monotonic() - began
    for code, text, stderr in ((first.returncode, out, err), (second.code, second.stdout, "")):
        assert code == 1, text + stderr
        problems = [json.loads(x)["text"] for x in text.splitlines() if '"problem"' in x]
        assert problems == [WORKER_STOPPED], text
    # lease (2 s) + worker_lost_seconds (2 s) + a check a second, with room for a busy host
    bound = 2 + 2 + 1 + 5
    assert told_first < bound and told_second < bound, (told_first, told_second)
    print(
        f"\n[worker SIGKILL] follower told after {told_first:.1f} s; "
        f"a joining `say` after {told_second:.1f} s"
    )
    # A worker started later resumes the same job, and the platform stops clean.
    p.start_worker()
    wait_for(lambda: view.state() == "running", 120, "the resumed start")
    stop = p.say("stop")
    assert stop.code == 0 and stop.events("audit")[0]["data"]["clean"] is True


def test_an_idle_worker_outlives_an_outage_and_works_after(
    outage_platform: Platform, server: RestartableRedis
) -> None:
    p = outage_platform
    worker = p.start_worker()
    wait_for(lambda: "Listening on" in p.worker_log(), 30, "the worker to listen")
    assert redis_away(server, 3, worker), "the worker exited during the outage"
    wait_for(lambda: "Redis is back" in p.worker_log(), 30, "the worker to see Redis back")
    start = p.say("start")
    assert start.code == 0, start.stdout + start.stderr + p.worker_log()
    stop = p.say("stop")
    assert stop.code == 0 and stop.events("audit")[0]["data"]["clean"] is True
    log = p.worker_log()
    assert worker.poll() is None and "quitting" not in log, log
    assert log.count("Redis is back") <= 3, log  # the worker loop, the scheduler thread


def test_a_job_killed_during_an_outage_is_resumed_on_its_id_when_redis_returns(
    outage_platform: Platform, server: RestartableRedis
) -> None:
    """The reconciler's path: the work horse dies while Redis is away (its wait for
    Redis can not save it), the worker lives; Redis returns, the worker runs the
    reconciler at once, and it resumes the same job."""
    p = outage_platform
    worker = p.start_worker()
    p.say_async("start retro")
    view = _view(p, server)
    job_id = wait_for(
        lambda: view.step_seen("scale-up", "step_finished"), 60, "the start to scale up"
    )
    server.stop()
    [horse] = psutil.Process(worker.pid).children()
    horse.kill()
    horse.wait(timeout=10)
    server.start()
    back = time.monotonic()
    wait_for(lambda: view.state() == "running", 120, "the resumed start")
    converged = time.monotonic() - back
    events = view.events(str(job_id))
    resumed = [e for e in events if e.get("data", {}).get("resumed")]
    assert resumed and "Resuming" in str(resumed[-1]["message"]), events
    assert "url_ready" in [e["kind"] for e in events]
    assert worker.poll() is None, p.worker_log()
    stop = p.say("stop")
    assert stop.code == 0 and stop.events("audit")[0]["data"]["clean"] is True
    print(f"\n[horse killed in an outage] converged {converged:.1f} s after Redis returned")
