"""Decimal rounding to the instrument's tick and step, in a direction that never crosses.

Results carry the tick's/step's exponent (``str()`` gives "50000.0" for tick 0.1).
Buys round their price down, sells round up (a rounded order is never more aggressive
than intended); quantities floor to the step and cap at ``max_qty``; rungs under
``min_qty`` or ``min_notional`` are dropped. All functions are idempotent.
"""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from hedgegridd.core.types import ZERO, InstrumentRules, Rung, Side


def round_price_down(price: Decimal, tick: Decimal) -> Decimal:
    """Largest multiple of ``tick`` that is <= ``price``."""
    return ((price / tick).to_integral_value(rounding=ROUND_FLOOR) * tick).quantize(tick)


def round_price_up(price: Decimal, tick: Decimal) -> Decimal:
    """Smallest multiple of ``tick`` that is >= ``price``."""
    return ((price / tick).to_integral_value(rounding=ROUND_CEILING) * tick).quantize(tick)


def round_entry_price(price: Decimal, side: Side, tick: Decimal) -> Decimal:
    """Entry price to tick: LONG entries (buys) down, SHORT entries (sells) up."""
    if side is Side.LONG:
        return round_price_down(price, tick)
    return round_price_up(price, tick)


def floor_qty(qty: Decimal, step: Decimal) -> Decimal:
    """Largest multiple of ``step`` that is <= ``qty`` (never negative)."""
    if qty <= 0:
        return ZERO
    return ((qty / step).to_integral_value(rounding=ROUND_FLOOR) * step).quantize(step)


def clamp_qty(qty: Decimal, rules: InstrumentRules) -> Decimal:
    """Quantity floored to step and capped at ``max_qty``; ZERO if under ``min_qty``."""
    q = floor_qty(min(qty, rules.max_qty), rules.step)
    if q < rules.min_qty:
        return ZERO
    return q


def clamp_rung(rung: Rung, rules: InstrumentRules) -> Rung | None:
    """The rung rounded to the rules, or None if it is not tradable (qty/notional/price)."""
    price = round_entry_price(rung.price, rung.side, rules.tick)
    if price <= 0:
        return None
    qty = clamp_qty(rung.qty, rules)
    if qty <= 0 or price * qty < rules.min_notional:
        return None
    if price == rung.price and qty == rung.qty:
        return rung
    return Rung(rung.side, rung.level, price, qty)


def is_on_tick(value: Decimal, tick: Decimal) -> bool:
    """True when ``value`` is an exact multiple of ``tick``."""
    return (value % tick) == 0
