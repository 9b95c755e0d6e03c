"""A StrategyHandle stand-in that behaves like a hedge-mode position book.

It keeps LONG/SHORT positions, a wallet balance and a mark price; equity includes
unrealized PnL. Closing orders from ``flatten`` rest until ``fill_closing`` (or an
``exchange`` task) fills them at the mark, realizing PnL, like a venue would; a
repeated ``flatten`` sends only what is not already closing (as the strategy does).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from hedgegridd.strategy.handle import (
    FlattenSide,
    FlattenTicket,
    OrderView,
    RungView,
    SideSnapshot,
    StrategySnapshot,
    TradingState,
)

ZERO = Decimal(0)


@dataclass
class Position:
    qty: Decimal = ZERO
    avg: Decimal = ZERO


class FakeBook:
    """Position book implementing the StrategyHandle protocol."""

    def __init__(
        self,
        *,
        balance: Decimal = Decimal(10000),
        mark: Decimal = Decimal(50000),
        long_qty: Decimal = Decimal("0.1"),
        short_qty: Decimal = Decimal("0.05"),
        entries: int = 10,
    ) -> None:
        self.balance = balance
        self.mark = mark
        self.realized = ZERO
        self.positions = {
            "LONG": Position(long_qty, mark),
            "SHORT": Position(short_qty, mark),
        }
        self.entries = entries
        self.pause_reasons: set[str] = set()
        self.halted: str | None = None
        self.margin_ratio: Decimal | None = Decimal("0.1")
        self.funding_rate: Decimal | None = Decimal("0.0001")
        self.last_bar_ns: int | None = None
        self.bars = 0  # live bars processed (StrategySnapshot.bars)
        self.pending_close: dict[str, Decimal] = {}
        self.flatten_calls: list[FlattenSide] = []
        self.ignore_flattens = 0  # the venue "loses" this many flatten requests
        self.auto_fill = False  # closing orders fill as soon as they are sent
        self.snapshot_error: Exception | None = None
        self.cancel_calls = 0
        self.orders: list[OrderView] = []
        self.snapshot_threads: set[int] = set()

    # -- market / venue side used by tests
    def unrealized(self, side: str) -> Decimal:
        pos = self.positions[side]
        sign = 1 if side == "LONG" else -1
        return (self.mark - pos.avg) * pos.qty * sign

    def fill_closing(self) -> None:
        """The venue fills every resting closing order at the mark."""
        for side, qty in list(self.pending_close.items()):
            pos = self.positions[side]
            pnl = self.unrealized(side) * (qty / pos.qty) if pos.qty else ZERO
            self.realized += pnl
            self.balance += pnl
            pos.qty -= qty
            if pos.qty == ZERO:
                pos.avg = ZERO
        self.pending_close.clear()

    # -- StrategyHandle
    def snapshot(self) -> StrategySnapshot:
        self.snapshot_threads.add(threading.get_ident())
        if self.snapshot_error is not None:
            raise self.snapshot_error
        sides = {}
        for name in ("LONG", "SHORT"):
            pos = self.positions[name]
            sides[name] = SideSnapshot(
                side=name,
                quantity=pos.qty,
                avg_price=pos.avg if pos.qty else None,
                unrealized_pnl=self.unrealized(name),
                notional=pos.qty * self.mark,
                entry_orders=self.entries // 2,
                tp_quantity=pos.qty,
                sl_quantity=pos.qty,
            )
        unreal = sides["LONG"].unrealized_pnl + sides["SHORT"].unrealized_pnl
        state = TradingState.HALTED if self.halted else TradingState.RUNNING
        if not self.halted and self.pause_reasons:
            state = TradingState.PAUSED
        return StrategySnapshot(
            instrument_id="BTCUSDT-PERP.BINANCE",
            state=state,
            pause_reasons=tuple(sorted(self.pause_reasons)),
            regime="SIDEWAYS",
            center_price=self.mark,
            last_price=self.mark,
            throttle=Decimal(1),
            long=sides["LONG"],
            short=sides["SHORT"],
            realized_pnl=self.realized,
            unrealized_pnl=unreal,
            equity=self.balance + unreal,
            peak_equity=None,
            margin_ratio=self.margin_ratio,
            funding_rate=self.funding_rate,
            next_funding_ns=None,
            last_bar_ns=time.time_ns() if self.last_bar_ns is None else self.last_bar_ns,
            fills=3,
            circuit_breaker_trips=0,
            rejects_by_reason={"post_only": 2},
            bars=self.bars,
        )

    def open_orders(self) -> Sequence[OrderView]:
        return list(self.orders)

    def ladders(self) -> Sequence[RungView]:
        return []

    def pause(self, reason: str) -> None:
        self.pause_reasons.add(reason)

    def resume(self, reason: str) -> None:
        self.pause_reasons.discard(reason)

    def set_throttle(self, value: Decimal) -> None:
        raise NotImplementedError

    def cancel_entries(self) -> int:
        self.cancel_calls += 1
        n, self.entries = self.entries, 0
        return n

    def flatten(self, side: FlattenSide) -> FlattenTicket:
        self.flatten_calls.append(side)
        self.pause("flatten")
        sides = ("LONG", "SHORT") if side is FlattenSide.BOTH else (side.value,)
        # Like the strategy: only what is not already closing is sent (no overshoot).
        remaining = {s: self.positions[s].qty - self.pending_close.get(s, ZERO) for s in sides}
        orders = {s: q for s, q in remaining.items() if q > ZERO}
        if self.ignore_flattens > 0:
            self.ignore_flattens -= 1
        else:
            for s, q in orders.items():
                self.pending_close[s] = self.pending_close.get(s, ZERO) + q
            if self.auto_fill:
                self.fill_closing()
        return FlattenTicket(sides=sides, entries_cancelled=0, closing_orders=orders)

    def is_flat(self, side: FlattenSide) -> bool:
        sides = ("LONG", "SHORT") if side is FlattenSide.BOTH else (side.value,)
        return all(self.positions[s].qty == ZERO for s in sides)

    def halt(self, reason: str) -> None:
        self.halted = reason

    def unhalt(self) -> None:
        self.halted = None


class AlertRecorder:
    """An AlertSink that records (key, severity, title)."""

    def __init__(self) -> None:
        self.alerts: list[tuple[str, str, str]] = []

    def notify(self, key, severity, title, text="", fields=None) -> None:  # type: ignore[no-untyped-def]
        self.alerts.append((str(key), severity.name, title))

    @property
    def keys(self) -> list[str]:
        return [k for k, _, _ in self.alerts]
