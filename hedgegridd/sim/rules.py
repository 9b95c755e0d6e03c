"""Venue rules of one symbol: filters, fees, and the checks Binance applies to a request."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

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
            raise VenueError(
                -1102, f"Mandatory parameter '{key}' was not sent, was empty/null, or malformed."
            )
        return None
    try:
        value = Decimal(raw)
    except InvalidOperation as exc:
        raise VenueError(-1100, f"Illegal characters found in parameter '{key}'.") from exc
    if not value.is_finite():
        raise VenueError(-1100, f"Illegal characters found in parameter '{key}'.")
    return value


def param_int(params: dict[str, str], key: str, default: int) -> int:
    """An optional integer parameter (-1100 when it is not an integer)."""
    raw = params.get(key)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise VenueError(
            -1100,
            f"Illegal characters found in parameter '{key}'; legal range is '^[0-9]{{1,20}}$'.",
        ) from exc


def percent_price(filters: list[dict[str, Any]]) -> tuple[Decimal, Decimal] | None:
    """``(multiplierUp, multiplierDown)`` of a symbol's PERCENT_PRICE filter, if it has one."""
    for f in filters:
        if f.get("filterType") == "PERCENT_PRICE":
            return Decimal(str(f["multiplierUp"])), Decimal(str(f["multiplierDown"]))
    return None


def check_percent_price(
    band: tuple[Decimal, Decimal] | None, side: str, price: Decimal, mark: Decimal
) -> None:
    """PERCENT_PRICE: BUY price <= mark x multiplierUp (-4016), SELL >= mark x down (-4024)."""
    if band is None:
        return
    up, down = band
    if side == "BUY" and price > mark * up:
        raise VenueError(-4016, "Price is higher than mark price multiplier cap.")
    if side == "SELL" and price < mark * down:
        raise VenueError(-4024, "Price is lower than mark price multiplier floor.")


def check_market_percent_price(
    band: tuple[Decimal, Decimal] | None, side: str, best: Decimal, mark: Decimal
) -> None:
    """A MARKET order whose counterparty best price is outside the band: -4131."""
    if band is None:
        return
    up, down = band
    if (side == "BUY" and best > mark * up) or (side == "SELL" and best < mark * down):
        raise VenueError(
            -4131, "The counterparty's best price does not meet the PERCENT_PRICE filter limit."
        )


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
