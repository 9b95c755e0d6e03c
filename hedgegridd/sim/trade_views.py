"""Trade endpoints (USD-M Futures "Trade" REST API): orders, batches, algo orders.

Before an order reaches the venue the REST checks Binance makes on the request are
applied here: mandatory parameters (-1102), the symbol (-1121), conditional types on
``/fapi/v1/order`` (-4120, pointing to the Algo Order API), ``newOrderRespType``
(-1136; ACK is the default: the order as accepted, RESULT: its state after matching)
and the PERCENT_PRICE filter against the mark (-4016 / -4024 for a price, -4131 for
a MARKET order whose counterparty price is outside the band).
"""

from __future__ import annotations

import json
import re
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from hedgegridd.sim.auth import mandatory
from hedgegridd.sim.orders import VenueError, money
from hedgegridd.sim.rules import (
    check_market_percent_price,
    check_percent_price,
    param_decimal,
    param_int,
    percent_price,
)
from hedgegridd.sim.symbols import market_of, markets_for

if TYPE_CHECKING:
    from hedgegridd.sim.host import SimHost as SimExchange
    from hedgegridd.sim.orders import SimOrder
    from hedgegridd.sim.symbols import Market

ALGO_ONLY_TYPES = (
    "STOP",
    "STOP_MARKET",
    "TAKE_PROFIT",
    "TAKE_PROFIT_MARKET",
    "TRAILING_STOP_MARKET",
)
ALGO_ENDPOINT_MSG = (
    "Order type not supported for this endpoint. Please use the Algo Order API endpoints instead."
)
RESP_TYPES = ("ACK", "RESULT")
CLIENT_ID = re.compile(r"^[\.A-Z\:/a-z0-9_-]{1,36}$")
MAX_BATCH_ORDERS = 5
MAX_BATCH_CANCELS = 10


def _require(p: dict[str, str], *names: str) -> None:
    for name in names:
        if not p.get(name):
            raise mandatory(name)


def _order_ref(p: dict[str, str]) -> tuple[str | None, str | None]:
    order_id, client_id = p.get("orderId") or None, p.get("origClientOrderId") or None
    if order_id is None and client_id is None:
        raise VenueError(
            -1102, "Param 'orderId' or 'origClientOrderId' must be sent, but both were empty/null!"
        )
    return order_id, client_id


def _position_side(p: dict[str, str]) -> None:
    """-4060 for a positionSide that is not BOTH, LONG or SHORT."""
    if p.get("positionSide", "BOTH") not in ("BOTH", "LONG", "SHORT"):
        raise VenueError(-4060, "Invalid position side.")


def _client_id(p: dict[str, str], name: str) -> None:
    """-4015 unless the client id follows ``^[\\.A-Z\\:/a-z0-9_-]{1,36}$`` (when sent)."""
    value = p.get(name)
    if value is not None and CLIENT_ID.fullmatch(value) is None:
        raise VenueError(-4015, "Client order id is not valid.")


def _unsupported(p: dict[str, str]) -> None:
    """-1020 for the order options the simulator does not emulate (priceMatch, GTD)."""
    if p.get("priceMatch", "NONE") not in ("", "NONE") or p.get("timeInForce") == "GTD":
        raise VenueError(-1020, "This operation is not supported.")


def _band(m: Market) -> tuple[Decimal, Decimal] | None:
    return percent_price(m.symbol_info.get("filters", []))


def _checked_new_order(sim: SimExchange, p: dict[str, str]) -> tuple[Market, str]:
    """Binance's request checks of a new order; returns its market and response type."""
    m = market_of(sim, p.get("symbol"))
    _require(p, "side", "type")
    otype = p["type"]
    _position_side(p)
    _client_id(p, "newClientOrderId")
    _unsupported(p)
    if otype in ALGO_ONLY_TYPES:
        raise VenueError(-4120, ALGO_ENDPOINT_MSG)
    resp_type = p.get("newOrderRespType") or "ACK"
    if resp_type not in RESP_TYPES:
        raise VenueError(-1136, "Invalid newOrderRespType.")
    side = p["side"]
    if otype == "LIMIT":
        _require(p, "timeInForce", "quantity", "price")
        price = param_decimal(p, "price")
        assert price is not None
        check_percent_price(_band(m), side, price, m.engine.mark)
    elif otype == "MARKET":
        _require(p, "quantity")
        best = m.engine.ask if side == "BUY" else m.engine.bid
        check_market_percent_price(_band(m), side, best, m.engine.mark)
    return m, resp_type


def _as_sent(body: dict[str, Any], resp_type: str, m: Market) -> dict[str, Any]:
    """The new-order answer: ACK shows the order as accepted, RESULT after matching."""
    out = dict(body)
    out["cumQty"] = out.get("executedQty", m.fmt.qt(Decimal(0)))
    if resp_type == "ACK" and out.get("status") != "NEW":
        zero = Decimal(0)
        out.update(
            status="NEW",
            executedQty=m.fmt.qt(zero),
            cumQty=m.fmt.qt(zero),
            cumQuote=money(zero),
            avgPrice=m.fmt.px(zero),
            updateTime=out.get("time", out.get("updateTime")),
        )
    return out


async def new_order(sim: SimExchange, p: dict[str, str]) -> dict[str, Any]:
    """``POST /fapi/v1/order`` (LIMIT, MARKET)."""
    m, resp_type = _checked_new_order(sim, p)
    return _as_sent(await sim.venue.place_order(p), resp_type, m)


async def batch_orders(sim: SimExchange, p: dict[str, str]) -> list[dict[str, Any]]:
    """``POST /fapi/v1/batchOrders``: up to 5 orders, each answered or refused on its own."""
    batch = _json_list(p.get("batchOrders"), "batchOrders")
    if len(batch) > MAX_BATCH_ORDERS:
        raise VenueError(-4082, f"Invalid number of batch place orders: {len(batch)}")
    out: list[dict[str, Any]] = []
    for item in batch:
        params = {k: str(v) for k, v in item.items()} if isinstance(item, dict) else {}
        try:
            m, resp_type = _checked_new_order(sim, params)
            out.append(_as_sent(await sim.venue.place_order(params), resp_type, m))
        except VenueError as exc:
            out.append(exc.body())
    return out


def _find(m: Market, p: dict[str, str]) -> SimOrder:
    order_id, client_id = _order_ref(p)
    return m.engine.find_order(order_id, client_id)


def query_order(sim: SimExchange, p: dict[str, str]) -> dict[str, Any]:
    """``GET /fapi/v1/order`` (-2013 when unknown)."""
    m = market_of(sim, p.get("symbol"))
    return _find(m, p).to_rest(m.fmt)


def open_order(sim: SimExchange, p: dict[str, str]) -> dict[str, Any]:
    """``GET /fapi/v1/openOrder`` (-2013 unless open)."""
    m = market_of(sim, p.get("symbol"))
    order = _find(m, p)
    if not order.is_open:
        raise VenueError(-2013, "Order does not exist.")
    return order.to_rest(m.fmt)


async def cancel_order(sim: SimExchange, p: dict[str, str]) -> dict[str, Any]:
    """``DELETE /fapi/v1/order`` (-2011 when unknown or no longer open)."""
    m = market_of(sim, p.get("symbol"))
    order_id, client_id = _order_ref(p)
    body = await sim.venue.cancel_order(order_id, client_id, m.symbol)
    return {**body, "cumQty": body.get("executedQty", m.fmt.qt(Decimal(0)))}


async def modify_order(sim: SimExchange, p: dict[str, str]) -> dict[str, Any]:
    """``PUT /fapi/v1/order``: new price and quantity of a resting LIMIT order."""
    m = market_of(sim, p.get("symbol"))
    _order_ref(p)
    _require(p, "side", "quantity", "price")
    price = param_decimal(p, "price")
    assert price is not None
    check_percent_price(_band(m), p["side"], price, m.engine.mark)
    body = await sim.venue.modify_order(p)
    return {**body, "cumQty": body.get("executedQty", m.fmt.qt(Decimal(0)))}


async def batch_modify(sim: SimExchange, p: dict[str, str]) -> list[dict[str, Any]]:
    """``PUT /fapi/v1/batchOrders``: up to 5 amendments, each answered on its own."""
    batch = _json_list(p.get("batchOrders"), "batchOrders")
    if len(batch) > MAX_BATCH_ORDERS:
        raise VenueError(-4082, f"Invalid number of batch place orders: {len(batch)}")
    out: list[dict[str, Any]] = []
    for item in batch:
        params = {k: str(v) for k, v in item.items()} if isinstance(item, dict) else {}
        try:
            out.append(await modify_order(sim, params))
        except VenueError as exc:
            out.append(exc.body())
    return out


async def batch_cancel(sim: SimExchange, p: dict[str, str]) -> list[dict[str, Any]]:
    """``DELETE /fapi/v1/batchOrders``: up to 10 ids or client ids."""
    m = market_of(sim, p.get("symbol"))
    ids, clients = p.get("orderIdList"), p.get("origClientOrderIdList")
    pairs: list[tuple[str | None, str | None]]
    if ids:
        pairs = [(str(i), None) for i in _json_list(ids, "orderIdList")]
    elif clients:
        pairs = [(None, str(c)) for c in _json_list(clients, "origClientOrderIdList")]
    else:
        raise VenueError(
            -1102,
            "Param 'orderIdList' or 'origClientOrderIdList' must be sent, "
            "but both were empty/null!",
        )
    if len(pairs) > MAX_BATCH_CANCELS:
        raise VenueError(-4032, "Exceed maximum cancel order size.")
    out: list[dict[str, Any]] = []
    for order_id, client_id in pairs:
        try:
            out.append(await sim.venue.cancel_order(order_id, client_id, m.symbol))
        except VenueError as exc:
            out.append(exc.body())
    return out


def open_orders(sim: SimExchange, p: dict[str, str]) -> list[dict[str, Any]]:
    """``GET /fapi/v1/openOrders`` (one symbol, or every symbol without ``symbol``)."""
    return [
        o.to_rest(m.fmt) for m in markets_for(sim, p.get("symbol")) for o in m.engine.open_orders()
    ]


def _window(p: dict[str, str], default_limit: int, most: int) -> tuple[int, int, int]:
    start = param_int(p, "startTime", 0)
    end = param_int(p, "endTime", 2**62)
    if start > end:
        raise VenueError(-1023, "Start time is greater than end time.")
    return start, end, max(1, min(param_int(p, "limit", default_limit), most))


def all_orders(sim: SimExchange, p: dict[str, str]) -> list[dict[str, Any]]:
    """``GET /fapi/v1/allOrders`` (limit default 500, max 1000)."""
    m = market_of(sim, p.get("symbol"))
    start, end, limit = _window(p, 500, 1000)
    from_id = param_int(p, "orderId", 0)
    rows = [
        o for o in m.engine.orders.values() if start <= o.time_ms <= end and o.order_id >= from_id
    ]
    rows = rows[:limit] if from_id or "startTime" in p else rows[-limit:]
    return [o.to_rest(m.fmt) for o in rows]


def user_trades(sim: SimExchange, p: dict[str, str]) -> list[dict[str, Any]]:
    """``GET /fapi/v1/userTrades`` (limit default 500, max 1000)."""
    m = market_of(sim, p.get("symbol"))
    start, end, limit = _window(p, 500, 1000)
    order_id = p.get("orderId")
    from_id = param_int(p, "fromId", 0)
    rows = [
        t
        for t in m.engine.trades
        if start <= t.time_ms <= end
        and (order_id is None or str(t.order_id) == order_id)
        and t.trade_id >= from_id
    ]
    rows = rows[:limit] if from_id or "startTime" in p else rows[-limit:]
    return [t.to_rest(m.fmt) for t in rows]


async def cancel_all(sim: SimExchange, p: dict[str, str]) -> dict[str, Any]:
    """``DELETE /fapi/v1/allOpenOrders``."""
    m = market_of(sim, p.get("symbol"))
    await sim.venue.cancel_all(m.symbol)
    return {"code": 200, "msg": "The operation of cancel all open order is done."}


def countdown(sim: SimExchange, p: dict[str, str]) -> dict[str, Any]:
    """``POST /fapi/v1/countdownCancelAll`` (0 disarms)."""
    m = market_of(sim, p.get("symbol"))
    _require(p, "countdownTime")
    ms = param_int(p, "countdownTime", 0)
    sim.venue.set_countdown(ms, m.symbol)
    return {"symbol": m.symbol, "countdownTime": str(ms)}


async def new_algo(sim: SimExchange, p: dict[str, str]) -> dict[str, Any]:
    """``POST /fapi/v1/algoOrder`` (conditional orders)."""
    market_of(sim, p.get("symbol"))
    _require(p, "algoType", "side", "type")
    _position_side(p)
    _client_id(p, "clientAlgoId")
    _unsupported(p)
    return await sim.venue.place_algo_order(p)


def query_algo(sim: SimExchange, p: dict[str, str]) -> dict[str, Any]:
    """``GET /fapi/v1/algoOrder``."""
    algo_id, client_id = _algo_ref(p)
    for m in markets_for(sim, p.get("symbol")):
        try:
            return m.engine.find_algo(algo_id, client_id).to_rest(m.fmt)
        except VenueError:
            continue
    raise VenueError(-2013, "Order does not exist.")


def _algo_ref(p: dict[str, str]) -> tuple[str | None, str | None]:
    algo_id, client_id = p.get("algoId") or None, p.get("clientAlgoId") or None
    if algo_id is None and client_id is None:
        raise VenueError(
            -1102, "Param 'algoId' or 'clientAlgoId' must be sent, but both were empty/null!"
        )
    return algo_id, client_id


async def cancel_algo(sim: SimExchange, p: dict[str, str]) -> dict[str, Any]:
    """``DELETE /fapi/v1/algoOrder``."""
    algo_id, client_id = _algo_ref(p)
    symbol = market_of(sim, p["symbol"]).symbol if p.get("symbol") else None
    return await sim.venue.cancel_algo_order(algo_id, client_id, symbol)


def open_algos(sim: SimExchange, p: dict[str, str]) -> list[dict[str, Any]]:
    """``GET /fapi/v1/openAlgoOrders`` (one symbol, or every symbol)."""
    return [
        a.to_rest(m.fmt) for m in markets_for(sim, p.get("symbol")) for a in m.engine.open_algos()
    ]


def all_algos(sim: SimExchange, p: dict[str, str]) -> list[dict[str, Any]]:
    """``GET /fapi/v1/allAlgoOrders`` (limit default 100, max 100)."""
    m = market_of(sim, p.get("symbol"))
    start, end, limit = _window(p, 100, 100)
    rows = [a for a in m.engine.algos.values() if start <= a.create_ms <= end]
    return [a.to_rest(m.fmt) for a in rows[-limit:]]


async def cancel_all_algos(sim: SimExchange, p: dict[str, str]) -> dict[str, Any]:
    """``DELETE /fapi/v1/algoOpenOrders``."""
    m = market_of(sim, p.get("symbol"))
    for algo in m.engine.open_algos():
        await sim.venue.cancel_algo_order(str(algo.algo_id), None, m.symbol)
    return {"code": 200, "msg": "The operation of cancel all open order is done."}


def _json_list(raw: str | None, name: str) -> list[Any]:
    if not raw:
        raise mandatory(name)
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise VenueError(-1130, f"Data sent for parameter '{name}' is not valid.") from exc
    if not isinstance(value, list) or not value:
        raise VenueError(-1130, f"Data sent for parameter '{name}' is not valid.")
    return value
