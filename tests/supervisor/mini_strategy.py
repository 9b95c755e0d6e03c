"""A minimal hedge-mode grid used by the supervisor's end-to-end tests.

It implements ``StrategyHandle`` so the daemon can run it exactly like
``HedgeGridStrategy``: ``levels`` LIMIT entries per side around the first bar's close
(BUY on -LONG, SELL on -SHORT), a take-profit LIMIT per entry fill on the same
position side, and on stop it cancels entries (exits stay). It adopts whatever the
node reconciled: if any order for the instrument is open at the first bar it places
no new ladder, and it re-attaches take-profits to uncovered position quantity.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from decimal import Decimal

from nautilus_trader.config import StrategyConfig
from nautilus_trader.model.data import Bar, BarType
from nautilus_trader.model.enums import OrderSide, TimeInForce
from nautilus_trader.model.events import OrderFilled
from nautilus_trader.model.identifiers import ClientOrderId, InstrumentId, PositionId
from nautilus_trader.trading.strategy import Strategy

from hedgegridd.errors import ConfigError
from hedgegridd.strategy.handle import (
    FlattenSide,
    FlattenTicket,
    OrderView,
    RungView,
    SideSnapshot,
    StrategySnapshot,
    TradingState,
)
from hedgegridd.supervisor.inputs import StrategyInputs

ZERO = Decimal(0)


class MiniGridConfig(StrategyConfig, frozen=True, kw_only=True):
    instrument_id: str
    bar_type: str
    levels: int = 2
    step: str = "15"
    qty: str = "0.002"
    tp: str = "15"
    fail_start: bool = False  # stop itself in on_start (a start failure, like a bad config)


class MiniGrid(Strategy):
    """Tiny grid implementing StrategyHandle (test double of HedgeGridStrategy)."""

    def __init__(self, config: MiniGridConfig) -> None:
        super().__init__(config)
        self.iid = InstrumentId.from_str(config.instrument_id)
        self.bar_type = BarType.from_str(config.bar_type)
        self.pids = {
            "LONG": PositionId(f"{self.iid}-LONG"),
            "SHORT": PositionId(f"{self.iid}-SHORT"),
        }
        self.pause_reasons: set[str] = set()
        self.halted: str | None = None
        self.throttle = Decimal(1)
        self.last_bar_ns: int | None = None
        self.last_price: Decimal | None = None
        self.ladder_done = False
        self.fills = 0
        self._seq = 0
        self.start_failure: str | None = None

    def on_start(self) -> None:
        if self.config.fail_start:
            self.start_failure = "instrument rules missing (test)"
            self.stop()
            return
        self.subscribe_bars(self.bar_type)
        self.log.info(f"mini.start open={len(self.cache.orders_open(instrument_id=self.iid))}")

    def on_bar(self, bar: Bar) -> None:
        self.last_bar_ns = bar.ts_event
        self.last_price = Decimal(str(bar.close))
        if not self.ladder_done:
            self.ladder_done = True
            self._attach_exits()
            if self.cache.orders_open(instrument_id=self.iid):
                return  # adopted a ladder from before the restart: no duplicate
            if self.pause_reasons or self.halted or self.throttle == ZERO:
                return
            self._place_ladder(self.last_price)

    def _place_ladder(self, center: Decimal) -> None:
        cfg = self.config
        step = Decimal(cfg.step)
        inst = self.cache.instrument(self.iid)
        for level in range(1, cfg.levels + 1):
            for side, pid, price in (
                (OrderSide.BUY, "LONG", center - step * level),
                (OrderSide.SELL, "SHORT", center + step * level),
            ):
                order = self.order_factory.limit(
                    self.iid,
                    side,
                    inst.make_qty(Decimal(cfg.qty)),
                    inst.make_price(price),
                    time_in_force=TimeInForce.GTC,
                    client_order_id=self._coid("E", pid),
                )
                self.submit_order(order, position_id=self.pids[pid])

    def _exit_qty_resting(self, pid: str) -> Decimal:
        total = ZERO
        for order in self.cache.orders_open(instrument_id=self.iid):
            if self._kind_of(order) == "tp" and self._pid_of(order) == pid:
                total += Decimal(str(order.leaves_qty))
        return total

    @staticmethod
    def _pid_of(order: object) -> str:
        # Reconciled orders come back with position_id=None and tags=None: the kind and
        # the hedge side are encoded in the client order id (mg-<kind><L|S>-...).
        coid = str(order.client_order_id)  # type: ignore[attr-defined]
        return "LONG" if coid[4:5] == "L" else "SHORT"

    @staticmethod
    def _kind_of(order: object) -> str:
        coid = str(order.client_order_id)  # type: ignore[attr-defined]
        if not coid.startswith("mg-"):
            return "foreign"
        return "entry" if coid[3:4] == "E" else "tp"

    def _coid(self, kind: str, pid: str) -> ClientOrderId:
        self._seq += 1
        return ClientOrderId(f"mg-{kind}{pid[0]}-{time.time_ns() % 10**12}-{self._seq}")

    def _position_qty(self, pid: str) -> Decimal:
        pos = self.cache.position(self.pids[pid])
        if pos is None or pos.is_closed:
            return ZERO
        return Decimal(str(pos.quantity))

    def _attach_exits(self) -> None:
        for pid in ("LONG", "SHORT"):
            missing = self._position_qty(pid) - self._exit_qty_resting(pid)
            if missing > ZERO:
                pos = self.cache.position(self.pids[pid])
                self._submit_tp(pid, Decimal(str(pos.avg_px_open)), missing)

    def _submit_tp(self, pid: str, entry_px: Decimal, qty: Decimal) -> None:
        inst = self.cache.instrument(self.iid)
        tp = Decimal(self.config.tp)
        price = entry_px + tp if pid == "LONG" else entry_px - tp
        order = self.order_factory.limit(
            self.iid,
            OrderSide.SELL if pid == "LONG" else OrderSide.BUY,
            inst.make_qty(qty),
            inst.make_price(price),
            time_in_force=TimeInForce.GTC,
            client_order_id=self._coid("T", pid),
        )
        self.submit_order(order, position_id=self.pids[pid])

    def on_order_filled(self, event: OrderFilled) -> None:
        self.fills += 1
        order = self.cache.order(event.client_order_id)
        if order is None or self._kind_of(order) != "entry":
            return
        pid = self._pid_of(order)
        self._submit_tp(pid, Decimal(str(event.last_px)), Decimal(str(event.last_qty)))

    def on_stop(self) -> None:
        self.cancel_entries()

    # -- StrategyHandle ----------------------------------------------------------------
    def _entries(self) -> list[object]:
        return [
            o for o in self.cache.orders_open(instrument_id=self.iid) if self._kind_of(o) == "entry"
        ]

    def _side(self, pid: str) -> SideSnapshot:
        qty = self._position_qty(pid)
        return SideSnapshot(
            side=pid,
            quantity=qty,
            avg_price=None,
            unrealized_pnl=ZERO,
            notional=qty * (self.last_price or ZERO),
            entry_orders=sum(1 for o in self._entries() if self._pid_of(o) == pid),
            tp_quantity=self._exit_qty_resting(pid),
            sl_quantity=ZERO,
        )

    def snapshot(self) -> StrategySnapshot:
        if self.halted:
            state = TradingState.HALTED
        elif self.pause_reasons:
            state = TradingState.PAUSED
        else:
            state = TradingState.RUNNING
        return StrategySnapshot(
            instrument_id=str(self.iid),
            state=state,
            pause_reasons=tuple(sorted(self.pause_reasons)),
            regime="SIDEWAYS",
            center_price=None,
            last_price=self.last_price,
            throttle=self.throttle,
            long=self._side("LONG"),
            short=self._side("SHORT"),
            realized_pnl=ZERO,
            unrealized_pnl=ZERO,
            equity=self._equity(),
            peak_equity=None,
            margin_ratio=None,
            funding_rate=None,
            next_funding_ns=None,
            last_bar_ns=self.last_bar_ns,
            fills=self.fills,
            circuit_breaker_trips=0,
        )

    def _equity(self) -> Decimal | None:
        """Account balance from the cache (like the real strategy; the kill switch reads it)."""
        account = self.cache.account_for_venue(self.iid.venue)
        if account is None:
            return None
        return sum((m.as_decimal() for m in account.balances_total().values()), ZERO)

    def open_orders(self) -> Sequence[OrderView]:
        return []

    def ladders(self) -> Sequence[RungView]:
        return []

    def pause(self, reason: str) -> None:
        self.pause_reasons.add(reason)

    def resume(self, reason: str) -> None:  # type: ignore[override]
        if reason == "*":
            self.pause_reasons.clear()
        else:
            self.pause_reasons.discard(reason)

    def set_throttle(self, value: Decimal) -> None:
        if not ZERO <= value <= 1:
            raise ConfigError("throttle must be within 0..1")
        self.throttle = value

    def cancel_entries(self) -> int:
        entries = self._entries()
        for order in entries:
            self.cancel_order(order)  # type: ignore[arg-type]
        return len(entries)

    def flatten(self, side: FlattenSide) -> FlattenTicket:
        self.pause("flatten")
        cancelled = self.cancel_entries()
        return FlattenTicket(sides=(side.value,), entries_cancelled=cancelled, closing_orders={})

    def is_flat(self, side: FlattenSide) -> bool:
        sides = ("LONG", "SHORT") if side is FlattenSide.BOTH else (side.value,)
        return all(self._position_qty(s) == ZERO for s in sides)

    def halt(self, reason: str) -> None:
        self.halted = reason
        self.cancel_entries()

    def unhalt(self) -> None:
        self.halted = None


def build(inputs: StrategyInputs) -> MiniGrid:
    """Factory for ``--strategy-factory tests.supervisor.mini_strategy:build``."""
    venue = inputs.settings.venue
    return MiniGrid(
        MiniGridConfig(
            instrument_id=venue.instrument_id,
            bar_type=f"{venue.instrument_id}-1-MINUTE-LAST-EXTERNAL",
            oms_type="HEDGING",
            external_order_claims=[venue.instrument_id],
        )
    )
