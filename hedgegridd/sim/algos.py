"""Binance's checks on a new conditional (algo) order: ``POST /fapi/v1/algoOrder``.

``parse_algo`` validates a request (``algoType=CONDITIONAL``) and returns an
``AlgoRequest``; the engine records it. Types: STOP_MARKET and TAKE_PROFIT_MARKET
(a MARKET order at the trigger), STOP and TAKE_PROFIT (a LIMIT order at ``price``
at the trigger). STOP triggers BUY when the price rises to the trigger and SELL
when it falls to it; TAKE_PROFIT the opposite. ``closePosition=true`` (the
``*_MARKET`` types only, no ``quantity``, no ``reduceOnly``) closes the whole leg
when it triggers; one per side, position side and type (-4130). ``workingType``
picks the trigger price (CONTRACT_PRICE: last, MARK_PRICE: mark); an order its
trigger price has already reached is refused with -2021. ``priceProtect`` is
accepted and echoed (not enforced). TRAILING_STOP_MARKET is not simulated (-1116).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

import hedgegridd.sim.checks as checks
from hedgegridd.sim.ledger import is_hedge_close
from hedgegridd.sim.orders import AlgoOrder, VenueError
from hedgegridd.sim.rules import SymbolRules, check_price, check_qty, param_decimal

MARKET_TYPES = ("STOP_MARKET", "TAKE_PROFIT_MARKET")
LIMIT_TYPES = ("STOP", "TAKE_PROFIT")
ALGO_TIFS = ("GTC", "IOC", "FOK", "GTX")


@dataclass(frozen=True, slots=True)
class AlgoRequest:
    """A validated new algo order (quantity 0 when it closes the whole leg)."""

    side: str
    position_side: str
    order_type: str
    qty: Decimal
    trigger_price: Decimal
    price: Decimal
    working_type: str
    tif: str
    reduce_only: bool
    close_position: bool
    price_protect: bool


def _flag(params: dict[str, str], key: str) -> bool | None:
    """A true/false parameter (any case); None when absent; -1130 when malformed."""
    raw = params.get(key)
    if raw is None or raw == "":
        return None
    if raw.lower() not in ("true", "false"):
        raise VenueError(-1130, f"Data sent for parameter '{key}' is not valid.")
    return raw.lower() == "true"


def _not_required(key: str) -> VenueError:
    return VenueError(-1106, f"Parameter '{key}' sent when not required.")


def parse_algo(
    params: dict[str, str],
    rules: SymbolRules,
    *,
    dual_side: bool,
    last: Decimal,
    mark: Decimal,
    open_algos: Iterable[AlgoOrder],
) -> AlgoRequest:
    """Validate ``params`` as Binance does (its error codes); -2021 if already triggered."""
    otype = checks.conditional_type(params)
    side = params.get("side", "")
    if side not in ("BUY", "SELL"):
        raise VenueError(-1117, "Invalid side.")
    ps = checks.position_side(params, dual_side)
    close_position = bool(_flag(params, "closePosition"))
    price_protect = bool(_flag(params, "priceProtect"))
    if close_position:
        if otype not in MARKET_TYPES:
            raise _not_required("closePosition")
        if params.get("quantity"):
            raise _not_required("quantity")
        if _flag(params, "reduceOnly") is not None:
            raise _not_required("reduceOnly")
        if ps != "BOTH" and not is_hedge_close(side, ps):
            raise VenueError(-2022, "ReduceOnly Order is rejected.")
        qty = Decimal(0)
    else:
        quantity = param_decimal(params, "quantity")
        assert quantity is not None
        check_qty(rules, quantity, market=otype in MARKET_TYPES)
        qty = quantity
    trigger = param_decimal(params, "triggerPrice")
    assert trigger is not None
    check_price(rules, trigger)
    price = Decimal(0)
    if otype in LIMIT_TYPES:
        limit = param_decimal(params, "price")
        assert limit is not None
        check_price(rules, limit)
        price = limit
    tif = params.get("timeInForce") or "GTC"
    if tif not in ALGO_TIFS:
        raise VenueError(-1115, "Invalid timeInForce.")
    wt = checks.working_type(params)
    if checks.would_trigger(otype, side, trigger, mark if wt == "MARK_PRICE" else last):
        raise VenueError(-2021, "Order would immediately trigger.")
    if close_position and any(
        a.close_position and (a.side, a.position_side, a.order_type) == (side, ps, otype)
        for a in open_algos
    ):
        raise VenueError(
            -4130,
            "An open stop or take profit order with GTE and closePosition in the direction "
            "is existing.",
        )
    return AlgoRequest(
        side=side,
        position_side=ps,
        order_type=otype,
        qty=qty,
        trigger_price=trigger,
        price=price,
        working_type=wt,
        tif=tif,
        reduce_only=False if close_position else checks.reduce_only(params, dual_side),
        close_position=close_position,
        price_protect=price_protect,
    )
