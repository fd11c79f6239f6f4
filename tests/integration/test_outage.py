"""The outage toolkit on a real redis-server that is stopped and started again: the
wait that outlasts it (logged once each way), the lease taken back afterwards, and
the conversion commands answer with."""

from __future__ import annotations

import io
import logging
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from rich.console import Console
from rq import Queue

from adapters.console.translate import actor as console_actor
from adapters.wiring import App
from bot.config import Settings
from infra.chain import JobChain
from infra.lock import LeaseLock
from infra.outage import Outage, StateUnavailable, converted, is_outage
from tests.support.services import RestartableRedis, restartable_redis, wait_for


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RestartableRedis]:
    with restartable_redis(tmp_path / "data") as srv:
        yield srv


def test_a_wait_outlasts_the_outage_and_logs_once_each_way(
    server: RestartableRedis, caplog: pytest.LogCaptureFixture
) -> None:
    client = redis.Redis.from_url(server.url, socket_connect_timeout=1)
    back: list[float] = []
    outage = Outage(
        client, "test", logging.getLogger("t.outage"), max_backoff=0.2, on_back=back.append
    )
    server.stop()
    with pytest.raises(redis.ConnectionError) as err:
        client.ping()
    restarted = threading.Event()

    def restart_when_waiting() -> None:
        wait_for(lambda: outage.down, 10, "the wait to begin")
        server.start()
        restarted.set()

    helper = threading.Thread(target=restart_when_waiting)
    with caplog.at_level(logging.WARNING, logger="t.outage"):
        helper.start()
        seconds = outage.wait(err.value)
    helper.join()
    assert restarted.is_set() and seconds > 0 and back == [pytest.approx(seconds)]
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 2 and "unreachable" in lines[0] and "is back" in lines[1], lines
    assert client.ping()


def test_the_lease_is_taken_back_unless_another_owner_has_it(
    server: RestartableRedis,
) -> None:
    client = redis.Redis.from_url(server.url)
    lock = LeaseLock(client, "t:lock", lease=5)
    assert lock.acquire(0)
    assert lock.regain()  # still held
    client.delete("t:lock")  # the lease ran out during the outage; nobody took it
    assert lock.regain() and client.pttl("t:lock") > 0
    client.set("t:lock", "someone-else")
    assert not lock.regain()
    lock.release()  # not ours: left alone
    assert client.get("t:lock") == b"someone-else"


def test_commands_see_state_unavailable(server: RestartableRedis) -> None:
    client = redis.Redis.from_url(server.url, socket_connect_timeout=1, retry=None)
    server.stop()
    with pytest.raises(StateUnavailable, match="The queue is unreachable"), converted():
        client.get("x")
    try:
        client.get("x")
    except redis.ConnectionError as exc:
        assert is_outage(exc)
        try:  # e.g. a job timeout that strikes while a job waits Redis out
            raise RuntimeError("raised while handling the outage")
        except RuntimeError as chained:
            assert is_outage(chained)
    assert not is_outage(RuntimeError("a bug"))
    assert not is_outage(OSError("AWS or a subprocess, not Redis"))


def test_the_terminal_chat_outlives_an_outage(server: RestartableRedis, project: str) -> None:
    out = io.StringIO()
    app = App(Settings(project_name=project, redis_url=server.url))
    chat = app.console_chat(console_actor("alice"), Console(file=out, width=200))
    server.stop()
    assert chat.repl(["status", "start"]) == 1  # each command fails; the loop goes on
    assert out.getvalue().count("The queue is unreachable") == 2, out.getvalue()
    server.start()
    wait_for(app.redis.ping, 10, "Redis to load its AOF")
    assert chat.repl(["status"]) == 0, out.getvalue()


def _noop() -> None:
    """A job function for the chain test (never run)."""


def test_a_chain_whose_run_was_cut_short_is_taken_over(redis_client: redis.Redis) -> None:
    queue = Queue(f"t-chain-{uuid.uuid4().hex[:6]}", connection=redis_client)
    key = f"{queue.name}:chain"
    chain = JobChain(redis_client, queue, key, _noop, "run")
    assert chain.start(interval=60, delay=30)  # the next run waits in RQ's scheduler
    alive = redis_client.get(key)
    assert not chain.hand_over("someone-else", 60, 30)  # the recorded run will hand over
    assert redis_client.get(key) == alive
    redis_client.set(key, "run-killed-in-the-outage")  # RQ has no such job any more
    assert chain.hand_over("run-now", 60, 30)
    assert redis_client.get(key) not in (None, alive, b"run-killed-in-the-outage")
