"""redis-py replies as typed text.

The clients are made without ``decode_responses`` (RQ needs bytes), so replies are
bytes; redis-py's hints also allow str and None. These turn a reply into what the
caller means, in one place, instead of ``.decode()`` at every call site.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any


def text(value: object) -> str:
    """A reply as text ('' for None)."""
    if value is None:
        return ""
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value).decode()
    return str(value)


def text_map(raw: Mapping[Any, Any] | None) -> dict[str, str]:
    """A hash (or a stream entry's fields) as text keys and values."""
    return {text(k): text(v) for k, v in (raw or {}).items()}


def entries(reply: Iterable[Any] | None) -> list[tuple[str, dict[str, str]]]:
    """XRANGE / XREVRANGE replies: (entry id, fields) pairs as text."""
    return [(text(entry_id), text_map(fields)) for entry_id, fields in (reply or [])]
