"""The worker's certificate job as the worker runs it: wired by ``adapters.wiring``,
queued by its chain, run by a burst RQ worker; it renews a due certificate and
schedules the next check a day later."""

from __future__ import annotations

import datetime
from collections.abc import Callable, Iterator

import pytest
from rq import Queue, SimpleWorker
from rq.registry import ScheduledJobRegistry

from adapters.wiring import App
from bot.config import Settings
from infra import jobs


@pytest.fixture
def app(make_settings: Callable[..., Settings], redis_url: str) -> Iterator[App]:
    app = App(make_settings(redis_url=redis_url))
    jobs.install(app.job_context())
    yield app
    jobs.install(None)


def test_the_daily_job_renews_a_due_certificate_and_reschedules(app: App) -> None:
    assert app.certificates.ensure().action == "issued"  # 20 days, due in a 30-day window
    before = app.certificates.status().not_after
    app.certificate_chain.run_now()
    queue = Queue(app.keys.queue_name, connection=app.redis)
    SimpleWorker([queue], connection=app.redis).work(burst=True)
    after = app.certificates.status().not_after
    assert before is not None and after is not None and after > before
    # The run handed over to the next one, a day later.
    next_run = app.redis.get(app.keys.certificate_scheduled)
    assert next_run is not None
    at = ScheduledJobRegistry(queue=queue).get_scheduled_time(next_run.decode())
    wait = (at - datetime.datetime.now(datetime.UTC)).total_seconds()
    assert 86000 < wait <= 86400


def test_no_hosted_zone_no_check(make_settings: Callable[..., Settings], redis_url: str) -> None:
    app = App(make_settings(redis_url=redis_url, hosted_zone_id=None))
    assert app.job_context().certificates is None
