"""Binance's checks on a new order's parameters (position side, reduce-only, closes, margin).

Pure functions over the request and the account; each raises ``VenueError`` with
Binance's code and message. In hedge mode a closing order (SELL LONG / BUY SHORT)
larger than its leg minus the other resting closes on that leg is refused with
-2022 "ReduceOnly Order is rejected." (what Binance answers; see docs/sim.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from hedgegridd.sim.ledger import Ledger, is_hedge_close
from hedgegridd.sim.orders import SimOrder, VenueError
from hedgegridd.sim.rules import SymbolRules, check_price, check_qty, param_decimal

CONDITIONAL_TYPES = ("STOP_MARKET", "TAKE_PROFIT_MARKET", "STOP", "TAKE_PROFIT")
STOP_TYPES = ("STOP_MARKET", "STOP")
ALGO_ENDPOINT_MSG = (
    "Order type not supported for this endpoint. Please use the Algo Order API endpoints instead."
)
WORKING_TYPES = ("CONTRACT_PRICE", "MARK_PRICE")


def parse_order(
    params: dict[str, str], rules: SymbolRules, dual_side: bool
) -> tuple[str, str, str, Decimal, str, Decimal]:
    """A new LIMIT/MARKET order's side, type, position side, quantity, timeInForce and
    price (0 for MARKET), each checked; conditional types get -4120."""
    side = params.get("side", "")
    if side not in ("BUY", "SELL"):
        raise VenueError(-1117, "Invalid side.")
    otype = params.get("type", "")
    if otype not in ("LIMIT", "MARKET"):
        if otype in (*CONDITIONAL_TYPES, "TRAILING_STOP_MARKET"):
            raise VenueError(-4120, ALGO_ENDPOINT_MSG)
        raise VenueError(-1116, "Invalid orderType.")
    ps = position_side(params, dual_side)
    qty = param_decimal(params, "quantity")
    assert qty is not None
    market = otype == "MARKET"
    check_qty(rules, qty, market=market)
    tif = params.get("timeInForce", "GTC") if not market else "GTC"
    if tif not in ("GTC", "GTX", "IOC", "FOK"):
        raise VenueError(-1115, "Invalid timeInForce.")
    price = Decimal(0)
    if not market:
        limit = param_decimal(params, "price")
        assert limit is not None
        check_price(rules, limit)
        price = limit
    return side, otype, ps, qty, tif, price


def position_side(params: dict[str, str], dual_side: bool) -> str:
    """The request's positionSide: -4006 unknown, -4061 when it does not match the mode."""
    ps = params.get("positionSide", "BOTH")
    if ps not in ("BOTH", "LONG", "SHORT"):
        raise VenueError(-4006, "Invalid position side.")
    if (dual_side and ps == "BOTH") or (not dual_side and ps != "BOTH"):
        raise VenueError(-4061, "Order's position side does not match user's setting.")
    return ps


def reduce_only(params: dict[str, str], dual_side: bool) -> bool:
    """The reduceOnly flag; Binance refuses it in hedge mode (-1106)."""
    flag = params.get("reduceOnly", "false").lower() == "true"
    if flag and dual_side:
        raise VenueError(-1106, "Parameter 'reduceonly' sent when not required.")
    return flag


def check_close(
    ledger: Ledger, open_orders: Iterable[SimOrder], side: str, ps: str, qty: Decimal
) -> None:
    """Hedge mode: a close larger than the leg minus resting closes on it gives -2022."""
    pending = sum(
        (o.remaining for o in open_orders if o.position_side == ps and o.side == side),
        Decimal(0),
    )
    if qty + pending > abs(ledger.positions[ps].amt):
        raise VenueError(-2022, "ReduceOnly Order is rejected.")


def check_reduce_only(ledger: Ledger, side: str, qty: Decimal) -> None:
    """One-way mode: a reduceOnly order must shrink the BOTH leg, else -2022."""
    amt = ledger.positions["BOTH"].amt
    reduces = (side == "SELL" and amt > 0) or (side == "BUY" and amt < 0)
    if not reduces or qty > abs(amt):
        raise VenueError(-2022, "ReduceOnly Order is rejected.")


def check_margin(
    available: Decimal, leverage: int, side: str, ps: str, qty: Decimal, price: Decimal
) -> None:
    """-2019 when an opening order's initial margin exceeds the account's available balance."""
    if is_hedge_close(side, ps):
        return
    if qty * price / Decimal(leverage) > available:
        raise VenueError(-2019, "Margin is insufficient.")


def would_trigger(order_type: str, side: str, trigger: Decimal, price: Decimal) -> bool:
    """Whether a conditional order with ``trigger`` is already triggered at ``price``.

    STOP_MARKET, STOP: BUY when price >= trigger, SELL when price <= trigger.
    TAKE_PROFIT_MARKET, TAKE_PROFIT: BUY when price <= trigger, SELL when price >= trigger.
    """
    rising = (order_type in STOP_TYPES) == (side == "BUY")
    return price >= trigger if rising else price <= trigger


def conditional_type(params: dict[str, str]) -> str:
    """The algo order's type (-1116 unless STOP_MARKET, TAKE_PROFIT_MARKET, STOP or
    TAKE_PROFIT; TRAILING_STOP_MARKET is not simulated)."""
    if params.get("algoType", "CONDITIONAL") != "CONDITIONAL":
        raise VenueError(-1116, "Invalid algoType.")
    otype = params.get("type", "")
    if otype not in CONDITIONAL_TYPES:
        raise VenueError(-1116, "Invalid orderType.")
    return otype


def working_type(params: dict[str, str]) -> str:
    """CONTRACT_PRICE (default, triggers on last) or MARK_PRICE (-1116 otherwise)."""
    wt = params.get("workingType") or "CONTRACT_PRICE"
    if wt not in WORKING_TYPES:
        raise VenueError(-1116, "Invalid workingType.")
    return wt
