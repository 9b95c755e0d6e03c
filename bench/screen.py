"""Screening kernel speed: bars/s of engine time, single-threaded, and a baseline.

    .venv/bin/python bench/screen.py [--nautilus-bars 3000] [--skip-nautilus]

Prints, for the default strategy on seeded synthetic 1m bars: the kernel's bars/s on
100k bars and on one year (525,600 bars), the cost ratio of the last 10 % of bars to
the first 10 % (each timed as its own run of 52,560 bars: flat cost -> ~1.0), and the
Nautilus engine's bars/s on a small slice of the same bars measured in the same run
(the ratio is the speed-up). Target: >= 400k bars/s. The JIT compile (or cache load)
is excluded: one warm-up run first.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

import structlog

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hedgegridd.data.synthetic import SyntheticSpec
from hedgegridd.params import default_strategy_params
from hedgegridd.screen.market import bars_from_synthetic
from hedgegridd.screen.run import run_screen

TARGET = 400_000
YEAR = 525_600


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nautilus-bars", type=int, default=3000)
    ap.add_argument("--skip-nautilus", action="store_true")
    args = ap.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    params = default_strategy_params()
    year = bars_from_synthetic(SyntheticSpec(seed=11, minutes=YEAR))
    run_screen(params, year.window(0, 2000), record_fills=False)  # compile / load cache
    r100 = run_screen(params, year.window(0, 100_000), record_fills=False)
    print(f"screen 100k bars: {r100.bars / r100.run_seconds:,.0f} bars/s ({r100.fills} fills)")
    ry = run_screen(params, year, record_fills=False)
    print(
        f"screen 1 year ({ry.bars:,} bars): {ry.bars / ry.run_seconds:,.0f} bars/s, "
        f"{ry.run_seconds:.3f} s ({ry.fills} fills)"
    )
    tenth = YEAR // 10
    first = run_screen(params, year.window(0, tenth), record_fills=False)
    last = run_screen(params, year.window(YEAR - tenth, YEAR), record_fills=False)
    ratio = (last.run_seconds / last.bars) / (first.run_seconds / first.bars)
    print(f"chunk cost last 10% / first 10%: {ratio:.2f}")
    ok = ry.bars / ry.run_seconds >= TARGET
    if not args.skip_nautilus:
        from hedgegridd.backtest.engine import bars_from_arrays
        from hedgegridd.data.instruments import BTCUSDT_PERP, to_nautilus_instrument
        from hedgegridd.screen.reference import run_nautilus

        n = args.nautilus_bars
        inst = to_nautilus_instrument(BTCUSDT_PERP)
        from nautilus_trader.model.data import BarType

        nb = bars_from_arrays(
            BarType.from_str(BTCUSDT_PERP.bar_type()),
            inst,
            year.open[:n].tolist(),
            year.high[:n].tolist(),
            year.low[:n].tolist(),
            year.close[:n].tolist(),
            [1000.0] * n,
            year.close_ns[:n].tolist(),
        )
        ref = run_nautilus(params, inst, nb)
        small = run_screen(params, year.window(0, n), record_fills=False)
        n_rate = n / ref.run_seconds
        print(
            f"nautilus {n} bars: {n_rate:,.0f} bars/s ({ref.metrics['fills']} fills; "
            f"screen on the same bars: {small.fills} fills)"
        )
        print(f"speed-up screen (1 year) / nautilus: {ry.bars / ry.run_seconds / n_rate:,.0f}x")
    print(f"target >= {TARGET:,} bars/s: {'met' if ok else 'NOT met'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
