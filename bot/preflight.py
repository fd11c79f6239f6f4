"""The prerequisites of a start, judged: which findings block it, what to tell the user,
and whether a certificate name covers the meeting domain. Pure: the checks themselves
are a ``Preflight`` port (``infra/aws/preflight.py``)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from bot.errors import PrerequisiteMissing
from bot.model import Finding


def blocking(findings: Iterable[Finding]) -> list[Finding]:
    """The findings that stop a start from succeeding."""
    return [f for f in findings if not f.ok and f.blocking]


def describe(finding: Finding) -> str:
    """One line for a person: the check, what was found and, when not ok, the fix."""
    text = f"{finding.check}: {finding.detail}"
    return f"{text} Fix: {finding.fix}" if finding.fix and not finding.ok else text


def refusal(findings: Sequence[Finding]) -> PrerequisiteMissing | None:
    """The error a start raises before touching anything, or None when nothing blocks."""
    missing = blocking(findings)
    if not missing:
        return None
    names = ", ".join(f.check for f in missing)
    lines = "\n".join(f"- {describe(f)}" for f in missing)
    return PrerequisiteMissing(
        f"Cannot start: missing {names}.\n{lines}",
        "`jitsi-bot doctor` checks every prerequisite.",
    )


def require(findings: Sequence[Finding]) -> None:
    """Raise ``PrerequisiteMissing`` when any finding blocks a start."""
    error = refusal(findings)
    if error is not None:
        raise error


def _host(name: str) -> str:
    return name.strip().lower().rstrip(".")


def covers(name: str, domain: str) -> bool:
    """Whether a certificate name (``meet.example.com`` or ``*.example.com``) is valid for
    ``domain``. A wildcard stands for exactly one leftmost label (RFC 6125 6.4.3, as
    browsers apply it): ``*.example.com`` covers ``meet.example.com``, neither
    ``example.com`` nor ``a.meet.example.com``."""
    pattern, host = _host(name), _host(domain)
    if not pattern.startswith("*."):
        return pattern == host
    first, _, rest = host.partition(".")
    return bool(first) and bool(rest) and rest == pattern[2:]


def zone_serves(zone_name: str, domain: str) -> bool:
    """Whether a hosted zone named ``zone_name`` can hold the record of ``domain``."""
    zone, host = _host(zone_name), _host(domain)
    return host == zone or host.endswith("." + zone)
