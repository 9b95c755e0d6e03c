"""The read-only ``StrategyHandle`` views: snapshot, open orders, ladders.

Plain values for replies, metrics and alerts, at the instrument's precisions: prices
at the tick (average prices 2 digits finer), quantities at the step, money, ratios
and funding rates at 8 decimals. Cheap: no order history is scanned. Functions of
the strategy's state; ``ControlMixin`` exposes them as the handle's methods.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from nautilus_trader.model.identifiers import ClientOrderId

from hedgegridd.core.exits import protected_qty
from hedgegridd.core.types import ZERO, ExitKind, Side
from hedgegridd.strategy.handle import OrderView, RungView, SideSnapshot, StrategySnapshot
from hedgegridd.strategy.orders import ENTRY
from hedgegridd.strategy.state import StrategyAttrs

_ORDER_TYPES = {"LIMIT": "LIMIT", "STOP_MARKET": "STOP_MARKET", "MARKET": "MARKET"}
MONEY_PLACES = 8  # PnL, equity, notional, ratios and funding rates in replies
AVG_EXTRA_PLACES = 2  # an average entry price is kept 2 digits finer than the tick


def _places(increment: Decimal | None, default: int) -> int:
    """Decimal places of an increment (tick 0.10 -> 1, step 0.001 -> 3)."""
    if increment is None:
        return default
    exponent = increment.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else default


def _round(value: Decimal | None, places: int) -> Decimal | None:
    """``value`` at ``places`` decimals (no float noise such as 59314.375999999975)."""
    if value is None:
        return None
    return _round_z(value, places)


def _round_z(value: Decimal, places: int) -> Decimal:
    """Like ``_round`` for a value that is always present; zero stays a plain ``0``."""
    if value == 0:
        return ZERO
    return value.quantize(Decimal(1).scaleb(-places))


def _precisions(strategy: StrategyAttrs) -> tuple[int, int]:
    """(price places, size places) of the instrument (tick/step once started)."""
    rules = strategy.rules
    return (
        _places(rules.tick if rules is not None else None, 8),
        _places(rules.step if rules is not None else None, 8),
    )


def snapshot(strategy: StrategyAttrs) -> StrategySnapshot:
    """Current state in plain values (cheap: no order history is scanned).

    Prices are at the instrument's price precision (average prices 2 digits finer),
    quantities at its size precision, money, ratios and funding at 8 decimals.
    """
    long, short = strategy.confirmed_positions()
    live, resting = strategy.book.views()
    price = strategy.last_price
    px, sz = _precisions(strategy)
    m = MONEY_PLACES

    def side_snap(pos_side: Side) -> SideSnapshot:
        pos = long if pos_side is Side.LONG else short
        sign = 1 if pos_side is Side.LONG else -1
        upnl = ZERO
        if price is not None and pos.avg_price is not None:
            upnl = (price - pos.avg_price) * pos.qty * sign
        return SideSnapshot(
            side=pos_side.value,
            quantity=_round_z(pos.qty, sz),
            avg_price=_round(pos.avg_price, px + AVG_EXTRA_PLACES),
            unrealized_pnl=_round_z(upnl, m),
            notional=_round_z(pos.qty * price if price is not None else ZERO, m),
            entry_orders=sum(1 for e in live if e.side is pos_side and not e.pending_cancel),
            tp_quantity=_round_z(protected_qty(resting, pos_side, ExitKind.TP), sz),
            sl_quantity=_round_z(protected_qty(resting, pos_side, ExitKind.SL), sz),
            closing_quantity=_round_z(strategy.book.closing_qty(pos_side), sz),
            closing=strategy.closer.is_closing(pos_side),
        )

    ls, ss = side_snap(Side.LONG), side_snap(Side.SHORT)
    risk = strategy.risk
    return StrategySnapshot(
        instrument_id=str(strategy.instrument_id),
        state=strategy.state_now(),
        pause_reasons=strategy.pause_reasons_now(),
        regime=strategy.regime.regime.value if strategy.regime is not None else "WARMUP",
        center_price=_round(strategy.center, px),
        last_price=_round(price, px),
        throttle=strategy.throttle,
        long=ls,
        short=ss,
        realized_pnl=_round_z(strategy.book.realized_pnl, m),
        unrealized_pnl=_round_z(ls.unrealized_pnl + ss.unrealized_pnl, m),
        equity=_round(strategy.equity, m),
        peak_equity=_round(risk.peak_equity if risk is not None else None, m),
        margin_ratio=_round(_margin_ratio(strategy), m),
        funding_rate=_round(strategy.funding.rate if strategy.funding is not None else None, m),
        next_funding_ns=strategy.funding.next_funding_ns if strategy.funding is not None else None,
        last_bar_ns=strategy.last_bar_ns,
        fills=strategy.book.fills,
        circuit_breaker_trips=risk.trips if risk is not None else 0,
        rejects_by_reason=dict(strategy.book.rejects_by_reason),
        bar_gaps=strategy.bar_gaps,
        bars=strategy.bars,
    )


def _margin_ratio(strategy: StrategyAttrs) -> Decimal | None:
    account = strategy.cache.account_for_venue(strategy.instrument_id.venue)
    if account is None or strategy.equity is None or strategy.equity <= 0:
        return None
    margins = getattr(account, "margins_maint", None)
    if margins is None:
        return None
    maint = sum((m.as_decimal() for m in margins().values()), ZERO)
    return maint / strategy.equity


def open_orders(strategy: StrategyAttrs) -> Sequence[OrderView]:
    """Our open orders (entries, exits, flatten) as plain views."""
    views: list[OrderView] = []
    px, sz = _precisions(strategy)
    for key, meta in strategy.book.open_ids.items():
        order = strategy.cache.order(ClientOrderId(key))
        if order is None or order.is_closed:
            continue
        price = order.price if meta.kind != "sl" and order.has_price else None
        if meta.kind == "sl":
            price = order.trigger_price
        views.append(
            OrderView(
                client_order_id=key,
                position_side=meta.side.value,
                kind=meta.kind,
                order_side=order.side_string(),
                order_type=_ORDER_TYPES.get(order.type_string(), order.type_string()),
                price=_round(price.as_decimal() if price is not None else None, px),
                quantity=_round_z(order.quantity.as_decimal(), sz),
                filled=_round_z(order.filled_qty.as_decimal(), sz),
                status=order.status_string(),
                level=meta.level if meta.kind == ENTRY else None,
            )
        )
    return views


def ladders(strategy: StrategyAttrs) -> Sequence[RungView]:
    """Desired rungs of the last grid decision."""
    d = strategy.last_decision
    if d is None:
        return ()
    px, sz = _precisions(strategy)
    return tuple(
        RungView(
            side=r.side.value,
            level=r.level,
            price=_round_z(r.price, px),
            quantity=_round_z(r.qty, sz),
        )
        for r in d.desired_rungs
    )
