"""Screening kernel speed: bars/s of engine time, single-threaded, and a baseline.

    .venv/bin/python bench/screen.py [--nautilus-bars 3000] [--skip-nautilus]

Prints, for the default strategy on seeded synthetic 1m bars: the kernel's bars/s on
100k bars and on one year (525,600 bars), once with the shipped parameters (their 20 %
drawdown limit stops new entries part way, so much of that year is quiet) and once with
the drawdown limit off, trading all year (the figure the target is checked on); the
growth of cost with run length: a run over the same 52,560-bar path (26,280 bars there
and back: the same moves, the same activity) ten times in a row, its cost per path over
the cost of a run over the path once (flat cost -> ~1.0; growth makes it larger; the
ratio of two whole runs, so a busy machine does not swamp it); and the Nautilus
engine's bars/s on a small slice of the same bars measured in the same run (the ratio is
the speed-up). Each time is the best of three (five for the growth) runs (a busy
machine only adds time).
Target: >= 400k bars/s. The JIT compile (or cache load) is excluded: one warm-up run
first.
"""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import structlog

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hedgegridd.data.synthetic import SyntheticSpec
from hedgegridd.params import StrategyParams, default_strategy_params, parse_strategy_params
from hedgegridd.screen.market import BarArrays, bars_from_synthetic
from hedgegridd.screen.run import ScreenResult, run_screen

TARGET = 400_000
YEAR = 525_600
CHUNK = YEAR // 10


def best(params: StrategyParams, bars: BarArrays, runs: int = 3) -> ScreenResult:
    """The fastest of ``runs`` runs (same result each time)."""
    return min(
        (run_screen(params, bars, record_fills=False) for _ in range(runs)),
        key=lambda r: r.run_seconds,
    )


def repeated(chunk: BarArrays, times: int) -> BarArrays:
    """``chunk`` played ``times`` times in a row, every second time backwards (bars in
    reverse order, open and close swapped), so each pair ends where it began: the same
    path again and again, with the same trading activity per pair."""
    n = len(chunk)
    back = {
        "open": chunk.close[::-1],
        "high": chunk.high[::-1],
        "low": chunk.low[::-1],
        "close": chunk.open[::-1],
    }

    def prices(name: str) -> np.ndarray:
        fwd = getattr(chunk, name)
        return np.concatenate([fwd if i % 2 == 0 else back[name] for i in range(times)])

    close_ns = chunk.close_ns[0] + chunk.interval_ns * np.arange(n * times, dtype=np.int64)
    none = np.zeros(0, np.int64)
    return replace(
        chunk,
        open=prices("open"),
        high=prices("high"),
        low=prices("low"),
        close=prices("close"),
        close_ns=close_ns,
        funding_ns=none,
        funding_rate=np.zeros(0),
        funding_next_ns=none,
        settle_ns=none,
        settle_rate=np.zeros(0),
        settle_mark=np.zeros(0),
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--nautilus-bars", type=int, default=3000)
    ap.add_argument("--skip-nautilus", action="store_true")
    args = ap.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    params = default_strategy_params()
    doc = params.model_dump(mode="json")
    doc["risk"]["max_drawdown_pct"] = "100"
    all_year = parse_strategy_params(doc)
    year = bars_from_synthetic(SyntheticSpec(seed=11, minutes=YEAR))
    run_screen(params, year.window(0, 2000), record_fills=False)  # compile / load cache
    r100 = best(params, year.window(0, 100_000))
    print(f"screen 100k bars: {r100.bars / r100.run_seconds:,.0f} bars/s ({r100.fills} fills)")
    for label, p in (("shipped parameters", params), ("drawdown limit off", all_year)):
        r = best(p, year)
        print(
            f"screen 1 year ({r.bars:,} bars, {label}): {r.bars / r.run_seconds:,.0f} bars/s, "
            f"{r.run_seconds:.3f} s ({r.fills} fills)"
        )
    ry = r
    chunk = year.window(0, CHUNK // 2)
    once, ten = (best(all_year, repeated(chunk, k), runs=5) for k in (2, 20))
    ratio = ten.run_seconds / (10 * once.run_seconds)
    print(
        f"cost per {CHUNK:,} bars in one run over the same path ten times / in a run over it "
        f"once (there and back; no funding): {ratio:.2f} (fills {ten.fills} vs 10 x "
        f"{once.fills})"
    )
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
