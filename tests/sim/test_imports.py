"""The simulator's modules import each other without cycles (runtime imports)."""

from __future__ import annotations

import ast
from pathlib import Path

SIM = Path(__file__).resolve().parents[2] / "hedgegridd" / "sim"


def _module(path: Path) -> str:
    return "hedgegridd.sim" if path.stem == "__init__" else f"hedgegridd.sim.{path.stem}"


def _runtime_imports(path: Path) -> set[str]:
    """hedgegridd.sim modules imported outside ``if TYPE_CHECKING:`` blocks."""
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            if node.module == "hedgegridd.sim":
                found.update(f"hedgegridd.sim.{a.name}" for a in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(path.read_text()))
    return {m for m in found if m.startswith("hedgegridd.sim")} - {_module(path)}


def test_no_runtime_import_cycle_in_the_simulator() -> None:
    """A depth-first walk of the runtime import graph finds no cycle."""
    graph = {_module(p): _runtime_imports(p) for p in SIM.glob("*.py")}
    assert len(graph) > 10
    state: dict[str, int] = {}

    def walk(node: str, stack: list[str]) -> None:
        state[node] = 1
        for dep in sorted(graph.get(node, ())):
            assert state.get(dep) != 1, "import cycle: " + " -> ".join([*stack, dep])
            if dep in graph and dep not in state:
                walk(dep, [*stack, dep])
        state[node] = 2

    for module in sorted(graph):
        if module not in state:
            walk(module, [module])
