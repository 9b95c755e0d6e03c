"""The ops package exposes its public API lazily and never imports Nautilus."""

from __future__ import annotations

import subprocess
import sys

import hedgegridd.ops as ops


def test_public_names_resolve() -> None:
    """Every name in __all__ resolves to an object."""
    for name in ops.__all__:
        assert getattr(ops, name) is not None


def test_ops_imports_no_nautilus() -> None:
    """Importing every ops component leaves nautilus_trader unloaded."""
    code = (
        "import sys, hedgegridd.ops as o\n"
        "[getattr(o, n) for n in o.__all__]\n"
        "print('nautilus_trader' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
