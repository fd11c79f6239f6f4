"""Building the one ``Settings`` object: JITSI_* env > config.json > defaults.

Every value remembers where it came from, so a validation error names the key
and its source ("JITSI_AWS_REGION (environment)", "aws_region in /x/config.json").
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, get_args, get_origin

from pydantic import BaseModel, ValidationError

from bot.config import Settings
from bot.errors import BotError

ENV_PREFIX = "JITSI_"
CONFIG_ENV = "JITSI_CONFIG"
DEFAULT_CONFIG = Path("..") / "jitsi-ops" / "config.json"


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


def _sections() -> dict[str, type[BaseModel]]:
    """Nested section fields of ``Settings`` (e.g. ``slack``) and their models."""
    out: dict[str, type[BaseModel]] = {}
    for name, field in Settings.model_fields.items():
        for arg in (field.annotation, *get_args(field.annotation)):
            if isinstance(arg, type) and issubclass(arg, BaseModel):
                out[name] = arg
    return out


def _wants_json(annotation: Any) -> bool:
    """Lists and mappings arrive from the environment as JSON text."""
    return any(get_origin(a) in (list, dict) for a in (annotation, *get_args(annotation)))


class _Collected:
    """Values with where each came from; nested sections as dicts."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self.origin: dict[str, str] = {}
        self.sections = _sections()
        self.known = set(Settings.model_fields)

    def resolve(self, key: str) -> tuple[str, str | None, Any] | None:
        """(section or key, nested field or None, annotation); None when unknown."""
        if key in self.known and key not in self.sections:
            return key, None, Settings.model_fields[key].annotation
        if key in self.sections and "enabled" in self.sections[key].model_fields:
            # ``jwt: off`` / ``JITSI_JWT=off``: a section with a switch, given as the switch.
            return key, "enabled", bool
        for section, model in self.sections.items():
            field = key.removeprefix(f"{section}_")
            if key.startswith(f"{section}_") and field in model.model_fields:
                return section, field, model.model_fields[field].annotation
        return None

    def put(self, key: str, value: Any, where: str, unknown: str) -> None:
        if key in self.sections and value is None:  # "slack": null switches it off
            self.values[key], self.origin[key] = None, where
            return
        if key in self.sections and isinstance(value, dict):  # {"slack": {...}}
            for field, inner in value.items():
                dotted = f"{key}.{field}"
                self.put(
                    f"{key}_{field}",
                    inner,
                    where.replace(key, dotted, 1),
                    unknown.replace(f"'{key}'", f"'{dotted}'", 1),
                )
            return
        target = self.resolve(key)
        if target is None:
            raise ConfigError(unknown, self.suggest(key))
        top, nested, _ = target
        if nested is None:
            self.values[top], self.origin[top] = value, where
        else:
            self.values.setdefault(top, {})[nested] = value
            self.origin[f"{top}.{nested}"] = where

    def suggest(self, key: str, prefix: str = "") -> str:
        names = set(self.known - set(self.sections))
        for section, model in self.sections.items():
            names |= {f"{section}_{f}" for f in model.model_fields}
        return _did_you_mean(key, names, prefix)


def load_settings(env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
    """Read env and file once; raise ``ConfigError`` naming the bad key and its source."""
    env = os.environ if env is None else env
    got = _Collected()

    path, explicit = _config_path(env)
    if path is not None:
        if explicit and not path.is_file():
            raise ConfigError(f"Config file {path} (from {CONFIG_ENV}) does not exist.")
        for key, from_file in _read_file(path).items():
            got.put(key, from_file, f"{key} in {path}", f"Unknown key {key!r} in {path}.")

    for name, raw in env.items():
        if not name.startswith(ENV_PREFIX) or name == CONFIG_ENV:
            continue
        key = name[len(ENV_PREFIX) :].lower()
        target = got.resolve(key)
        if target is None:
            raise ConfigError(
                f"Unknown environment variable {name}.", got.suggest(key, prefix=ENV_PREFIX)
            )
        value: Any = raw
        if _wants_json(target[2]):
            try:
                value = json.loads(raw)
            except json.JSONDecodeError as exc:
                raise ConfigError(f"{name} (environment) must be JSON: {exc.msg}.") from exc
        got.put(key, value, f"{name} (environment)", f"Unknown environment variable {name}.")

    for key, value in overrides.items():
        if value is not None:
            got.put(key, value, f"--{key.replace('_', '-')} (command line)", f"Unknown {key}")

    try:
        return Settings(**got.values)
    except ValidationError as exc:
        raise ConfigError(_explain(exc, got.origin)) from None


def _explain(exc: ValidationError, origin: Mapping[str, str]) -> str:
    problems = []
    for err in exc.errors(include_url=False, include_input=False):
        loc = [str(x) for x in err["loc"]]
        key = ".".join(loc[:2]) if loc else "configuration"
        where = origin.get(key) or origin.get(loc[0] if loc else "", f"{key} (default)")
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
