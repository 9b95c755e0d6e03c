"""Static guard: ops code never uses threads, blocking sleeps or asyncio.get_event_loop()."""

from __future__ import annotations

import ast
from pathlib import Path

import hedgegridd.ops

OPS = Path(hedgegridd.ops.__file__).parent
FORBIDDEN_CALLS = {"get_event_loop", "run_until_complete", "run_coroutine_threadsafe"}
FORBIDDEN_MODULES = {"threading", "concurrent.futures"}


def test_ops_modules_use_only_the_event_loop() -> None:
    """No threading, no time.sleep, no get_event_loop/run_until_complete, no 0.0.0.0 in ops."""
    offenders: list[str] = []
    files = sorted(OPS.glob("*.py"))
    assert len(files) >= 8
    for path in files:
        source = path.read_text()
        if "0.0.0.0" in source:
            offenders.append(f"{path.name}: 0.0.0.0")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Import | ast.ImportFrom):
                names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
                module = node.module if isinstance(node, ast.ImportFrom) else None
                for name in [*names, module]:
                    if name in FORBIDDEN_MODULES:
                        offenders.append(f"{path.name}: import {name}")
            if isinstance(node, ast.Attribute) and node.attr in FORBIDDEN_CALLS:
                offenders.append(f"{path.name}: {node.attr}")
            if (
                isinstance(node, ast.Attribute)
                and node.attr == "sleep"
                and isinstance(node.value, ast.Name)
                and node.value.id == "time"
            ):
                offenders.append(f"{path.name}: time.sleep")
    assert offenders == []
