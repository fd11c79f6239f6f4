"""``jitsi-bot audit export``: the audit log as JSON lines, oldest first, streamed."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TextIO

from bot.audit import AuditEntry

_DURATION = re.compile(r"^([0-9]{1,6})([smhdw])$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 7 * 86_400}


def since_of(text: str, now: float) -> float:
    """``--since``: an ISO 8601 time (no zone: UTC) or a duration back from ``now``
    (``90m``, ``12h``, ``7d``, ``2w``), as epoch seconds. Raises ``ValueError`` saying
    what is accepted."""
    value = text.strip()
    match = _DURATION.match(value.lower())
    if match:
        return now - int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        shown = value[:40].encode("unicode_escape").decode()
        raise ValueError(
            f"{shown!r} is neither an ISO 8601 time (2026-11-30, 2026-11-30T18:00:00Z) "
            "nor a duration (90m, 12h, 7d, 2w)"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def since_arg(text: str) -> float:
    """argparse's ``type`` for ``--since`` (a bad value exits 2 with the reason)."""
    try:
        return since_of(text, time.time())
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def write_lines(entries: Iterable[AuditEntry], out: TextIO) -> int:
    """One JSON object per line, written as the entries are read; returns the count."""
    count = 0
    for entry in entries:
        out.write(json.dumps(entry.as_json(), ensure_ascii=False, separators=(",", ":")))
        out.write("\n")
        count += 1
    return count


def export(entries: Iterable[AuditEntry], output: str | None) -> int:
    """Write ``entries`` to ``output`` (None or ``-``: standard output). A file is
    written beside itself and renamed when complete, so a file at ``output`` is never
    a partial export. Returns the number of entries written."""
    if output in (None, "-"):
        count = write_lines(entries, sys.stdout)
        sys.stdout.flush()
        return count
    assert output is not None
    partial = f"{output}.part"
    try:
        with open(partial, "w", encoding="utf-8") as out:
            count = write_lines(entries, out)
        os.replace(partial, output)
    except BaseException:
        if os.path.exists(partial):
            os.unlink(partial)
        raise
    return count
