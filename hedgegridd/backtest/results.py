"""Read everything a report needs out of a finished engine, BEFORE it is disposed.

``extract_results(engine, ...)`` copies fills, order counts, account totals,
the recorder's curves and the funding module's payments into plain frozen
dataclasses (no Nautilus objects), so the engine can be disposed right after.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal

from nautilus_trader.backtest.engine import BacktestEngine
from nautilus_trader.model.enums import LiquiditySide, OrderSide, OrderStatus
from nautilus_trader.model.events import OrderDenied, OrderFilled, OrderRejected
from nautilus_trader.model.identifiers import Venue

from hedgegridd.backtest.funding import FundingPayment, FundingSettlementModule
from hedgegridd.backtest.recorder import EquityRecorder
from hedgegridd.errors import BacktestError


@dataclass(frozen=True, slots=True)
class FillRecord:
    """One fill, as plain values."""

    ts_ns: int
    client_order_id: str
    trade_id: str
    position_side: str  # "LONG" | "SHORT"
    order_side: str  # "BUY" | "SELL"
    price: Decimal
    quantity: Decimal
    commission: Decimal
    maker: bool
    tag: str  # first order tag ("entry"/"tp"/"sl"/"flatten"/...) or ""


@dataclass(frozen=True, slots=True)
class BacktestResults:
    """Plain copy of a finished run."""

    instrument_id: str
    starting_balance: Decimal
    final_balance: Decimal
    final_equity: Decimal
    fills: tuple[FillRecord, ...]
    orders: int
    cancels: int
    rejects: int
    denied: int
    funding: tuple[FundingPayment, ...]
    ts: tuple[int, ...]
    close: tuple[float, ...]
    equity: tuple[float, ...]
    long_qty: tuple[float, ...]
    short_qty: tuple[float, ...]
    final_long_qty: Decimal
    final_short_qty: Decimal
    account_realized_pnl: Decimal  # balance change minus net funding: trading PnL after fees
    reject_reasons: dict[str, int] = field(default_factory=dict)
    run_seconds: float | None = None  # engine wall time (first run call to end), no loading


def _reason_key(reason: str) -> str:
    """Group reasons by their wording: numbers and ids blanked, whole (at most 300 chars)."""
    return re.sub(r"[0-9][0-9.,]*", "N", reason.split(":")[0])[:300]


def _position_side(position_id: object, order_side: OrderSide) -> str:
    text = str(position_id) if position_id is not None else ""
    if text.endswith("-LONG"):
        return "LONG"
    if text.endswith("-SHORT"):
        return "SHORT"
    raise BacktestError(f"fill without a hedge position id (order side {order_side})")


def extract_results(
    engine: BacktestEngine,
    *,
    instrument_id: str,
    venue: Venue,
    starting_balance: Decimal,
    recorder: EquityRecorder,
    funding: FundingSettlementModule | None,
) -> BacktestResults:
    """Copy the run's results out of ``engine`` (which must not be disposed yet)."""
    cache = engine.cache
    account = cache.account_for_venue(venue)
    if account is None:
        raise BacktestError("no account for the venue: the engine was disposed or never ran")
    fills: list[FillRecord] = []
    cancels = rejects = denied = 0
    reasons: Counter[str] = Counter()
    orders = cache.orders()
    for order in orders:
        status = order.status
        if status == OrderStatus.CANCELED:
            cancels += 1
        tag = order.tags[0] if order.tags else ""
        for event in order.events:
            if isinstance(event, OrderFilled):
                fills.append(
                    FillRecord(
                        ts_ns=event.ts_event,
                        client_order_id=str(event.client_order_id),
                        trade_id=str(event.trade_id),
                        position_side=_position_side(event.position_id, event.order_side),
                        order_side="BUY" if event.order_side == OrderSide.BUY else "SELL",
                        price=event.last_px.as_decimal(),
                        quantity=event.last_qty.as_decimal(),
                        commission=event.commission.as_decimal(),
                        maker=event.liquidity_side == LiquiditySide.MAKER,
                        tag=tag,
                    )
                )
            elif isinstance(event, OrderRejected):
                rejects += 1
                reasons[_reason_key(str(event.reason))] += 1
            elif isinstance(event, OrderDenied):
                denied += 1
                reasons["DENIED " + _reason_key(str(event.reason))] += 1
    fills.sort(key=lambda f: (f.ts_ns, f.client_order_id, f.trade_id))
    balance = sum((m.as_decimal() for m in account.balances_total().values()), Decimal(0))
    qty = {"LONG": Decimal(0), "SHORT": Decimal(0)}
    unrealized = Decimal(0)
    last_close = recorder.close[-1] if recorder.close else None
    for position in cache.positions_open():
        side = "LONG" if str(position.id).endswith("-LONG") else "SHORT"
        qty[side] = position.quantity.as_decimal()
        if last_close is not None:
            instrument = cache.instrument(position.instrument_id)
            px = instrument.make_price(last_close)
            unrealized += position.unrealized_pnl(px).as_decimal()
    funding_net = sum((p.amount for p in funding.payments), Decimal(0)) if funding else Decimal(0)
    return BacktestResults(
        instrument_id=instrument_id,
        starting_balance=starting_balance,
        final_balance=balance,
        final_equity=balance + unrealized,
        fills=tuple(fills),
        orders=len(orders),
        cancels=cancels,
        rejects=rejects,
        denied=denied,
        funding=tuple(funding.payments) if funding is not None else (),
        ts=tuple(recorder.ts),
        close=tuple(recorder.close),
        equity=tuple(recorder.equity),
        long_qty=tuple(recorder.long_qty),
        short_qty=tuple(recorder.short_qty),
        final_long_qty=qty["LONG"],
        final_short_qty=qty["SHORT"],
        account_realized_pnl=balance - starting_balance - funding_net,
        reject_reasons=dict(reasons),
        run_seconds=_engine_seconds(engine),
    )


def _engine_seconds(engine: BacktestEngine) -> float | None:
    """Seconds from the engine's first ``run`` call to its end (data loading excluded)."""
    started, finished = engine.run_started, engine.run_finished
    if started is None or finished is None:
        return None
    return float((finished - started).total_seconds())
