"""Log lines of the long-running processes: text for people or one JSON object per line
for log shippers (``log_format``), both with secrets redacted.

Redaction works on the finished text, so no code path (a library's message, an
exception's repr, a URL in a traceback) can leak a secret the settings hold: each
secret value is replaced by ``***``, and so is any URL password and anything shaped
like a Slack token, known or not.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime

from pydantic import BaseModel, SecretStr
from rq import get_current_job

from bot.config import LogFormat, Settings

MASK = "***"
# scheme://user:password@host -> scheme://user:***@host, for any scheme.
_URL_PASSWORD = re.compile(r"(?P<head>[a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@\s/]+(?=@)", re.I)
# Slack tokens (bot, user, app-level, refresh, config): xoxb-..., xapp-...
_SLACK_TOKEN = re.compile(r"\bx(?:ox[abposre]|app)-[A-Za-z0-9-]+")
TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def secrets_of(settings: BaseModel) -> list[str]:
    """Every secret value the settings hold (SecretStr fields, nested sections, and the
    Redis URL's password)."""
    found: list[str] = []
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if isinstance(settings, Settings) and name == "redis_url":
            continue  # only its password is secret (below): the host helps a reader
        if isinstance(value, SecretStr):
            found.append(value.get_secret_value())
        elif isinstance(value, BaseModel):
            found.extend(secrets_of(value))
    if isinstance(settings, Settings):
        match = _URL_PASSWORD.search(settings.redis_dsn)
        if match:
            found.append(
                settings.redis_dsn[match.end() : settings.redis_dsn.index("@", match.end())]
            )
    # Longest first, so a secret that contains another is masked whole.
    return sorted({s for s in found if len(s) >= 4}, key=len, reverse=True)


class Redactor:
    def __init__(self, secrets: Iterable[str]) -> None:
        self.secrets = list(secrets)

    def __call__(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, MASK)
        text = _URL_PASSWORD.sub(lambda m: m.group("head") + MASK, text)
        return _SLACK_TOKEN.sub(MASK, text)


# The job the worker is executing: set around RQ's execute_job, so the worker's own
# lines about it and those of the work horse it forks (which inherits it) carry its id.
_CURRENT_JOB: ContextVar[str | None] = ContextVar("jitsi_current_job", default=None)


@contextmanager
def job_logging(job_id: str) -> Iterator[None]:
    """Log lines within the body name ``job_id``."""
    token = _CURRENT_JOB.set(job_id)
    try:
        yield
    finally:
        _CURRENT_JOB.reset(token)


def job_id_of(record: logging.LogRecord) -> str | None:
    """The job a record belongs to: one given with ``extra={"job_id": ...}``, else the
    job being executed (``job_logging``), else RQ's job of this work horse."""
    given = getattr(record, "job_id", None) or _CURRENT_JOB.get()
    if given:
        return str(given)
    job = get_current_job()
    return job.id if job is not None else None


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC, ISO 8601), level, logger, message, job_id
    (when there is one) and exception (the formatted traceback, when there is one)."""

    def __init__(self, redact: Redactor) -> None:
        super().__init__()
        self.redact = redact

    def format(self, record: logging.LogRecord) -> str:
        body: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": self.redact(record.getMessage()),
        }
        job_id = job_id_of(record)
        if job_id:
            body["job_id"] = job_id
        if record.exc_info:
            body["exception"] = self.redact(self.formatException(record.exc_info))
        return json.dumps(body, ensure_ascii=False)


class RedactingFormatter(logging.Formatter):
    """The text format, redacted the same way."""

    def __init__(self, redact: Redactor) -> None:
        super().__init__(TEXT_FORMAT)
        self.redact = redact

    def format(self, record: logging.LogRecord) -> str:
        return self.redact(super().format(record))


def configure_logging(settings: Settings, level: int) -> None:
    """Replace the root handlers with one on stderr in the configured format."""
    redact = Redactor(secrets_of(settings))
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        JsonFormatter(redact)
        if settings.log_format is LogFormat.JSON
        else RedactingFormatter(redact)
    )
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
