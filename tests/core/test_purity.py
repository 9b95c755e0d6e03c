"""The core stays pure: stdlib (no clock, no I/O) + Decimal, and hedgegridd.errors only."""

from __future__ import annotations

import ast
from pathlib import Path

import hedgegridd.core

ALLOWED_STDLIB = {
    "__future__",
    "collections",
    "dataclasses",
    "decimal",
    "enum",
    "fractions",
    "math",
    "re",
    "typing",
}
ALLOWED_OWN = ("hedgegridd.core", "hedgegridd.errors")


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_core_imports_only_stdlib_and_errors() -> None:
    """No core module imports nautilus, pydantic, a clock (time/datetime), asyncio or I/O."""
    files = sorted(Path(hedgegridd.core.__file__).parent.glob("*.py"))
    assert len(files) > 8
    for path in files:
        for name in _imports(path):
            root = name.split(".")[0]
            if root == "hedgegridd":
                assert name.startswith(ALLOWED_OWN), f"{path.name} imports {name}"
            else:
                assert root in ALLOWED_STDLIB, f"{path.name} imports {name}"
