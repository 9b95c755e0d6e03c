"""No import cycle anywhere in ``hedgegridd``: every import counts (type-only, function-level)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1] / "hedgegridd"


def _name(path: Path) -> str:
    parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _graph() -> dict[str, set[str]]:
    """Module -> the hedgegridd modules it imports (``from pkg import mod`` names mod)."""
    modules = {_name(p): p for p in ROOT.rglob("*.py")}

    def known(name: str) -> str | None:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.stem == "__init__" else name.rpartition(".")[0]
        found: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    up = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*up, base] if base else up)
                # ``from pkg import mod`` imports mod; ``from mod import name`` imports mod
                subs = [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in modules]
                found.update(subs or [base])
        graph[name] = {m for m in map(known, found) if m and m != name}
    return graph


def test_no_import_cycle_in_the_package() -> None:
    """A depth-first walk of the whole import graph finds no cycle."""
    graph = _graph()
    assert len(graph) > 150
    assert "hedgegridd.control.protocol" in graph["hedgegridd.control.roundtrip"]
    state: dict[str, int] = {}

    def walk(node: str, stack: list[str]) -> None:
        state[node] = 1
        for dep in sorted(graph[node]):
            assert state.get(dep) != 1, "import cycle: " + " -> ".join([*stack, dep])
            if dep not in state:
                walk(dep, [*stack, dep])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            walk(module, [module])
