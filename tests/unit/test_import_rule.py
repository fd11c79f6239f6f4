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


PACKAGES = ("bot", "infra", "adapters")
ROOT = BOT.parent
# Each floor may import only the floors below it: adapters -> infra -> bot.
FLOOR = {"bot": 0, "infra": 1, "adapters": 2}


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def project_graph() -> dict[str, set[str]]:
    """Module -> the project modules it imports (anywhere in the file, functions too)."""
    modules = {module_name(p): p for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py"))}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        found: set[str] = set()
        for imported in imported_modules(path):
            # "from infra import jobs" names the module infra.jobs, not the package.
            candidates = [imported, *(f"{imported}.{n}" for n in _imported_names(path, imported))]
            found.update(c for c in candidates if c in modules and c != name)
        graph[name] = found
    return graph


def _imported_names(path: Path, module: str) -> list[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    return [
        alias.name
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.module == module and node.level == 0
        for alias in node.names
    ]


def test_imports_run_one_way_down_the_floors() -> None:
    offenders = [
        f"{src} imports {dst}"
        for src, targets in project_graph().items()
        for dst in targets
        if FLOOR[dst.split(".")[0]] > FLOOR[src.split(".")[0]]
    ]
    assert not offenders, "\n".join(offenders)


def find_circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Every circle a depth-first walk meets, as the path that closes it."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    circles: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(graph.get(node, set())):
            if state.get(nxt) == 1:
                circles.append([*path[path.index(nxt) :], nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for start in sorted(graph):
        if start not in state:
            visit(start, [start])
    return circles


def test_no_import_circle() -> None:
    circles = find_circles(project_graph())
    assert not circles, "\n".join(" -> ".join(c) for c in circles)


def test_the_checks_see_a_circle_and_an_upward_import() -> None:
    assert find_circles({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == [["a", "b", "c", "a"]]
    assert find_circles({"a": {"b"}, "b": set()}) == []
    graph = project_graph()
    assert "infra.jobs" in graph["adapters.wiring_stores"]  # "from infra import jobs" is seen
    assert "bot.ports" in graph["bot.lifecycle"] or "bot.job" in graph["bot.lifecycle"]
