"""The real bolt app and slack_sdk client against the local fake Slack, on a real Redis;
no worker: jobs stay queued, which is all these scenarios need."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from datetime import UTC, datetime
from typing import Any

import pytest

from adapters.slack.translate import STALE_AFTER_CHECKS, actor_for
from adapters.wiring import App
from bot.config import Settings
from bot.events import Event, EventKind, Notice, NoticeKind
from bot.model import JobId
from bot.state import DesiredState, PlatformState, PlatformStatus
from bot.watch import SessionWatch
from tests.slack.conftest import fixture, slack_bot, stop_click
from tests.slack.fake_slack import (
    APP_TOKEN,
    BOT_TOKEN,
    SIGNING_SECRET,
    FakeSlack,
    post_signed,
    slash_body,
)
from tests.support.clocks import SkewedClock
from tests.support.services import until


@pytest.fixture
def base(redis_url: str, project: str) -> Settings:
    return Settings(project_name=project, redis_url=redis_url)


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_bad_signature_and_stale_timestamp_are_refused(base: Settings) -> None:
    async def scenario() -> None:
        async with slack_bot(base) as bot:
            body = slash_body(bot.slash_fields("status"))
            forged, _, _ = await post_signed(bot.session, bot.events_url, body, secret="wrong")
            stale, _, _ = await post_signed(
                bot.session, bot.events_url, body, timestamp=int(time.time()) - 6 * 60
            )
            unsigned, _, _ = await post_signed(bot.session, bot.events_url, body, signature="v0=")
            good, reply, _ = await bot.slash("status")
            assert (forged, stale, unsigned) == (401, 401, 401)
            assert good == 200 and reply["response_type"] == "in_channel"
            assert [a["command"] for a in bot.audit()] == ["status"]  # refused: not even audited

    run(scenario())


def test_usage_error_is_ephemeral_and_audited(base: Settings) -> None:
    async def scenario() -> None:
        async with slack_bot(base) as bot:
            status, reply, took = await bot.slash("strat")
            assert status == 200 and took < 3
            assert reply["response_type"] == "ephemeral" and "Did you mean `start`" in reply["text"]
            [entry] = bot.audit()
            assert entry["user"] == "slack:U0001" and entry["outcome"] == "usage-error"
            assert not bot.fake.channel_posts()

    run(scenario())


def test_disallowed_team_channel_user_and_group(base: Settings) -> None:
    base = base.model_copy(update={"allowed_users": {"stop": ["slack:U0009"]}})

    async def scenario() -> None:
        async with slack_bot(
            base,
            allowed_teams=["T0001"],
            allowed_channels=["C0001"],
            allowed_usergroups={"status": ["S0001"]},
        ) as bot:
            bot.fake.usergroups["S0001"] = ["U0002"]
            _, team, _ = await bot.slash("start", team_id="T0666")
            _, channel, _ = await bot.slash("start", channel_id="C0666")
            _, user, _ = await bot.slash("stop")
            _, group, _ = await bot.slash("status")
            _, member, _ = await bot.slash("status", user_id="U0002")
            for denied in (team, channel, user, group):
                assert denied["response_type"] == "ephemeral", denied
            assert "workspace (T0666) is not allowed" in team["text"]
            assert "<#C0001>" in channel["text"]
            assert "may not run `stop`" in user["text"]
            assert "<!subteam^S0001>" in group["text"]
            assert member["response_type"] == "in_channel" and "Platform:" in member["text"]
            outcomes = [(a["user"], a["outcome"].split(":")[0]) for a in bot.audit()]
            assert outcomes == [
                ("slack:U0001", "denied"),
                ("slack:U0001", "denied"),
                ("slack:U0001", "denied"),
                ("slack:U0001", "denied"),
                ("slack:U0002", "info"),
            ]
            assert len(bot.fake.calls_to("usergroups.users.list")) == 1  # cached
            assert not bot.fake.channel_posts()

    run(scenario())


def test_malformed_payloads_and_unknown_actions(base: Settings) -> None:
    async def scenario() -> None:
        async with slack_bot(base) as bot:
            no_user = bot.slash_fields("start")
            del no_user["user_id"]
            status, body, _ = await post_signed(bot.session, bot.events_url, slash_body(no_user))
            assert status == 200 and "could not read" in body
            garbage, _, _ = await post_signed(bot.session, bot.events_url, "payload=%7Bnot-json")
            assert garbage in (400, 404)  # bolt cannot parse it: nothing runs
            for name in ("block_actions_unknown", "malformed_block_actions_no_actions"):
                payload = fixture(name) | {"response_url": bot.fake.response_url()}
                status, took = await bot.click(payload)
                assert status == 200 and took < 3
            # The unknown action is refused to its clicker; the empty one only dropped.
            await bot.fake.wait(lambda: bot.fake.responses, 5, "the refusal")
            assert all("not something I can do" in r["text"] for r in bot.fake.responses)
            assert all(r["response_type"] == "ephemeral" for r in bot.fake.responses)
            assert not bot.fake.channel_posts() and not bot.audit()
            # The app still serves after all that.
            _, reply, _ = await bot.slash("help")
            assert "/jitsi start" in reply["text"]

    run(scenario())


def test_keep_button_sends_keep_as_the_clicker(base: Settings) -> None:
    async def scenario() -> None:
        async with slack_bot(base) as bot:
            payload = fixture("block_actions_keep") | {"response_url": bot.fake.response_url()}
            await bot.click(payload)
            await bot.fake.wait(lambda: bot.fake.responses, 5, "an answer to keep")
            [entry] = bot.audit()
            assert (entry["user"], entry["command"]) == ("slack:U0002", "keep 30")

    run(scenario())


def test_app_home_shows_state_and_month_to_date(base: Settings) -> None:
    async def scenario() -> None:
        async with slack_bot(base) as bot:
            now = time.time()
            bot.app.ledger.record_session(now - 7200, now, 0.47)
            assert await bot.event(fixture("app_home_opened")) == 200
            [call] = await bot.fake.wait(
                lambda: bot.fake.calls_to("views.publish"), 5, "views.publish"
            )
            assert call.params["user_id"] == "U0001"
            text = str(call.params["view"])
            assert "Platform: stopped" in text and "2.0 h, $0.470" in text

    run(scenario())


def test_app_home_counts_the_running_session_as_cost_does(base: Settings) -> None:
    """A session running for 20 minutes after 2 ended hours: App Home says 2.3 h, as
    ``cost`` does, and more than the ended sessions' $0.470."""

    async def scenario() -> None:
        # Mid-month on the app's clock: at the real month's first hours the ended
        # session would fall in last month.
        clock = SkewedClock()
        real = datetime.fromtimestamp(time.time(), UTC)
        clock.skew = datetime(real.year, real.month, 15, 12, tzinfo=UTC).timestamp() - time.time()
        app = App(base, clock=clock)
        now = clock.now()
        app.ledger.record_session(now - 4 * 3600, now - 2 * 3600, 0.47)
        await running_meeting(app, JobId("home1"), "1699999999.000003", now=now)
        async with slack_bot(base, clock=clock) as bot:
            assert await bot.event(fixture("app_home_opened")) == 200
            [call] = await bot.fake.wait(
                lambda: bot.fake.calls_to("views.publish"), 5, "views.publish"
            )
            text = str(call.params["view"])
            assert "so far:* 2.3 h, $" in text and "$0.470" not in text
            assert "This month so far: 2.3 h, $" in app.service.cost_answers.cost_text()

    run(scenario())


def test_notices_go_to_notice_and_session_channels_after_a_429(base: Settings) -> None:
    async def scenario() -> None:
        bot_ctx = slack_bot(base, notice_channels=["CNOTICE"])
        async with bot_ctx as bot:
            bot.fake.rate_limit_once.add("chat.postMessage")
            notice = Notice(
                NoticeKind.IDLE_WARNING,
                time.time(),
                "Nobody in the meeting; stopping in 10 min.",
                platform="slack",
                channel="C0001",
            )
            # The adapter pinned "now" before this notice? Wait until it reads the stream.
            await bot.fake.wait(
                lambda: any(c.get("cmd") == "xread" for c in bot.app.redis.client_list()),
                5,
                "the notice reader",
            )
            bot.app.notices.notify(notice)
            posts = await bot.fake.wait(
                lambda: len(bot.fake.channel_posts()) >= 3 and bot.fake.channel_posts(),
                10,
                "the notice in two channels",
            )
            first, retried, second = posts[:3]
            assert first.params["channel"] == retried.params["channel"] == "CNOTICE"
            assert retried.at - first.at >= 0.95  # Retry-After: 1 honoured
            assert second.params["channel"] == "C0001"
            assert "jitsi_keep" in str(second.params["blocks"])

    run(scenario())


def test_resume_keeps_editing_the_saved_message(base: Settings) -> None:
    async def scenario() -> None:
        job = JobId("resumed1")
        pre = App(base)
        sink = pre.sink
        sink.emit(Event(EventKind.ACCEPTED, job, 0, "Starting requested by alice."))
        sink.emit(Event(EventKind.URL_READY, job, 1, "", None, {"url": "https://m.example/x"}))
        sink.emit(Event(EventKind.FINISHED, job, 2, "Platform running.", data={"ok": True}))
        ts = "1699999999.000001"
        target = {"channel": "C0001", "ts": ts, "kind": "start"}
        await pre.follower.save_target("slack", job, target)
        await pre.follower.aclose()

        fake = await FakeSlack().start()
        fake.messages[("C0001", ts)] = {"text": "old", "blocks": []}
        async with slack_bot(base, fake=fake) as bot:
            await fake.wait(lambda: fake.calls_to("chat.update"), 5, "the resumed edit")
            await fake.wait(
                lambda: fake.calls_to("chat.postMessage"), 5, "the details in the thread"
            )
            assert "https://m.example/x" in str(fake.messages[("C0001", ts)]["blocks"])
            assert fake.calls_to("chat.postMessage")[0].params["thread_ts"] == ts

            # The saved target goes once the final drawing is done, after the thread post.
            async def forgotten() -> bool:
                return await bot.host.follower.pending_targets("slack") == {}

            await until(forgotten, 5, "the finished job's target forgotten")

    run(scenario())


def test_socket_mode_acks_envelopes_and_never_logs_secrets(
    base: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)

    async def scenario() -> None:
        async with slack_bot(base, mode="socket") as bot:
            assert bot.fake.calls_to("apps.connections.open")[0].auth == f"Bearer {APP_TOKEN}"
            _, reply, took = await bot.slash("status")
            assert took < 3 and reply["response_type"] == "in_channel"
            _, usage, _ = await bot.slash("start two words")
            assert usage["response_type"] == "ephemeral" and "start two-words" in usage["text"]
            payload = fixture("block_actions_unknown") | {"response_url": bot.fake.response_url()}
            status, _ = await bot.click(payload)
            await bot.fake.wait(lambda: bot.fake.responses, 5, "the refusal")
            assert status == 200
            # An envelope bolt itself cannot read is acknowledged and dropped.
            empty = await bot.fake.deliver(
                "interactive", fixture("malformed_block_actions_no_actions")
            )
            assert empty["envelope_id"] and len(bot.fake.responses) == 1

    run(scenario())
    for secret in (BOT_TOKEN, APP_TOKEN, SIGNING_SECRET):
        assert secret not in caplog.text


def test_http_mode_needs_a_signing_secret(base: Settings) -> None:
    from adapters.slack.app import SlackAdapter, SlackConfigError
    from bot.config_chat import SlackSettings

    section = SlackSettings(bot_token=BOT_TOKEN, mode="http")
    with pytest.raises(SlackConfigError, match="slack_signing_secret"):
        SlackAdapter(App(base.model_copy(update={"slack": section})).chat_host())


def test_slow_core_is_acked_in_time_and_answered_by_response_url(
    base: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    import adapters.slack.app as slack_app

    monkeypatch.setattr(slack_app, "ACK_BUDGET_SECONDS", 0.1)

    async def scenario() -> None:
        async with slack_bot(base) as bot:
            release = asyncio.Event()
            handle = bot.host.handle

            async def slow(text: str, actor: Any) -> Any:
                await release.wait()  # the core answers only when the test says so
                return await handle(text, actor)

            bot.host.handle = slow  # type: ignore[method-assign]
            status, ack, took = await bot.slash("status")
            assert status == 200 and ack["text"] == "Working on it…" and took < 3
            assert not bot.fake.responses
            release.set()
            [answer] = await bot.fake.wait(lambda: bot.fake.responses, 5, "the late answer")
            assert answer["response_type"] == "in_channel" and "Platform:" in answer["text"]

    run(scenario())


URL = "https://m.example/standup"


async def running_meeting(app: App, job: JobId, ts: str, now: float | None = None) -> None:
    """A session running for 20 minutes (before ``now``, the real time by default) whose
    start job ended with its message at ``ts`` (a saved target), and the idle monitor's
    record after a reading of 0, just taken."""
    now = time.time() if now is None else now
    started = now - 1200
    app.store.save(PlatformStatus(state=PlatformState.RUNNING, url=URL, session_started_at=started))
    app.store.set_desired(DesiredState.RUNNING, actor_for("U0001", "C0001", "alice"))
    # The idle monitor's record after a reading of 0 (fixture: written by decide()).
    recorded = SessionWatch.from_json(json.dumps(fixture("session_watch_empty")))
    app.sessions.save(recorded.with_(session_started_at=started, last_read_at=now))
    app.sink.emit(Event(EventKind.ACCEPTED, job, 0, "Starting requested by alice."))
    app.sink.emit(Event(EventKind.URL_READY, job, 1, "", None, {"url": URL}))
    app.sink.emit(Event(EventKind.FINISHED, job, 2, "Platform running.", data={"ok": True}))
    await app.follower.save_target("slack", job, {"channel": "C0001", "ts": ts, "kind": "start"})


def stop_in(fake: FakeSlack, ts: str) -> dict[str, Any] | None:
    """The Stop button of the message at ``ts``, or None when it has none."""
    for block in fake.messages[("C0001", ts)]["blocks"] or []:
        for element in block.get("elements", []):
            if element.get("action_id") == "jitsi_stop":
                return element  # type: ignore[no-any-return]
    return None


def test_stop_confirmation_follows_the_monitors_last_reading(base: Settings) -> None:
    """A running session whose monitor last read 0: the final message's Stop is a plain
    confirmation; a reading of 2 redraws it red; App Home shows the count; a restarted
    adapter keeps watching the message; after a Stop click it is not redrawn any more."""

    async def scenario() -> None:
        url = URL
        job = JobId("occupancy1")
        ts = "1699999999.000002"
        app = App(base)
        await running_meeting(app, job, ts)

        def reading(count: int) -> None:
            app.sessions.update(
                lambda w: w and w.with_(last_participants=count, last_read_at=time.time())
            )

        fake = await FakeSlack().start()
        fake.messages[("C0001", ts)] = {"text": "old", "blocks": []}
        async with slack_bot(base, fake=fake, occupancy_interval=0.2) as bot:
            await fake.wait(lambda: fake.calls_to("chat.update"), 5, "the final edit")
            stop = stop_in(fake, ts)
            assert stop is not None and url in str(fake.messages[("C0001", ts)]["blocks"])
            assert "style" not in stop["confirm"] and "Nobody was" in str(stop["confirm"])
            # Kept as a target while watched (the host drops it when the job ends).
            targets = app.keys.render_targets("slack")
            await fake.wait(lambda: app.redis.hget(targets, job), 5, "the watched target")

            reading(2)  # the confirmation turns red, once
            await fake.wait(lambda: len(fake.calls_to("chat.update")) >= 2, 5, "the redraw")
            stop = stop_in(fake, ts)
            assert stop is not None and stop["confirm"]["style"] == "danger"
            assert "2 people are in the meeting" in str(stop["confirm"])
            occupancy = bot.adapter.occupancy
            checks = occupancy.checks
            # three more checks, no change: no more edits
            await fake.wait(lambda: occupancy.checks >= checks + 3, 5, "three more checks")
            assert len(fake.calls_to("chat.update")) == 2

            assert await bot.event(fixture("app_home_opened")) == 200
            [home] = await fake.wait(lambda: fake.calls_to("views.publish"), 5, "App Home")
            assert "2 in the meeting" in str(home.params["view"])
            message = fake.messages[("C0001", ts)]

        reading(0)  # read while the adapter was down
        fake = await FakeSlack().start()
        fake.messages[("C0001", ts)] = message
        async with slack_bot(base, fake=fake, occupancy_interval=0.2) as bot:
            await fake.wait(lambda: fake.calls_to("chat.update"), 5, "the resumed redraw")
            stop = stop_in(fake, ts)
            assert stop is not None and "style" not in stop["confirm"]
            assert not fake.calls_to("chat.postMessage")  # no second thread of details
            occupancy = bot.adapter.occupancy
            [(_, watcher)] = await fake.wait(
                lambda: list(occupancy.watching.values()), 5, "the resumed watcher"
            )

            # Stop clicked in that message: its buttons go and stay gone.
            await bot.click(stop_click(bot, ts))
            await fake.wait(lambda: bot.fake.responses, 5, "the answer to Stop")
            assert stop_in(fake, ts) is None
            assert "Stop requested by" in str(fake.messages[("C0001", ts)]["blocks"])
            assert ts not in occupancy.watching
            assert job not in await bot.host.follower.pending_targets("slack")
            # Its watcher has ended and none is left, so no new reading can redraw it.
            assert watcher.done() and not occupancy.watching
        await app.follower.aclose()

    run(scenario())


def test_a_reading_the_monitor_stopped_renewing_turns_stop_red_again(base: Settings) -> None:
    """The monitor read 0, then went quiet (stopped, or its chain broke): three of its
    checks later that reading vouches for nothing, and Stop is dangerous again."""
    clock = SkewedClock()  # the bot's wall time: the test ages the reading with it

    async def scenario() -> None:
        job, ts = JobId("stale1"), "1699999999.000003"
        app = App(base)
        await running_meeting(app, job, ts)
        fake = await FakeSlack().start()
        fake.messages[("C0001", ts)] = {"text": "old", "blocks": []}
        async with slack_bot(base, fake=fake, occupancy_interval=0.1, clock=clock) as bot:
            await fake.wait(lambda: fake.calls_to("chat.update"), 5, "the final edit")
            stop = stop_in(fake, ts)
            assert stop is not None and "style" not in stop["confirm"]
            # Nothing renews the reading: short of three of the monitor's checks it
            # still vouches for the count, past them it does not.
            max_age = STALE_AFTER_CHECKS * base.idle.check_seconds
            occupancy = bot.adapter.occupancy
            clock.skew = max_age - 1
            checks = occupancy.checks
            await fake.wait(lambda: occupancy.checks >= checks + 2, 5, "two rereads")
            assert len(fake.calls_to("chat.update")) == 1
            clock.skew = max_age + 1
            await fake.wait(lambda: len(fake.calls_to("chat.update")) >= 2, 10, "the redraw")
            stop = stop_in(fake, ts)
            assert stop is not None and stop["confirm"]["style"] == "danger"
            assert "People may still be in the meeting" in str(stop["confirm"])
        await app.follower.aclose()

    run(scenario())
