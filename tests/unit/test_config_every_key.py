"""Every configuration key refuses a malformed value, naming the key and its source."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, get_args, get_origin

import pytest
from pydantic import BaseModel

from bot.config import Settings
from infra.settings import ConfigError, load_settings


def _bad_value(annotation: Any) -> Any:
    """A value of the wrong shape for ``annotation``."""
    origin = get_origin(annotation)
    if origin in (list, dict):
        return 12345
    args = [a for a in get_args(annotation) if a is not type(None)]
    if args and origin is not None:
        return _bad_value(args[0])
    if annotation is bool:
        return "maybe"
    if annotation in (int, float):
        return "lots"
    return ["not", "a", "scalar"]  # strings, secrets, enums, literals


def _keys() -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for name, field in Settings.model_fields.items():
        models = [
            a
            for a in (field.annotation, *get_args(field.annotation))
            if isinstance(a, type) and issubclass(a, BaseModel)
        ]
        if models:
            out += [(f"{name}_{sub}", f.annotation) for sub, f in models[0].model_fields.items()]
        else:
            out.append((name, field.annotation))
    return out


@pytest.mark.parametrize(("key", "annotation"), _keys(), ids=[k for k, _ in _keys()])
def test_every_key_rejects_a_malformed_value(tmp_path: Path, key: str, annotation: Any) -> None:
    path = tmp_path / "config.json"
    path.write_text(json.dumps({key: _bad_value(annotation)}))
    with pytest.raises(ConfigError) as err:
        load_settings({"JITSI_CONFIG": str(path)})
    message = err.value.user_message()
    assert str(path) in message
    section, _, field = key.partition("_")
    assert key in message or f"{section}.{field}" in message, message
