"""Screening backtests: the grid strategy on bar arrays in a compiled (numba) kernel.

``run_screen(params, market, venue)`` runs the same rules as ``hedgegridd.core`` plus
the Nautilus venue behaviour ``hedgegridd.backtest`` uses, orders of magnitude faster,
for the optimizer's search; the Nautilus backtest stays the reference for fills
(``python -m hedgegridd.screen.parity`` measures the agreement).
"""

from __future__ import annotations

import os
from pathlib import Path

# The compiled kernel is cached per user (a packaged install's site-packages is read-only).
os.environ.setdefault("NUMBA_CACHE_DIR", str(Path.home() / ".cache" / "hedgegrid" / "numba"))

from hedgegridd.screen.market import BarArrays, bars_from_synthetic, from_nautilus
from hedgegridd.screen.run import ScreenResult, ScreenVenue, run_screen

__all__ = [
    "BarArrays",
    "ScreenResult",
    "ScreenVenue",
    "bars_from_synthetic",
    "from_nautilus",
    "run_screen",
]
