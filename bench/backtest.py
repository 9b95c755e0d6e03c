"""Backtest throughput: do-nothing vs a minimal reference grid vs HedgeGridStrategy.

Run: ``.venv/bin/python bench/backtest.py [--bars 100000] [--chunk 10000] [--profile]``

Prints bars/s for (a) a do-nothing strategy, (b) a minimal 10+10-level grid
written directly against Nautilus (hedge position ids, TP per fill, recenter on
drift), (c) ours on the same bars, the ratios c/b and c/a, and the wall time of
each chunk of bars (engine.run over consecutive windows, state kept) so growth
of the cost per bar over a run is visible. Times are process CPU seconds (the
machine is shared; wall time is too noisy to compare). ``--profile`` runs
cProfile on (c); ``--probe`` times the cache's open-order lookup after each chunk;
``--purge N`` lets the engine purge orders closed for N minutes every N minutes.

Findings (1.231, 100k bars, CPU seconds; see ``--probe``): our handlers' share per
10k-bar chunk stays ~1.0-1.6 s while the engine's share grows ~1.4 -> ~4.2 s. One
measured cause: on every fill the simulated matching engine rebuilds
``cache.orders_for_position(<hedge position id>)`` (a loop over every order ever
submitted on that id, even with ``use_reduce_only=False``): ~27 us at 900 orders,
~1.2 ms at 11k. Purging closed orders does not bound it: ``purge_order`` only drops
an order from the position index when ``order.position_id`` is set, which is never
the case for an entry that was cancelled unfilled, so the set keeps every id
(measured: 10 orders returned, 1.27 ms per call). Our own former O(open orders)
view rebuild per event was replaced by incremental views.
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
from typing import Any

import pandas as pd
from nautilus_trader.config import StrategyConfig
from nautilus_trader.model.data import Bar, BarType
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.events import OrderCanceled, OrderFilled, OrderRejected
from nautilus_trader.model.identifiers import ClientOrderId, InstrumentId, PositionId
from nautilus_trader.model.instruments import Instrument
from nautilus_trader.model.objects import Quantity
from nautilus_trader.trading.strategy import Strategy

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from hedgegridd.backtest.engine import (
    VenueModel,
    add_hedging_venue,
    bars_from_arrays,
    create_engine,
)
from hedgegridd.data.instruments import BTCUSDT_PERP, to_nautilus_instrument


class BenchConfig(StrategyConfig, frozen=True):
    """Config of the bench strategies (same geometry as ``OURS_PARAMS``)."""

    instrument_id: str
    bar_type: str
    levels: int = 10
    step_bps: float = 25.0
    qty: str = "0.003"
    tp_bps: float = 40.0
    sl_bps: float = 400.0
    recenter_bps: float = 150.0
    max_inventory: float = 0.06


OURS_PARAMS = {
    "grid": {
        "step_bps": "25",
        "levels_per_side": 10,
        "base_qty": "0.003",
        "max_inventory_qty": "0.06",
        "recenter_bps": "150",
    },
    "exits": {"tp_bps": "40", "sl_bps": "400"},
    "policy": {"counter_qty_scale": "1"},  # the reference has no regime policy: same flow
    "funding": {"enabled": False},
    "risk": {"max_position_qty": "0.06", "max_drawdown_pct": "90"},
}


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
    """Minimal hedge grid straight on Nautilus, floats, no risk layer.

    Per bar: recenter (cancel all entries) when the close drifted more than
    ``recenter_bps``; place each missing passive level while position + pending stays
    within ``max_inventory``. Per entry fill: a TP limit and an SL stop-market on the
    same hedge position id; when one of the pair fills the other is cancelled.
    """

    def __init__(self, config: BenchConfig) -> None:
        super().__init__(config)
        self.bar_type = BarType.from_str(config.bar_type)
        self.instrument_id = InstrumentId.from_str(config.instrument_id)
        self.pids = {
            "L": PositionId(f"{self.instrument_id}-LONG"),
            "S": PositionId(f"{self.instrument_id}-SHORT"),
        }
        self.center = 0.0
        self.levels: dict[tuple[str, int], ClientOrderId] = {}
        self.twin: dict[ClientOrderId, ClientOrderId] = {}
        self.instrument: Instrument | None = None
        self.qty = Quantity.from_str(config.qty)

    def on_start(self) -> None:
        self.instrument = self.cache.instrument(self.instrument_id)
        self.subscribe_bars(self.bar_type)

    def _held(self, side: str) -> float:
        pos = self.cache.position(self.pids[side])
        return pos.quantity.as_double() if pos is not None and pos.is_open else 0.0

    def on_bar(self, bar: Bar) -> None:
        cfg = self.config
        close = bar.close.as_double()
        if not self.center or abs(close / self.center - 1) * 1e4 > cfg.recenter_bps:
            self.center = close
            for coid in list(self.levels.values()):
                order = self.cache.order(coid)
                if order is not None and order.is_open and not order.is_pending_cancel:
                    self.cancel_order(order)
            self.levels.clear()
        assert self.instrument is not None
        step, qty = cfg.step_bps / 1e4, self.qty.as_double()
        for side, sign, oside in (("L", -1, OrderSide.BUY), ("S", 1, OrderSide.SELL)):
            pending = sum(1 for (s, _lvl) in self.levels if s == side) * qty
            room = cfg.max_inventory - self._held(side) - pending
            for lvl in range(1, cfg.levels + 1):
                if (side, lvl) in self.levels:
                    continue
                px = self.center * (1 + sign * step * lvl)
                if (side == "L" and px >= close) or (side == "S" and px <= close):
                    continue
                if room < qty - 1e-12:
                    break
                order = self.order_factory.limit(
                    self.instrument_id,
                    oside,
                    self.qty,
                    self.instrument.make_price(px),
                    post_only=True,
                    tags=["E"],
                )
                self.levels[(side, lvl)] = order.client_order_id
                self.submit_order(order, position_id=self.pids[side])
                room -= qty

    def _forget(self, coid: ClientOrderId) -> None:
        for key, value in list(self.levels.items()):
            if value == coid:
                del self.levels[key]
                return

    def on_order_canceled(self, event: OrderCanceled) -> None:
        self._forget(event.client_order_id)

    def on_order_rejected(self, event: OrderRejected) -> None:
        self._forget(event.client_order_id)

    def on_order_filled(self, event: OrderFilled) -> None:
        order = self.cache.order(event.client_order_id)
        if order is None or not order.tags:
            return
        twin = self.twin.pop(event.client_order_id, None)
        if twin is not None:
            self.twin.pop(twin, None)
            other = self.cache.order(twin)
            if other is not None and other.is_open:
                self.cancel_order(other)
            return
        if order.tags[0] != "E":
            return
        if order.is_closed:
            self._forget(event.client_order_id)
        assert self.instrument is not None
        cfg = self.config
        px = event.last_px.as_double()
        long = event.order_side == OrderSide.BUY
        side = OrderSide.SELL if long else OrderSide.BUY
        sign = 1 if long else -1
        tp = self.order_factory.limit(
            self.instrument_id,
            side,
            event.last_qty,
            self.instrument.make_price(px * (1 + sign * cfg.tp_bps / 1e4)),
            reduce_only=True,
            tags=["T"],
        )
        sl = self.order_factory.stop_market(
            self.instrument_id,
            side,
            event.last_qty,
            self.instrument.make_price(px * (1 - sign * cfg.sl_bps / 1e4)),
            reduce_only=True,
            tags=["S"],
        )
        self.twin[tp.client_order_id] = sl.client_order_id
        self.twin[sl.client_order_id] = tp.client_order_id
        pid = self.pids["L" if long else "S"]
        self.submit_order(tp, position_id=pid)
        self.submit_order(sl, position_id=pid)


def synthetic_bars(instrument: Instrument, bar_type: BarType, n: int, seed: int = 7) -> list[Bar]:
    """The project's seeded regime-switching market (hedgegridd.data.synthetic), 1m bars."""
    from hedgegridd.data.synthetic import SyntheticSpec, generate

    data = generate(SyntheticSpec(seed=seed, minutes=n, trades_per_minute=2.0))
    b = data.bars
    times = ((b["close_time"] + 1) * 1_000_000).tolist()
    return bars_from_arrays(bar_type, instrument, b.open, b.high, b.low, b.close, b.volume, times)


def _probe_open_lookup(engine: Any, instrument_id: InstrumentId | None) -> float:
    """Microseconds of one ``cache.orders_open(instrument_id=...)`` (the lookup the
    portfolio does on every order event), median of 5 x 100 calls."""
    samples = []
    for _ in range(5):
        t0 = time.perf_counter()
        for _ in range(100):
            engine.cache.orders_open(instrument_id=instrument_id)
        samples.append((time.perf_counter() - t0) / 100 * 1e6)
    return sorted(samples)[2]


def run_chunks(
    make_strategy: Callable[[str, str], Strategy],
    bars: list[Bar],
    chunk: int,
    *,
    purge_mins: int | None = None,
    probe: bool = False,
) -> tuple[float, list[float], int, int]:
    """Run a fresh engine over ``bars`` in chunks; returns (total s, chunk s, orders, fills)."""
    instrument = to_nautilus_instrument(BTCUSDT_PERP)
    engine = create_engine(log_level="ERROR", purge_closed_orders_mins=purge_mins)
    add_hedging_venue(engine, instrument, VenueModel(starting_balance=Decimal(1_000_000)))
    engine.add_data(bars)
    bar_type = bars[0].bar_type
    engine.add_strategy(make_strategy(str(instrument.id), str(bar_type)))
    times: list[float] = []
    for i in range(0, len(bars), chunk):
        part = bars[i : i + chunk]
        start = pd.Timestamp(part[0].ts_event - 1, unit="ns", tz="UTC")
        end = pd.Timestamp(part[-1].ts_event, unit="ns", tz="UTC")
        handler_before = HANDLER_CPU[0]
        t0 = time.process_time()  # CPU time: stable on a shared, loaded machine
        engine.run(start=start, end=end, streaming=True)
        times.append(time.process_time() - t0)
        ours = HANDLER_CPU[0] - handler_before
        if ours:
            print(
                f"    chunk {len(times)}: {times[-1]:.2f} s CPU, of which strategy handlers "
                f"{ours:.2f} s, engine {times[-1] - ours:.2f} s"
            )
        if probe:
            us = _probe_open_lookup(engine, instrument.id)
            pid = PositionId(f"{instrument.id}-LONG")
            t0 = time.process_time()
            for _ in range(100):
                engine.cache.orders_for_position(pid)
            us_pos = (time.process_time() - t0) / 100 * 1e6
            print(
                f"    after chunk {len(times)}: orders in cache {len(engine.cache.orders())}, "
                f"open {len(engine.cache.orders_open())}, orders_open(instrument) {us:.1f} us, "
                f"orders_for_position(LONG) {len(engine.cache.orders_for_position(pid))} "
                f"orders {us_pos:.0f} us"
            )
    engine.end()
    orders = len(engine.cache.orders())
    fills = sum(1 for o in engine.cache.orders() if o.filled_qty.as_double() > 0)
    engine.dispose()
    return sum(times), times, orders, fills


def _ours_factory() -> Callable[[str, str], Strategy]:
    """HedgeGridStrategy with a geometry like the reference grid (10+10 levels, 10 bps)."""
    import logging

    import structlog

    from hedgegridd.params import parse_strategy_params
    from hedgegridd.strategy.config import HedgeGridConfig
    from hedgegridd.strategy.strategy import HedgeGridStrategy

    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    params = parse_strategy_params(OURS_PARAMS)

    def make(iid: str, bar_type: str) -> Strategy:
        return HedgeGridStrategy(
            HedgeGridConfig.create(params, instrument_id=iid, bar_type=bar_type)
        )

    _instrument_handlers(HedgeGridStrategy)
    return make


HANDLER_CPU = [0.0]  # CPU seconds spent inside HedgeGridStrategy's own handlers


def _instrument_handlers(cls: type) -> None:
    """Accumulate the CPU time of the strategy's handlers (ours vs the engine's share)."""
    names = ("on_bar", "on_order_filled", "on_order_canceled", "on_order_rejected")
    for name in names:
        inner = getattr(cls, name)
        if getattr(inner, "_timed", False):
            continue

        def timed(self: Any, event: Any, _inner: Any = inner) -> None:
            t0 = time.process_time()
            try:
                _inner(self, event)
            finally:
                HANDLER_CPU[0] += time.process_time() - t0

        timed._timed = True  # type: ignore[attr-defined]
        setattr(cls, name, timed)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bars", type=int, default=100_000)
    parser.add_argument("--chunk", type=int, default=10_000)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--only", choices=["a", "b", "c"], default=None)
    parser.add_argument("--purge", type=int, default=None, help="purge closed orders every N min")
    parser.add_argument("--probe", action="store_true", help="time the cache lookup per chunk")
    args = parser.parse_args()

    instrument = to_nautilus_instrument(BTCUSDT_PERP)
    bar_type = BarType.from_str(f"{instrument.id}-1-MINUTE-LAST-EXTERNAL")
    bars = synthetic_bars(instrument, bar_type, args.bars)

    def make(cls: type[Strategy]) -> Callable[[str, str], Strategy]:
        return lambda iid, bt: cls(BenchConfig(instrument_id=iid, bar_type=bt))

    candidates: dict[str, tuple[str, Callable[[str, str], Strategy]]] = {
        "a": ("do-nothing", make(DoNothing)),
        "b": ("reference grid", make(ReferenceGrid)),
    }
    candidates["c"] = ("hedgegrid", _ours_factory())

    rates: dict[str, float] = {}
    for key, (name, factory) in candidates.items():
        if args.only and key != args.only:
            continue
        if args.profile and key == "c":
            prof = cProfile.Profile()
            prof.enable()
        total, chunks, orders, fills = run_chunks(
            factory, bars, args.chunk, purge_mins=args.purge, probe=args.probe
        )
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
