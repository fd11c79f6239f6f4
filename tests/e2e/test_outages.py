"""Redis outages and dead workers, with real processes: a redis-server (AOF) that the
tests stop and start again, `jitsi-bot worker` with no supervisor, `jitsi-bot say`,
and the AWS emulator.

The figures the tests measure are printed (run with ``-s``) and quoted in
docs/reliability.md.
"""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest
import redis

from bot.config import Settings
from infra.aws.bootstrap import bootstrap
from infra.aws.session import AwsClients
from infra.follow import WORKER_STOPPED
from infra.keys import Keys
from tests.e2e.conftest import Platform, platform_env
from tests.support.aws import account_env, ready_account
from tests.support.services import RestartableRedis, https_front, restartable_redis, wait_for

pytestmark = pytest.mark.e2e


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RestartableRedis]:
    with restartable_redis(tmp_path / "redis-data") as srv:
        yield srv


@pytest.fixture
def outage_platform(
    project: str, server: RestartableRedis, emulator_url: str, tmp_path: Path
) -> Iterator[Platform]:
    env = platform_env(project, server.url, emulator_url)
    settings = Settings(
        project_name=project,
        redis_url=server.url,
        aws_endpoint_url=emulator_url,
        domain="meet.e2e.example",
        **https_front(emulator_url),
    )
    settings = ready_account(settings)
    env.update(account_env(settings))
    bootstrap(settings, AwsClients(settings))
    p = Platform(env, settings, emulator_url, tmp_path)
    yield p
    for proc in p.workers:
        if proc.poll() is None:
            p.kill_worker(proc)


def _client(server: RestartableRedis) -> redis.Redis:
    # One try per call: the tests poll, and must see an outage as an outage at once.
    return redis.Redis.from_url(server.url, socket_connect_timeout=1, retry=None)


def _events(r: redis.Redis, keys: Keys, job_id: str) -> list[dict[str, object]]:
    return [json.loads(f[b"event"]) for _, f in r.xrange(keys.job_events(job_id))]


def _reached_step(r: redis.Redis, keys: Keys, step: str) -> str | None:
    """The current job's id once its ``step`` finished, else None."""
    job = r.hget(keys.platform, "job_id")
    if not job:
        return None
    for e in _events(r, keys, job.decode()):
        if e.get("step") == step and e.get("kind") == "step_finished":
            return job.decode()
    return None


def _outage(server: RestartableRedis, seconds: float, worker: subprocess.Popen[bytes]) -> None:
    """Redis away for ``seconds`` (the stimulus under test), the worker checked alive
    throughout."""
    server.stop()
    ends = time.monotonic() + seconds
    wait_for(
        lambda: worker.poll() is not None or time.monotonic() >= ends,
        seconds + 5,
        "the outage to last its length",
    )
    assert worker.poll() is None, "the worker exited during the outage"
    server.start()


@pytest.mark.parametrize("seconds", [3, 60])
def test_worker_outlives_a_redis_outage_mid_start(
    outage_platform: Platform, server: RestartableRedis, seconds: int
) -> None:
    p = outage_platform
    worker = p.start_worker()
    follower = p.say_async("start retro")
    r, keys = _client(server), Keys(p.settings.project_name)
    job_id = wait_for(lambda: _reached_step(r, keys, "scale-up"), 60, "the start to scale up")
    assert isinstance(job_id, str)

    _outage(server, seconds, worker)
    back = time.monotonic()
    wait_for(lambda: r.hget(keys.platform, "state") == b"running", 120, "the start to converge")
    converged = time.monotonic() - back
    events = _events(r, keys, job_id)
    kinds = [e["kind"] for e in events]
    assert "url_ready" in kinds, kinds
    assert any(e.get("data", {}).get("resumed") for e in events)  # type: ignore[union-attr]
    # The job ended and freed its slot (just after it recorded "running").
    wait_for(lambda: r.hget(keys.platform, "job_id") is None, 30, "the job slot to be freed")
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
    r, keys = _client(server), Keys(p.settings.project_name)
    wait_for(lambda: r.hget(keys.platform, "job_id"), 30, "the job to be queued")
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
    r, keys = _client(server), Keys(p.settings.project_name)
    wait_for(lambda: _reached_step(r, keys, "scale-up"), 60, "the start to scale up")
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
    wait_for(lambda: r.hget(keys.platform, "state") == b"running", 120, "the resumed start")
    stop = p.say("stop")
    assert stop.code == 0 and stop.events("audit")[0]["data"]["clean"] is True


def test_an_idle_worker_outlives_an_outage_and_works_after(
    outage_platform: Platform, server: RestartableRedis
) -> None:
    p = outage_platform
    worker = p.start_worker()
    wait_for(lambda: "Listening on" in p.worker_log(), 30, "the worker to listen")
    _outage(server, 3, worker)
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
    r, keys = _client(server), Keys(p.settings.project_name)
    job_id = wait_for(lambda: _reached_step(r, keys, "scale-up"), 60, "the start to scale up")
    server.stop()
    [horse] = psutil.Process(worker.pid).children()
    horse.kill()
    horse.wait(timeout=10)
    server.start()
    back = time.monotonic()
    wait_for(lambda: r.hget(keys.platform, "state") == b"running", 120, "the resumed start")
    converged = time.monotonic() - back
    events = _events(r, keys, str(job_id))
    resumed = [e for e in events if e.get("data", {}).get("resumed")]  # type: ignore[union-attr]
    assert resumed and "Resuming" in str(resumed[-1]["message"]), events
    assert "url_ready" in [e["kind"] for e in events]
    assert worker.poll() is None, p.worker_log()
    stop = p.say("stop")
    assert stop.code == 0 and stop.events("audit")[0]["data"]["clean"] is True
    print(f"\n[horse killed in an outage] converged {converged:.1f} s after Redis returned")
