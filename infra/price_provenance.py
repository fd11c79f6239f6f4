"""Where each price of a bundled snapshot comes from: its public sources and their dates.

A snapshot written by hand (no Price List API where it was made) says, per price,
whether a public source confirms it. Two optional keys beside the prices:

- ``sources``: ``{id: {"ref": url or repository path, "date": "YYYY-MM-DD", "what": ...}}``,
  each source once, with the date of the version read (publication, commit or page date);
- ``provenance``: ``{price key: {"status": ..., "sources": [id, ...], "note": ...}}`` with
  status ``verified`` (a source gives this figure), ``corrected`` (a source gave another
  figure, which replaced the transcribed one) or ``unverified`` (no source found: the
  figure is the transcription, and the note says what is known).

A document without them (the API's, or an older snapshot) is valid: its prices then
carry the document's single ``source``. One that has them must name every source it
uses, give a date for each, and say why a price is unverified.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Check(StrEnum):
    VERIFIED = "verified"
    CORRECTED = "corrected"
    UNVERIFIED = "unverified"


@dataclass(frozen=True, slots=True)
class SourceRef:
    id: str
    ref: str  # a URL, or "github.com/<owner>/<repo>@<commit>: <path>"
    date: str  # YYYY-MM-DD of the version read
    what: str = ""

    def cite(self) -> str:
        return f"{self.ref} ({self.date})"


@dataclass(frozen=True, slots=True)
class PriceProvenance:
    status: Check
    sources: tuple[SourceRef, ...] = ()
    note: str = ""


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _text(value: object, where: str, *, required: bool = True) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise ValueError(f"{where} must be a non-empty string")
    return value


def parse_sources(raw: object) -> dict[str, SourceRef]:
    """The ``sources`` object of a snapshot; raises ``ValueError`` naming the bad entry."""
    if not isinstance(raw, Mapping):
        raise ValueError("'sources' must be an object of source id -> {ref, date}")
    found: dict[str, SourceRef] = {}
    for sid, entry in raw.items():
        where = f"sources[{sid!r}]"
        if not isinstance(entry, Mapping):
            raise ValueError(f"{where} must be an object with 'ref' and 'date'")
        date = _text(entry.get("date"), f"{where}.date")
        if not _DATE.match(date):
            raise ValueError(f"{where}.date must be YYYY-MM-DD, not {date!r}")
        found[str(sid)] = SourceRef(
            id=str(sid),
            ref=_text(entry.get("ref"), f"{where}.ref"),
            date=date,
            what=_text(entry.get("what"), f"{where}.what", required=False),
        )
    return found


def parse_provenance(
    data: Mapping[str, Any], price_keys: Iterable[str]
) -> dict[str, PriceProvenance]:
    """Each price's provenance, or ``{}`` when the document has none. Raises
    ``ValueError`` when it has some that is incomplete or names an unknown source."""
    if "provenance" not in data and "sources" not in data:
        return {}
    sources = parse_sources(data.get("sources", {}))
    raw = data.get("provenance")
    if not isinstance(raw, Mapping):
        raise ValueError("'provenance' must be an object of price key -> {status, sources}")
    keys = set(price_keys)
    unknown = sorted(set(raw) - keys)
    if unknown:
        raise ValueError(f"'provenance' names prices the table does not have: {unknown}")
    missing = sorted(keys - set(raw))
    if missing:
        raise ValueError(f"'provenance' says nothing about {missing}")
    result: dict[str, PriceProvenance] = {}
    for key, entry in raw.items():
        where = f"provenance[{key!r}]"
        if not isinstance(entry, Mapping):
            raise ValueError(f"{where} must be an object with 'status'")
        try:
            status = Check(str(entry.get("status")))
        except ValueError:
            allowed = ", ".join(c.value for c in Check)
            raise ValueError(f"{where}.status must be one of {allowed}") from None
        ids = entry.get("sources", [])
        if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
            raise ValueError(f"{where}.sources must be a list of source ids")
        absent = [i for i in ids if i not in sources]
        if absent:
            raise ValueError(f"{where} cites unknown sources {absent}")
        note = _text(entry.get("note"), f"{where}.note", required=False)
        if status is Check.UNVERIFIED and not note.strip():
            raise ValueError(f"{where} is unverified and must say why in 'note'")
        if status is not Check.UNVERIFIED and not ids:
            raise ValueError(f"{where} is {status.value} and must cite a source")
        result[str(key)] = PriceProvenance(status, tuple(sources[i] for i in ids), note)
    return result
