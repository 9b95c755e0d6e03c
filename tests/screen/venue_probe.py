"""Resting orders over hand-built bars, matched by Nautilus and by the screening kernel.

``nautilus_fills`` runs the real backtest venue (``hedgegridd.backtest.engine``: the
wiring ``hedgegrid backtest`` uses) with a probe strategy that submits the orders on
the first bar (they rest from the third: one bar of latency, as in the kernel) and
cancels orders on given bars; ``kernel_fills`` feeds the same orders and bars to the
kernel's venue functions. Both return the fills in the order they happened, as
``(bar, order index, price ticks)``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

import numpy as np
from nautilus_trader.core.uuid import UUID4
from nautilus_trader.model.data import Bar, BarType
from nautilus_trader.model.enums import ContingencyType, OrderSide, TimeInForce, TriggerType
from nautilus_trader.model.events import OrderFilled
from nautilus_trader.model.identifiers import ClientOrderId
from nautilus_trader.model.objects import Price, Quantity
from nautilus_trader.model.orders import LimitOrder, StopMarketOrder
from nautilus_trader.trading.strategy import Strategy, StrategyConfig

from hedgegridd.backtest.engine import (
    VenueModel,
    add_hedging_venue,
    bars_from_arrays,
    create_engine,
)
from hedgegridd.data.instruments import BTCUSDT_PERP, to_nautilus_instrument
from hedgegridd.screen import kernel as k

TICK = Decimal("0.1")
MINUTE_NS = 60_000_000_000
T0 = 1_704_067_260_000_000_000  # 2024-01-01 00:01 UTC, a bar close
RETRY_NS = 5_000_000_000  # the strategy's retry timer delay


@dataclass(frozen=True, slots=True)
class Probe:
    """One resting order: ``side`` BUY/SELL, ``kind`` LIMIT/STOP, price in ticks, sent in
    the handler of bar ``at`` (it reaches the venue after bar ``at + 1``)."""

    side: str
    kind: str
    ticks: int
    at: int = 0


class _ProbeConfig(StrategyConfig, frozen=True):
    bar_type: str
    orders: tuple[tuple[str, str, int, int], ...]
    cancels: tuple[tuple[int, int], ...]  # (bar, order index)
    timers: tuple[int, ...]  # bars after which a timer fires 5 s later
    links: tuple[tuple[int, int], ...]  # OUO pairs (order index, order index)


class _ProbeStrategy(Strategy):
    """Submits the probe orders on their bars, cancels on the given bars, records fills."""

    def __init__(self, config: _ProbeConfig) -> None:
        super().__init__(config)
        self.bar_type = BarType.from_str(config.bar_type)
        self.instrument_id = self.bar_type.instrument_id
        self.bars_seen = 0
        self.index: dict[str, int] = {}
        self.orders: dict[int, object] = {}
        self.fills: list[tuple[int, int, int]] = []

    def on_start(self) -> None:
        self.subscribe_bars(self.bar_type)

    def on_bar(self, bar: Bar) -> None:
        n = self.bars_seen
        self.bars_seen += 1
        linked = {a: b for a, b in self.config.links} | {b: a for a, b in self.config.links}
        for i, (side, kind, ticks, at) in enumerate(self.config.orders):
            if at == n:
                px = Price(Decimal(ticks) * TICK, 1)
                common = {
                    "trader_id": self.trader_id,
                    "strategy_id": self.id,
                    "instrument_id": self.instrument_id,
                    "client_order_id": ClientOrderId(f"P-{i}"),
                    "order_side": OrderSide.BUY if side == "BUY" else OrderSide.SELL,
                    "quantity": Quantity.from_str("0.001"),
                    "init_id": UUID4(),
                    "ts_init": self.clock.timestamp_ns(),
                    "time_in_force": TimeInForce.GTC,
                    "contingency_type": (
                        ContingencyType.OUO if i in linked else ContingencyType.NO_CONTINGENCY
                    ),
                    "linked_order_ids": [ClientOrderId(f"P-{linked[i]}")] if i in linked else None,
                }
                if kind == "LIMIT":
                    order = LimitOrder(price=px, **common)
                else:
                    order = StopMarketOrder(
                        trigger_price=px, trigger_type=TriggerType.LAST_PRICE, **common
                    )
                self.index[order.client_order_id.value] = i
                self.orders[i] = order
                self.submit_order(order)
        for at, i in self.config.cancels:
            if at == n:
                self.cancel_order(self.orders[i])
        if n in self.config.timers:
            self.clock.set_time_alert_ns(f"t{n}", bar.ts_event + RETRY_NS, lambda _e: None)

    def on_order_filled(self, event: OrderFilled) -> None:
        bar = (event.ts_event - T0) // MINUTE_NS
        ticks = int(event.last_px.as_decimal() / TICK)
        self.fills.append((int(bar), self.index[event.client_order_id.value], ticks))


def nautilus_fills(
    orders: Sequence[Probe],
    bars: Sequence[tuple[int, int, int, int]],
    cancels: Mapping[int, Sequence[int]] | None = None,
    timers: Sequence[int] = (),
    links: Sequence[tuple[int, int]] = (),
) -> list[tuple[int, int, int]]:
    """Fills of ``orders`` by the Nautilus backtest venue over ``bars`` (OHLC in ticks);
    ``cancels``: bar -> orders cancelled in that bar's handler; ``timers``: bars whose
    handler sets a (do-nothing) timer 5 s later; ``links``: OUO pairs."""
    instrument = to_nautilus_instrument(BTCUSDT_PERP)
    bar_type = BarType.from_str(BTCUSDT_PERP.bar_type())
    tick = float(TICK)
    nb = bars_from_arrays(
        bar_type,
        instrument,
        [b[0] * tick for b in bars],
        [b[1] * tick for b in bars],
        [b[2] * tick for b in bars],
        [b[3] * tick for b in bars],
        [1000.0] * len(bars),
        [T0 + i * MINUTE_NS for i in range(len(bars))],
    )
    engine = create_engine(log_level="OFF")
    try:
        add_hedging_venue(engine, instrument, VenueModel())
        engine.add_data(nb)
        strategy = _ProbeStrategy(
            _ProbeConfig(
                bar_type=str(bar_type),
                orders=tuple((o.side, o.kind, o.ticks, o.at) for o in orders),
                cancels=tuple((at, i) for at, ids in (cancels or {}).items() for i in ids),
                timers=tuple(timers),
                links=tuple(links),
            )
        )
        engine.add_strategy(strategy)
        engine.run()
        return list(strategy.fills)
    finally:
        engine.dispose()


def kernel_fills(
    orders: Sequence[Probe],
    bars: Sequence[tuple[int, int, int, int]],
    cancels: Mapping[int, Sequence[int]] | None = None,
    timers: Sequence[int] = (),
    links: Sequence[tuple[int, int]] = (),
) -> list[tuple[int, int, int]]:
    """Fills of the same orders by the kernel's venue (arriving after bar 1, as above); a
    timer is a venue settlement 5 s after the bar (as the kernel's retry timer does)."""
    ot = np.zeros((64, k.O_COLS), np.int64)
    st = np.zeros(k.S_N_ST, np.int64)
    out = np.zeros(k.R_N)
    ip = np.zeros(k.I_N, np.int64)
    ip[k.I_RAW_MULT] = int(TICK.scaleb(16))
    ip[k.I_PAIR] = 1
    ip[k.I_LATENCY_NS] = 50_000_000
    ip[k.I_FILL_CAP] = 64
    ip[k.I_MIN_QTY] = 1
    ip[k.I_MAX_QTY] = 10**6
    fp = np.zeros(k.F_N)
    fp[k.F_TICK], fp[k.F_STEP] = float(TICK), 0.001
    fp[k.F_TP] = fp[k.F_SL] = 5_000.0  # exits the kernel adds after a probe entry fill: far off
    st[k.S_POS_L] = st[k.S_POS_S] = 10**6  # exits never exceed a side
    pos_avg = np.full(2, 50_000.0)
    money = np.zeros(1)
    fl = np.zeros((64, 7), np.int64)
    rej = np.zeros((64, 2), np.int64)
    # BUY limit: a short's TP; SELL limit: a long's TP; stops: the SL of the other side.
    # A cancelled probe is an entry (an exit's cancel would make the strategy re-plan).
    cancelled = {i for ids in (cancels or {}).values() for i in ids}
    row_of: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for i, o in enumerate(orders):
        buy = o.side == "BUY"
        if i in cancelled:
            kind, side = k.ENTRY, (k.LONG if buy else k.SHORT)
        elif o.kind == "LIMIT":
            kind, side = k.TP, (k.SHORT if buy else k.LONG)
        else:
            kind, side = k.SL, (k.SHORT if buy else k.LONG)
        k._add_order(ot, st, out, kind, side, 1, o.ticks, 1, 0, -1)
        row_of.setdefault((kind, side), []).append((o.ticks, i))
    for a, b in links:  # order ids are the probe indexes (rows in placement order)
        ot[a, k.O_TWIN], ot[b, k.O_TWIN] = b, a
    # Sent in bar ``at``'s handler: they reach the venue at the settlement after bar
    # ``at + 1``, in placement order (a limit marketable then fills there).
    for i, o in enumerate(orders):
        ot[i, k.O_ARRIVE] = T0 + o.at * MINUTE_NS + ip[k.I_LATENCY_NS]
    st[k.S_NOW] = T0 + MINUTE_NS
    st[k.S_BAR] = st[k.S_BID] = st[k.S_ASK] = st[k.S_RES_LAST] = bars[1][3]
    k._settle(ot, st, pos_avg, money, out, fl, ip, fp, 1, bars[1][3], rej)
    for j in range(2, len(bars)):
        o_, h, lo, c = bars[j]
        st[k.S_NOW] = T0 + j * MINUTE_NS
        k._walk_bar(ot, st, pos_avg, money, out, fl, ip, fp, j, o_, h, lo, c, False)
        for i in (cancels or {}).get(j, ()):
            r = k._find(ot, st, i)  # order ids are the probe indexes
            ot[r, k.O_PC], ot[r, k.O_CANCEL_AT] = 1, st[k.S_NOW] + ip[k.I_LATENCY_NS]
        k._settle(ot, st, pos_avg, money, out, fl, ip, fp, j, c, rej)
        if j in timers:
            st[k.S_NOW] += RETRY_NS
            k._settle(ot, st, pos_avg, money, out, fl, ip, fp, j, c, rej)
    got = []
    for bar, side, kind, px, _q, _m, _t in fl[: int(out[k.R_FILLS_LOGGED])].tolist():
        rows = row_of.get((kind, side))  # a stop may fill away from its price (a gap)
        if rows is None:
            continue  # an exit the kernel's strategy side placed after an entry fill
        # the first probe not filled yet at that price (a stop: the only one of its kind)
        hit = next((r for r in rows if r[0] == px), rows[0] if len(rows) == 1 else None)
        if hit is not None:
            rows.remove(hit)
        got.append((bar, hit[1] if hit is not None else -1, px))
    return got
