"""Building the one ``Settings`` object: JITSI_* env > config.json > defaults.

Every value remembers where it came from, so a validation error names the key
and its source ("JITSI_AWS_REGION (environment)", "aws_region in /x/config.json").
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from bot.config import Settings
from bot.errors import BotError

ENV_PREFIX = "JITSI_"
CONFIG_ENV = "JITSI_CONFIG"
DEFAULT_CONFIG = Path("..") / "jitsi-ops" / "config.json"
# JSON-typed keys: lists and mappings arrive from the environment as JSON text.
_JSON_KEYS = {"allowed_users"}


class ConfigError(BotError):
    """The configuration is unusable; the message names the key and its source."""


def _config_path(env: Mapping[str, str]) -> tuple[Path | None, bool]:
    if env.get(CONFIG_ENV):
        return Path(env[CONFIG_ENV]), True
    return (DEFAULT_CONFIG, False) if DEFAULT_CONFIG.is_file() else (None, False)


def _read_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"Cannot read config file {path}: {exc.strerror}.",
            f"Fix {CONFIG_ENV} or create the file.",
        ) from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(
            f"{path} is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}."
        ) from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a JSON object of keys, not {type(data).__name__}.")
    return data


def load_settings(env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Read env and file once; raise ``ConfigError`` naming the bad key and its source."""
    env = os.environ if env is None else env
    known = set(Settings.model_fields)
    values: dict[str, Any] = {}
    origin: dict[str, str] = {}

    path, explicit = _config_path(env)
    if path is not None:
        if explicit and not path.is_file():
            raise ConfigError(f"Config file {path} (from {CONFIG_ENV}) does not exist.")
        for key, value in _read_file(path).items():
            if key not in known:
                raise ConfigError(f"Unknown key {key!r} in {path}.", _did_you_mean(key, known))
            values[key], origin[key] = value, f"{key} in {path}"

    for name, raw in env.items():
        if not name.startswith(ENV_PREFIX) or name == CONFIG_ENV:
            continue
        key = name[len(ENV_PREFIX) :].lower()
        if key not in known:
            raise ConfigError(
                f"Unknown environment variable {name}.",
                _did_you_mean(key, known, prefix=ENV_PREFIX),
            )
        value: Any = raw
        if key in _JSON_KEYS:
            try:
                value = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise ConfigError(f"{name} (environment) must be JSON: {exc.msg}.") from exc
        values[key], origin[key] = value, f"{name} (environment)"

    for key, value in overrides.items():
        if value is not None:
            values[key], origin[key] = value, f"--{key.replace('_', '-')} (command line)"

    try:
        return Settings(**values)
    except ValidationError as exc:
        raise ConfigError(_explain(exc, origin)) from None


def _explain(exc: ValidationError, origin: Mapping[str, str]) -> str:
    problems = []
    for err in exc.errors(include_url=False, include_input=False):
        key = str(err["loc"][0]) if err["loc"] else "configuration"
        where = origin.get(key, f"{key} (default)")
        # Pydantic's messages can echo the input; secrets never reach them
        # because validators build their own redacted messages.
        message = str(err["msg"]).removeprefix("Value error, ")
        problems.append(f"{where}: {message}")
    return "Invalid configuration:\n  " + "\n  ".join(problems)


def _did_you_mean(key: str, known: set[str], prefix: str = "") -> str:
    import difflib

    close = difflib.get_close_matches(key, sorted(known), n=1)
    if not close:
        return "See docs/configuration.md for the keys."
    return f"Did you mean {prefix}{close[0].upper() if prefix else close[0]}?"
