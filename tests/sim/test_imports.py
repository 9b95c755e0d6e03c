"""The simulator's modules import one way: surface -> market state -> engine, no cycles.

Every import counts, ``if TYPE_CHECKING:`` blocks and function-level imports too.
"""

from __future__ import annotations

import ast
from pathlib import Path

SIM = Path(__file__).resolve().parents[2] / "hedgegridd" / "sim"
PKG = "hedgegridd.sim"
# The matching engine and the account: they know nothing of markets, clocks or HTTP.
ENGINE_LAYER = {"account", "algos", "checks", "engine", "events", "ledger", "matching", "orders"}
# Above the engine: one symbol's market state and the account's serialized operations.
MARKET_LAYER = {"venue", "ticker", "director", "shaper", "klines", "clock", "symbol_market"}
# The composition root; only the package and the CLI may import it.
ROOT = "exchange"


def _module(path: Path) -> str:
    return PKG if path.stem == "__init__" else f"{PKG}.{path.stem}"


def _imports(path: Path) -> set[str]:
    """hedgegridd.sim modules ``path`` imports anywhere (type-only imports included)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            found.add(node.module)
            if node.module == PKG:
                found.update(f"{PKG}.{a.name}" for a in node.names)
    return {m for m in found if m.startswith(f"{PKG}.")} - {_module(path)}


def _graph() -> dict[str, set[str]]:
    return {_module(p): _imports(p) for p in SIM.glob("*.py")}


def _short(name: str) -> str:
    return name.removeprefix(f"{PKG}.") if name != PKG else "__init__"


def test_no_import_cycle_in_the_simulator() -> None:
    """A depth-first walk of the whole import graph (type-only imports too) finds no cycle."""
    graph = _graph()
    assert len(graph) > 20
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


def test_only_the_package_and_the_cli_import_the_exchange() -> None:
    """ticker, views, control, rest... take narrow objects or protocols, never SimExchange."""
    importers = {_short(m) for m, deps in _graph().items() if f"{PKG}.{ROOT}" in deps}
    assert importers <= {"__init__", "cli"}


def test_engine_and_market_layers_import_downwards_only() -> None:
    """The engine layer imports no market or surface module; the market layer no surface one."""
    graph = {_short(m): {_short(d) for d in deps} for m, deps in _graph().items()}
    assert set(graph) >= ENGINE_LAYER | MARKET_LAYER
    surface = set(graph) - ENGINE_LAYER - MARKET_LAYER
    for module in ENGINE_LAYER:
        assert not graph[module] & (MARKET_LAYER | surface - {"rules", "faults", "config"}), module
    allowed = {"rules", "faults", "config", "market", "scenarios", "streams", "wsroutes"}
    for module in MARKET_LAYER:
        assert not graph[module] & (surface - allowed), module
