"""Log lines: JSON one object per line, and no secret the settings hold in any format."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from bot.config import LogFormat, Settings
from bot.config_chat import MatrixSettings, SlackSettings
from infra.logs import JsonFormatter, RedactingFormatter, Redactor, job_logging, secrets_of

REDIS_PASSWORD = "s3cret-redis-pw"
BOT_TOKEN = "xoxb-1111-2222-abcdefABCDEF"
APP_TOKEN = "xapp-1-A111-2222-abcdef"
SIGNING = "0123456789abcdef0123456789abcdef"
MATRIX_PASSWORD = "correct horse battery"


@pytest.fixture
def settings() -> Settings:
    return Settings(
        redis_url=f"redis://default:{REDIS_PASSWORD}@redis:6379/0",
        slack=SlackSettings(bot_token=BOT_TOKEN, app_token=APP_TOKEN, signing_secret=SIGNING),
        matrix=MatrixSettings(
            homeserver="https://matrix.example.org",
            user_id="@bot:example.org",
            password=MATRIX_PASSWORD,
        ),
        log_format=LogFormat.JSON,
    )


@contextmanager
def _capture(formatter: logging.Formatter) -> Iterator[tuple[logging.Logger, io.StringIO]]:
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(formatter)
    logger = logging.getLogger("jitsi.test-logs")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    try:
        yield logger, out
    finally:
        logger.removeHandler(handler)


def _leaky_line(logger: logging.Logger, settings: Settings) -> None:
    logger.warning(
        "connecting to %s with %s and %s, signing %s, matrix password %s",
        settings.redis_dsn,
        BOT_TOKEN,
        APP_TOKEN,
        SIGNING,
        MATRIX_PASSWORD,
    )
    try:
        raise ConnectionError(f"redis://u:{REDIS_PASSWORD}@h:1/0 refused (token {BOT_TOKEN})")
    except ConnectionError:
        logger.exception("lost %s", "redis")


SECRETS = (REDIS_PASSWORD, BOT_TOKEN, APP_TOKEN, SIGNING, MATRIX_PASSWORD)


def test_json_lines_parse_and_carry_no_secret(settings: Settings) -> None:
    with _capture(JsonFormatter(Redactor(secrets_of(settings)))) as (logger, out):
        _leaky_line(logger, settings)
        with job_logging("job-42"):
            logger.info("inside a job")
        logger.info("given", extra={"job_id": "job-7"})
    text = out.getvalue()
    for secret in SECRETS:
        assert secret not in text
    records = [json.loads(line) for line in text.splitlines()]
    assert len(records) == 4
    for r in records:
        assert {"time", "level", "logger", "message"} <= set(r)
        assert r["logger"] == "jitsi.test-logs"
    assert records[0]["level"] == "WARNING" and "redis://default:***@redis" in records[0]["message"]
    assert "job_id" not in records[0]
    assert "Traceback" in records[1]["exception"] and "***" in records[1]["exception"]
    assert records[2]["job_id"] == "job-42" and records[3]["job_id"] == "job-7"
    assert records[0]["time"].endswith("+00:00")


def test_text_lines_are_redacted_too(settings: Settings) -> None:
    with _capture(RedactingFormatter(Redactor(secrets_of(settings)))) as (logger, out):
        _leaky_line(logger, settings)
    text = out.getvalue()
    assert "WARNING jitsi.test-logs: connecting to redis://default:***@redis:6379/0" in text
    for secret in SECRETS:
        assert secret not in text


def test_unknown_slack_tokens_and_url_passwords_are_masked() -> None:
    redact = Redactor([])
    assert redact("token xoxp-9-9-zzz and xoxe.x") == "token *** and xoxe.x"
    assert redact("https://bob:pw@example.org/x") == "https://bob:***@example.org/x"
    assert redact("no secret here") == "no secret here"
