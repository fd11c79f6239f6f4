"""Everything a run left where people and programs can read it, as text, to search for
secrets: every Redis key of every type (streams included; RQ's compressed job data
unpacked), and files such as process logs."""

from __future__ import annotations

import contextlib
import zlib
from collections.abc import Iterable
from pathlib import Path

import redis


def _text(value: object) -> str:
    if isinstance(value, bytes):
        with contextlib.suppress(zlib.error):
            value = zlib.decompress(value)  # RQ keeps job data zlib-compressed
        return value.decode("utf-8", "replace")  # type: ignore[union-attr]
    return str(value)


def redis_dump(url: str) -> str:
    """Every key and value in the Redis at ``url``, one per line."""
    r = redis.Redis.from_url(url)
    out: list[str] = []
    for key in r.scan_iter(count=1000):
        kind = _text(r.type(key))
        values: Iterable[object]
        if kind == "string":
            values = [r.get(key)]
        elif kind == "hash":
            values = [x for kv in r.hgetall(key).items() for x in kv]
        elif kind == "list":
            values = r.lrange(key, 0, -1)
        elif kind == "set":
            values = r.smembers(key)
        elif kind == "zset":
            values = r.zrange(key, 0, -1)
        elif kind == "stream":
            values = [x for _, fields in r.xrange(key) for kv in fields.items() for x in kv]
        else:
            values = []
        out.append(f"{_text(key)} ({kind}): " + " ".join(_text(v) for v in values))
    r.close()
    return "\n".join(out)


def files_text(paths: Iterable[Path]) -> str:
    return "\n".join(p.read_text(errors="replace") for p in paths if p.is_file())


def assert_absent(secrets: Iterable[str], **places: str) -> None:
    """None of ``secrets`` (tokens, the app secret) occurs in any of ``places``."""
    for secret in secrets:
        assert secret, "an empty secret proves nothing"
        for name, text in places.items():
            assert secret not in text, f"a secret was found in {name}"
