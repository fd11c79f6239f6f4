"""``jitsi-bot doctor``: print every prerequisite of a start, what was found and how to
fix it; exit 0 only when a start can succeed (no blocking finding)."""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence

from rich.console import Console
from rich.markup import escape

from adapters.console.app import EXIT_FAILED, EXIT_OK
from bot.model import Finding
from bot.preflight import blocking


def report(findings: Sequence[Finding]) -> dict[str, object]:
    """The JSON document of ``doctor --json``."""
    return {
        "ok": not blocking(findings),
        "findings": [
            {
                "check": f.check,
                "ok": f.ok,
                "blocking": f.blocking and not f.ok,
                "detail": f.detail,
                "fix": f.fix if not f.ok else "",
            }
            for f in findings
        ],
    }


def _mark(finding: Finding) -> str:
    if finding.ok:
        return "[green]ok[/]     "
    return "[red]missing[/]" if finding.blocking else "[yellow]warning[/]"


def doctor(findings: Sequence[Finding], as_json: bool) -> int:
    """Print the findings; the exit code says whether a start can succeed."""
    missing = blocking(findings)
    if as_json:
        print(json.dumps(report(findings), indent=2))
        return EXIT_FAILED if missing else EXIT_OK
    console = Console(soft_wrap=not sys.stdout.isatty(), highlight=False)
    for f in findings:
        console.print(f"{_mark(f)} [bold]{escape(f.check)}[/]: {escape(f.detail)}")
        if f.fix and not f.ok:
            console.print(f"        fix: {escape(f.fix)}")
    if missing:
        console.print(
            f"[bold red]A start would fail:[/] {len(missing)} prerequisite(s) missing "
            f"({', '.join(f.check for f in missing)})."
        )
        return EXIT_FAILED
    console.print("[bold green]A start can succeed.[/]")
    return EXIT_OK
