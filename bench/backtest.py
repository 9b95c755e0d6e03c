"""Backtest throughput: do-nothing vs a minimal reference grid vs HedgeGridStrategy.

Run: ``.venv/bin/python bench/backtest.py [--bars 100000] [--chunk 10000] [--profile]``

Prints bars/s for (a) a do-nothing strategy, (b) a minimal 10+10-level grid
written directly against Nautilus (hedge position ids, TP per fill, recenter on
drift), (c) ours on the same bars, the ratios c/b and c/a, and the wall time of
each chunk of bars (engine.run over consecutive windows, state kept) so growth
of the cost per bar over a run is visible. ``--profile`` runs cProfile on (c).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
from nautilus_trader.config import StrategyConfig
from nautilus_trader.model.data import Bar, BarType
from nautilus_trader.model.enums import OrderSide, TimeInForce
from nautilus_trader.model.events import OrderFilled
from nautilus_trader.model.identifiers import InstrumentId, PositionId
from nautilus_trader.model.instruments import Instrument
from nautilus_trader.model.objects import Quantity
from nautilus_trader.test_kit.providers import TestInstrumentProvider
from nautilus_trader.trading.strategy import Strategy

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hedgegridd.backtest.engine import (
    VenueModel,
    add_hedging_venue,
    bars_from_arrays,
    create_engine,
)

START_NS = 1_735_689_600_000_000_000  # 2025-01-01T00:00:00Z
MINUTE_NS = 60_000_000_000


class BenchConfig(StrategyConfig, frozen=True):
    """Config of the bench strategies."""

    instrument_id: str
    bar_type: str
    levels: int = 10
    step_bps: float = 10.0
    qty: str = "0.002"
    recenter_bps: float = 50.0


class DoNothing(Strategy):
    """Subscribes to bars and does nothing with them."""

    def __init__(self, config: BenchConfig) -> None:
        super().__init__(config)
        self.bar_type = BarType.from_str(config.bar_type)

    def on_start(self) -> None:
        self.subscribe_bars(self.bar_type)

    def on_bar(self, bar: Bar) -> None:
        pass


class ReferenceGrid(Strategy):
    """Minimal hedge grid straight on Nautilus: entries both sides, a TP per fill."""

    def __init__(self, config: BenchConfig) -> None:
        super().__init__(config)
        self.bar_type = BarType.from_str(config.bar_type)
        self.instrument_id = InstrumentId.from_str(config.instrument_id)
        self.long_id = PositionId(f"{self.instrument_id}-LONG")
        self.short_id = PositionId(f"{self.instrument_id}-SHORT")
        self.center = 0.0
        self.entries: dict[int, object] = {}
        self.instrument: Instrument | None = None

    def on_start(self) -> None:
        self.instrument = self.cache.instrument(self.instrument_id)
        self.subscribe_bars(self.bar_type)

    def on_bar(self, bar: Bar) -> None:
        cfg = self.config
        close = bar.close.as_double()
        if self.center and abs(close / self.center - 1) * 1e4 < cfg.recenter_bps:
            return
        self.center = close
        for order in self.cache.orders_open(strategy_id=self.id):
            if order.tags and order.tags[0] == "E":
                self.cancel_order(order)
        assert self.instrument is not None
        step = cfg.step_bps / 1e4
        qty = Quantity.from_str(cfg.qty)
        for lvl in range(1, cfg.levels + 1):
            buy = self.instrument.make_price(close * (1 - step * lvl))
            sell = self.instrument.make_price(close * (1 + step * lvl))
            o = self.order_factory.limit(
                self.instrument_id, OrderSide.BUY, qty, buy, post_only=True, tags=["E"]
            )
            self.submit_order(o, position_id=self.long_id)
            o = self.order_factory.limit(
                self.instrument_id, OrderSide.SELL, qty, sell, post_only=True, tags=["E"]
            )
            self.submit_order(o, position_id=self.short_id)

    def on_order_filled(self, event: OrderFilled) -> None:
        order = self.cache.order(event.client_order_id)
        if order is None or not order.tags or order.tags[0] != "E":
            return
        assert self.instrument is not None
        px = event.last_px.as_double()
        step = self.config.step_bps / 1e4
        if event.order_side == OrderSide.BUY:
            side, tp, pos = OrderSide.SELL, px * (1 + step), self.long_id
        else:
            side, tp, pos = OrderSide.BUY, px * (1 - step), self.short_id
        o = self.order_factory.limit(
            self.instrument_id,
            side,
            event.last_qty,
            self.instrument.make_price(tp),
            time_in_force=TimeInForce.GTC,
            tags=["T"],
        )
        self.submit_order(o, position_id=pos)


def synthetic_bars(instrument: Instrument, bar_type: BarType, n: int, seed: int = 7) -> list[Bar]:
    """Mean-reverting random walk around 60k so a grid keeps trading for the whole run."""
    rng = np.random.default_rng(seed)
    rets = rng.normal(0.0, 0.0012, n)
    log_p = np.empty(n)
    x = 0.0
    for i in range(n):
        x = 0.995 * x + rets[i]
        log_p[i] = x
    close = 60_000.0 * np.exp(log_p)
    open_ = np.concatenate([[close[0]], close[:-1]])
    wick = np.abs(rng.normal(0.0, 0.0006, n)) * close
    high = np.maximum(open_, close) + wick
    low = np.minimum(open_, close) - wick
    vol = rng.uniform(50, 150, n)
    times = START_NS + MINUTE_NS * np.arange(1, n + 1, dtype=np.int64)
    return bars_from_arrays(bar_type, instrument, open_, high, low, close, vol, times.tolist())


def run_chunks(
    make_strategy: Callable[[str, str], Strategy], bars: list[Bar], chunk: int
) -> tuple[float, list[float], int, int]:
    """Run a fresh engine over ``bars`` in chunks; returns (total s, chunk s, orders, fills)."""
    instrument = TestInstrumentProvider.btcusdt_perp_binance()
    engine = create_engine(log_level="ERROR")
    add_hedging_venue(engine, instrument, VenueModel(starting_balance=Decimal(1_000_000)))
    engine.add_data(bars)
    bar_type = bars[0].bar_type
    engine.add_strategy(make_strategy(str(instrument.id), str(bar_type)))
    times: list[float] = []
    for i in range(0, len(bars), chunk):
        part = bars[i : i + chunk]
        start = pd.Timestamp(part[0].ts_event - 1, unit="ns", tz="UTC")
        end = pd.Timestamp(part[-1].ts_event, unit="ns", tz="UTC")
        t0 = time.perf_counter()
        engine.run(start=start, end=end, streaming=True)
        times.append(time.perf_counter() - t0)
    engine.end()
    orders = len(engine.cache.orders())
    fills = sum(1 for o in engine.cache.orders() if o.filled_qty.as_double() > 0)
    engine.dispose()
    return sum(times), times, orders, fills


def _ours_factory() -> Callable[[str, str], Strategy] | None:
    """HedgeGridStrategy with the example parameters (None until the adapter is importable)."""
    try:
        from hedgegridd.backtest.bench_support import make_ours
    except ImportError as exc:
        print(f"(c) unavailable: {exc}")
        return None
    return make_ours


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bars", type=int, default=100_000)
    parser.add_argument("--chunk", type=int, default=10_000)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--only", choices=["a", "b", "c"], default=None)
    args = parser.parse_args()

    instrument = TestInstrumentProvider.btcusdt_perp_binance()
    bar_type = BarType.from_str(f"{instrument.id}-1-MINUTE-LAST-EXTERNAL")
    bars = synthetic_bars(instrument, bar_type, args.bars)

    def make(cls: type[Strategy]) -> Callable[[str, str], Strategy]:
        return lambda iid, bt: cls(BenchConfig(instrument_id=iid, bar_type=bt))

    candidates: dict[str, tuple[str, Callable[[str, str], Strategy]]] = {
        "a": ("do-nothing", make(DoNothing)),
        "b": ("reference grid", make(ReferenceGrid)),
    }
    ours = _ours_factory()
    if ours is not None:
        candidates["c"] = ("hedgegrid", ours)

    rates: dict[str, float] = {}
    for key, (name, factory) in candidates.items():
        if args.only and key != args.only:
            continue
        if args.profile and key == "c":
            prof = cProfile.Profile()
            prof.enable()
        total, chunks, orders, fills = run_chunks(factory, bars, args.chunk)
        if args.profile and key == "c":
            prof.disable()
            pstats.Stats(prof).sort_stats("cumulative").print_stats(35)
        rates[key] = len(bars) / total
        chunk_txt = " ".join(f"{c:.2f}" for c in chunks)
        print(
            f"({key}) {name:15s} {rates[key]:10.0f} bars/s  total {total:7.2f}s  "
            f"orders {orders} fills {fills}  last/first chunk {chunks[-1] / chunks[0]:.2f}"
        )
        print(f"    chunk seconds: {chunk_txt}")
    if {"a", "b", "c"} <= rates.keys():
        cb, ca = rates["b"] / rates["c"], rates["a"] / rates["c"]
        print(f"ratio c/b (time): {cb:.2f}x   c/a: {ca:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
