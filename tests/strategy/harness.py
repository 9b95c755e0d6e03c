"""A real BacktestEngine around HedgeGridStrategy on seeded synthetic bars (test helper)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from nautilus_trader.model.data import Bar, BarType, FundingRateUpdate
from nautilus_trader.model.enums import OrderStatus, PositionSide
from nautilus_trader.model.events import OrderEvent
from nautilus_trader.model.identifiers import PositionId
from nautilus_trader.model.instruments import Instrument

from hedgegridd.backtest.engine import VenueModel, bars_from_arrays
from hedgegridd.backtest.session import BacktestSession
from hedgegridd.core.types import Side
from hedgegridd.data.instruments import BTCUSDT_PERP, to_nautilus_instrument
from hedgegridd.data.synthetic import SyntheticSpec, generate
from hedgegridd.params import StrategyParams, default_strategy_params, parse_strategy_params
from hedgegridd.strategy.config import HedgeGridConfig
from hedgegridd.strategy.strategy import HedgeGridStrategy
from hedgegridd.strategy.warmup import WarmupData

MINUTE_NS = 60_000_000_000
INSTRUMENT_ID = BTCUSDT_PERP.instrument_id
BAR_TYPE = BTCUSDT_PERP.bar_type()


def market(
    minutes: int = 1500, seed: int = 3
) -> tuple[Instrument, list[Bar], list[FundingRateUpdate]]:
    """Synthetic 1m bars (stamped at close) and 8-hourly funding updates."""
    data = generate(SyntheticSpec(seed=seed, minutes=minutes))
    instrument = to_nautilus_instrument(BTCUSDT_PERP)
    b = data.bars
    bars = bars_from_arrays(
        BarType.from_str(BAR_TYPE),
        instrument,
        b.open,
        b.high,
        b.low,
        b.close,
        b.volume,
        ((b.close_time + 1) * 1_000_000).tolist(),
    )
    funding = [
        FundingRateUpdate(
            instrument.id, Decimal(str(r)), int(t) * 1_000_000, int(t) * 1_000_000, interval=480
        )
        for t, r in zip(data.funding.funding_time, data.funding.funding_rate, strict=True)
    ]
    return instrument, bars, funding


def params(**sections: dict[str, Any]) -> StrategyParams:
    """Default params with some sections overridden (e.g. risk={"max_rejections": 2})."""
    doc = default_strategy_params().model_dump(mode="json")
    for name, values in sections.items():
        doc[name] = {**doc[name], **values}
    return parse_strategy_params(doc)


@dataclass
class Harness:
    session: BacktestSession
    strategy: HedgeGridStrategy
    bars: list[Bar]

    def orders(self) -> list[Any]:
        return list(self.session.engine.cache.orders())

    def fills(self) -> list[Any]:
        out = []
        for order in self.orders():
            out.extend(e for e in order.events if type(e).__name__ == "OrderFilled")
        return sorted(out, key=lambda e: (e.ts_event, e.client_order_id.value, e.trade_id.value))


def build(
    strategy_params: StrategyParams | None = None,
    *,
    minutes: int = 1500,
    seed: int = 3,
    warmup: WarmupData | None = None,
    funding: list[FundingRateUpdate] | None = None,
    bars: list[Bar] | None = None,
    config: dict[str, Any] | None = None,
    observer: bool = False,
    balance: Decimal = Decimal(10_000),
    latency_ms: int = 50,
) -> Harness:
    """Engine + strategy ready to run (not run yet)."""
    instrument, mbars, mfunding = market(minutes, seed)
    use_bars = bars if bars is not None else mbars
    session = BacktestSession(
        instrument,
        use_bars,
        mfunding if funding is None else funding,
        VenueModel(starting_balance=balance, latency_ms=latency_ms),
    )
    cfg = HedgeGridConfig.create(
        strategy_params or default_strategy_params(), instrument_id=INSTRUMENT_ID, bar_type=BAR_TYPE
    )
    if config:
        cfg = HedgeGridConfig(**{**_fields(cfg), **config})
    strategy = ObservedStrategy(cfg) if observer else HedgeGridStrategy(cfg)
    if warmup is not None:
        strategy.prime(warmup)
    session.add_strategy(strategy)
    return Harness(session, strategy, use_bars)


def _fields(cfg: HedgeGridConfig) -> dict[str, Any]:
    return {f: getattr(cfg, f) for f in cfg.__struct_fields__}


class ObservedStrategy(HedgeGridStrategy):
    """HedgeGridStrategy plus an exit-invariant check after every order event and bar."""

    def __init__(self, config: HedgeGridConfig) -> None:
        super().__init__(config)
        self.over: list[str] = []  # resting exits exceeding the position (could open/flip it)
        self.under: list[str] = []  # position left under-protected after the strategy's turn
        self.flips: list[str] = []
        self.awaiting_ack: list[str] = []  # short at a bar only behind a cancel in flight
        self.closing_bars: list[str] = []  # covered by market closes in flight instead
        self.events_checked = 0
        self.bars_checked = 0

    def _sides(self) -> dict[str, tuple[PositionId, Decimal]]:
        out = {}
        for side, pid in (("LONG", self.long_pid), ("SHORT", self.short_pid)):
            pos = self.cache.position(pid)
            qty = Decimal(0)
            if pos is not None and pos.is_open:
                if pos.side != (PositionSide.LONG if side == "LONG" else PositionSide.SHORT):
                    self.flips.append(f"{pid} is {pos.side}")
                qty = pos.quantity.as_decimal()
            out[side] = (pid, qty)
        return out

    def _protection(
        self, pid: PositionId, event: Any | None, *, with_cancelling: bool = False
    ) -> tuple[Decimal, Decimal]:
        """TP and SL quantity resting on ``pid``: active only (not cancel-pending), or with
        ``with_cancelling`` also those whose cancel is in flight (they rest until the ack)."""
        tp = sl = Decimal(0)
        filled_now = event.client_order_id if type(event).__name__ == "OrderFilled" else None
        for order in self.cache.orders_for_position(pid):
            if not order.is_reduce_only or not (order.is_open or order.is_inflight):
                continue
            cancelling = (
                order.client_order_id.value in self.book.cancelling
                or order.status == OrderStatus.PENDING_CANCEL
            )
            if cancelling and not with_cancelling:
                continue  # a cancel in flight is not protection (spec)
            if filled_now is not None and filled_now in (order.linked_order_ids or ()):
                continue  # OUO twin filled in this very matching step: the venue cancels it
            if order.tags and order.tags[0] == "tp":
                tp += order.leaves_qty.as_decimal()
            elif order.tags and order.tags[0] == "sl":
                sl += order.leaves_qty.as_decimal()
        return tp, sl

    def _closes(self, pid: PositionId) -> Decimal:
        """Unfilled quantity of our market closes (flatten, gap close) on ``pid``."""
        return sum(
            (
                o.leaves_qty.as_decimal()
                for o in self.cache.orders_for_position(pid)
                if o.tags and o.tags[0] == "flatten" and (o.is_open or o.is_inflight)
            ),
            Decimal(0),
        )

    def on_event(self, event: Any) -> None:
        super().on_event(event)
        if not isinstance(event, OrderEvent):
            return
        self.events_checked += 1
        for side, (pid, qty) in self._sides().items():
            tp, sl = self._protection(pid, event)
            if tp > qty or sl > qty:
                self.over.append(f"{event} {side} pos={qty} tp={tp} sl={sl}")
            closes = self._closes(pid)
            if closes and (tp + closes > qty or sl + closes > qty):
                self.over.append(f"{event} {side} pos={qty} tp={tp} sl={sl} closes={closes}")

    def on_bar(self, bar: Bar) -> None:
        super().on_bar(bar)
        self.bars_checked += 1
        for side, (pid, qty) in self._sides().items():
            tp, sl = self._protection(pid, None)
            if tp > qty or sl > qty:
                self.under.append(f"{bar.ts_event} {side} pos={qty} tp={tp} sl={sl} (over)")
                continue
            if tp == qty and sl == qty:
                continue
            # Short only while an exit's cancel is in flight: the reduce gate counts it (it
            # can still fill) and its replacement goes on the ack, one venue round trip.
            tp_all, sl_all = self._protection(pid, None, with_cancelling=True)
            # A side being closed at market: every unit is in a close in flight, or still
            # under exits whose cancel lets the close follow (one venue round trip).
            closing = self.book.closing_qty(Side(side))
            if self.closer.is_closing(Side(side)) and max(tp_all, sl_all) + closing >= qty:
                self.closing_bars.append(f"{bar.ts_event} {side} pos={qty} closing={closing}")
            elif tp_all < qty or sl_all < qty:
                self.under.append(f"{bar.ts_event} {side} pos={qty} tp={tp} sl={sl}")
            else:
                self.awaiting_ack.append(f"{bar.ts_event} {side} pos={qty} tp={tp} sl={sl}")


def rejected(strategy: HedgeGridStrategy, client_order_id: Any, reason: str) -> Any:
    """A venue rejection event for one of the strategy's orders (real event type)."""
    from nautilus_trader.core.uuid import UUID4
    from nautilus_trader.model.events import OrderRejected
    from nautilus_trader.model.identifiers import AccountId

    now = strategy.clock.timestamp_ns()
    return OrderRejected(
        strategy.trader_id,
        strategy.id,
        strategy.instrument_id,
        client_order_id,
        AccountId("BINANCE-001"),
        reason,
        UUID4(),
        now,
        now,
        due_post_only="POST_ONLY" in reason,
    )


def entry_orders(h: Harness, *, after_ns: int = 0) -> list[Any]:
    """Entry orders the strategy created at or after ``after_ns``."""
    return [o for o in h.orders() if o.tags and o.tags[0] == "entry" and o.ts_init >= after_ns]


def at(h: Harness, minute: int) -> int:
    """Close time (ns) of bar number ``minute`` (1-based) of the harness' bars."""
    return int(h.bars[minute - 1].ts_event)
