"""The control package's public API and the ctl's light import footprint."""

from __future__ import annotations

import subprocess
import sys

import hedgegridd.control as control


def test_public_api_names_resolve() -> None:
    """Every name in hedgegridd.control.__all__ imports (server names lazily)."""
    for name in control.__all__:
        assert getattr(control, name) is not None


def test_ctl_does_not_load_the_strategy_or_the_engine() -> None:
    """Importing hedgegridctl loads neither hedgegridd.strategy nor nautilus_trader."""
    probe = (
        "import sys, hedgegridd.control.cli;"
        "heavy = ('hedgegridd.strategy', 'nautilus_trader');"
        "bad = [m for m in sys.modules if m.startswith(heavy)];"
        "print(bad); sys.exit(1 if bad else 0)"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
