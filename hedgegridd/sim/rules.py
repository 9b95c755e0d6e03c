"""Venue rules of one symbol: filters, fees, and the checks Binance applies to a request."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from hedgegridd.sim.orders import VenueError


@dataclass(frozen=True, slots=True)
class SymbolRules:
    """The filters and fees the engine enforces (from the served exchangeInfo)."""

    symbol: str
    tick: Decimal
    step: Decimal
    min_qty: Decimal
    max_qty: Decimal
    market_max_qty: Decimal
    min_notional: Decimal
    maker_fee: Decimal
    taker_fee: Decimal
    maint_margin: Decimal = Decimal("0.004")


def param_decimal(params: dict[str, str], key: str, *, required: bool = True) -> Decimal | None:
    raw = params.get(key)
    if raw is None or raw == "":
        if required:
            raise VenueError(-1102, f"Mandatory parameter '{key}' was not sent, was empty/null.")
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation as exc:
        raise VenueError(-1100, f"Illegal characters found in parameter '{key}'.") from exc
    if not value.is_finite():
        raise VenueError(-1100, f"Illegal characters found in parameter '{key}'.")
    return value


def int_id(raw: str, name: str) -> int:
    try:
        return int(raw)
    except ValueError as exc:
        raise VenueError(-1100, f"Illegal characters found in parameter '{name}'.") from exc


def decimals(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return max(0, -int(exponent))


def check_price(rules: SymbolRules, price: Decimal) -> None:
    """-4001 non-positive, -1111 more decimals than the tick, -4014 off the tick grid."""
    if price <= 0:
        raise VenueError(-4001, "Price less than 0.")
    if decimals(price) > decimals(rules.tick):
        raise VenueError(-1111, "Precision is over the maximum defined for this asset.")
    if price % rules.tick != 0:
        raise VenueError(-4014, "Price not increased by tick size.")


def check_qty(rules: SymbolRules, qty: Decimal, *, market: bool) -> None:
    """-4003 below min/zero, -1111 off the step, -4005 above the (market) max."""
    if qty <= 0:
        raise VenueError(-4003, "Quantity less than or equal to zero.")
    if decimals(qty) > decimals(rules.step) or qty % rules.step != 0:
        raise VenueError(-1111, "Precision is over the maximum defined for this asset.")
    if qty < rules.min_qty:
        raise VenueError(-4003, "Quantity less than or equal to zero.")
    if qty > (rules.market_max_qty if market else rules.max_qty):
        raise VenueError(-4005, "Quantity greater than max quantity.")
