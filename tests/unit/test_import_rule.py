"""House rule 1: the core bot/ does no I/O and imports no SDK, client or subprocess."""

from __future__ import annotations

import ast
from pathlib import Path

FORBIDDEN = {
    "slack_bolt",
    "slack_sdk",
    "nio",
    "redis",
    "rq",
    "boto3",
    "botocore",
    "subprocess",
    "requests",
    "httpx",
    "aiohttp",
    "socket",
    "urllib.request",
    "adapters",
    "infra",
}
BOT = Path(__file__).resolve().parents[2] / "bot"


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_bot_imports_nothing_forbidden() -> None:
    offenders = []
    for path in sorted(BOT.rglob("*.py")):
        for name in imported_modules(path):
            if any(name == f or name.startswith(f + ".") for f in FORBIDDEN):
                offenders.append(f"{path.relative_to(BOT.parent)} imports {name}")
    assert not offenders, "\n".join(offenders)


def test_the_rule_catches_a_violation(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import boto3\nfrom redis import Redis\n")
    assert {"boto3", "redis"} <= imported_modules(bad)
