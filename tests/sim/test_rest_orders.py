"""Order endpoints' request checks as Binance USD-M documents them (codes and messages)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from decimal import Decimal

import aiohttp
import pytest
import pytest_asyncio

from hedgegridd.sim import SimBar, SimConfig, SimExchange
from tests.sim.rest_client import Rest

D = Decimal
FLAT = [SimBar(D("60000"), D("60000"), D("60000"), D("60000"))] * 50
SYM = {"symbol": "BTCUSDT"}
ALGO_MSG = (
    "Order type not supported for this endpoint. Please use the Algo Order API endpoints instead."
)


@pytest_asyncio.fixture
async def rest() -> AsyncIterator[Rest]:
    """A running simulator on a flat 60000 path (slow clock) and a signing client."""
    async with (
        SimExchange(SimConfig(speed=1), bars=FLAT) as sim,
        aiohttp.ClientSession() as session,
    ):
        yield Rest(sim, session)


def _orders(rest: Rest) -> int:
    return len(rest.sim.market("BTCUSDT").engine.orders)


@pytest.mark.asyncio
async def test_missing_parameters_answer_1102_not_1117(rest: Rest) -> None:
    """USD-M Futures > Trade > New Order: mandatory params, positionSide, client id, options."""
    for missing in ("side", "type", "timeInForce", "quantity", "price"):
        params = {
            "side": "BUY",
            "positionSide": "LONG",
            "type": "LIMIT",
            "timeInForce": "GTC",
            "quantity": "0.010",
            "price": "59000",
        }
        del params[missing]
        status, body, _ = await rest.signed("POST", "/fapi/v1/order", {**SYM, **params})
        assert (status, body) == (
            400,
            {
                "code": -1102,
                "msg": f"Mandatory parameter '{missing}' was not sent, was empty/null, "
                "or malformed.",
            },
        )
    status, body = await rest.order(
        side="BUY", positionSide="BOTHWAYS", price="59000", quantity="0.010"
    )
    assert (status, body) == (400, {"code": -4060, "msg": "Invalid position side."})
    status, body = await rest.order(
        side="BUY", positionSide="LONG", price="59000", quantity="0.010", newClientOrderId="a b"
    )
    assert (status, body) == (400, {"code": -4015, "msg": "Client order id is not valid."})
    for option in ({"priceMatch": "OPPONENT"}, {"timeInForce": "GTD", "goodTillDate": "1"}):
        status, body = await rest.order(
            side="BUY", positionSide="LONG", price="59000", quantity="0.010", **option
        )
        assert (status, body) == (400, {"code": -1020, "msg": "This operation is not supported."})
    status, body, _ = await rest.signed("GET", "/fapi/v1/order", SYM)
    assert body == {
        "code": -1102,
        "msg": "Param 'orderId' or 'origClientOrderId' must be sent, but both were empty/null!",
    }
    assert _orders(rest) == 0


@pytest.mark.asyncio
async def test_unknown_symbol_never_reaches_another_symbol(rest: Rest) -> None:
    """USD-M Futures > Error Codes > -1121 on order, openOrders, allOrders, userTrades."""
    status, body = await rest.order(
        symbol="ETHBTC", side="BUY", positionSide="LONG", price="59000", quantity="0.010"
    )
    assert (status, body) == (400, {"code": -1121, "msg": "Invalid symbol."})
    for path in ("/fapi/v1/openOrders", "/fapi/v1/allOrders", "/fapi/v1/userTrades"):
        status, body, _ = await rest.signed("GET", path, {"symbol": "ETHBTC"})
        assert (status, body["code"]) == (400, -1121), path
    status, body, _ = await rest.signed("GET", "/fapi/v1/commissionRate", {"symbol": "ETHBTC"})
    assert (status, body["code"]) == (400, -1121)
    assert _orders(rest) == 0


@pytest.mark.asyncio
async def test_conditional_types_point_to_the_algo_order_api(rest: Rest) -> None:
    """USD-M Futures > Error Codes > -4120 STOP_ORDER_SWITCH_ALGO (conditional types)."""
    for otype in ("STOP_MARKET", "TAKE_PROFIT_MARKET", "STOP", "TAKE_PROFIT"):
        status, body = await rest.order(
            side="SELL",
            positionSide="LONG",
            type=otype,
            quantity="0.010",
            stopPrice="59000",
            timeInForce=None,
        )
        assert (status, body) == (400, {"code": -4120, "msg": ALGO_MSG})
    assert _orders(rest) == 0


@pytest.mark.asyncio
async def test_market_order_answers_ack_by_default_and_result_on_request(rest: Rest) -> None:
    """USD-M Futures > Trade > New Order: newOrderRespType ACK (default) or RESULT."""
    market = {"side": "BUY", "positionSide": "LONG", "type": "MARKET", "quantity": "0.010"}
    status, ack = await rest.order(**market, timeInForce=None)
    assert status == 200, ack
    assert (ack["status"], ack["executedQty"], ack["cumQty"]) == ("NEW", "0.000", "0.000")
    assert ack["avgPrice"] == "0.00"
    status, result = await rest.order(**market, timeInForce=None, newOrderRespType="RESULT")
    assert status == 200, result
    assert (result["status"], result["executedQty"], result["cumQty"]) == (
        "FILLED",
        "0.010",
        "0.010",
    )
    assert result["avgPrice"] == "60000.10"
    _, queried, _ = await rest.signed(
        "GET", "/fapi/v1/order", {**SYM, "orderId": str(ack["orderId"])}
    )
    assert queried["status"] == "FILLED"  # ACK is only the answer: the order did fill
    status, body = await rest.order(**market, timeInForce=None, newOrderRespType="FULL")
    assert (status, body) == (400, {"code": -1136, "msg": "Invalid newOrderRespType."})


@pytest.mark.asyncio
async def test_percent_price_filter_against_the_mark(rest: Rest) -> None:
    """USD-M Futures > Common Definition > Filters > PERCENT_PRICE (-4016, -4024, -4131)."""
    status, body = await rest.order(
        side="BUY", positionSide="LONG", price="63000.10", quantity="0.010"
    )
    assert (status, body) == (
        400,
        {"code": -4016, "msg": "Price is higher than mark price multiplier cap."},
    )
    status, body = await rest.order(
        side="SELL", positionSide="SHORT", price="56999.90", quantity="0.010"
    )
    assert (status, body) == (
        400,
        {"code": -4024, "msg": "Price is lower than mark price multiplier floor."},
    )
    status, body = await rest.order(
        side="BUY", positionSide="LONG", price="63000.00", quantity="0.010"
    )
    assert status == 200, body  # on the cap: allowed (and it crosses: a taker fill)
    await rest.sim.set_mark_premium(bps=D(-1000))  # mark 54000: the ask is 11 % above it
    status, body = await rest.order(
        side="BUY", positionSide="LONG", type="MARKET", quantity="0.010", timeInForce=None
    )
    assert (status, body["code"]) == (400, -4131)
    assert body["msg"] == (
        "The counterparty's best price does not meet the PERCENT_PRICE filter limit."
    )
    assert _orders(rest) == 1


@pytest.mark.asyncio
async def test_batch_orders_checks_each_order(rest: Rest) -> None:
    """USD-M Futures > Trade > Place Multiple Orders (max 5; each answered on its own)."""
    good = {
        "symbol": "BTCUSDT",
        "side": "BUY",
        "positionSide": "LONG",
        "type": "LIMIT",
        "timeInForce": "GTC",
        "quantity": "0.010",
        "price": "59000",
    }
    batch = [good, {**good, "type": "STOP_MARKET"}, {**good, "symbol": "ETHBTC"}]
    status, rows, _ = await rest.signed(
        "POST", "/fapi/v1/batchOrders", {"batchOrders": json.dumps(batch)}
    )
    assert status == 200, rows
    assert rows[0]["status"] == "NEW"
    assert rows[1] == {"code": -4120, "msg": ALGO_MSG}
    assert rows[2] == {"code": -1121, "msg": "Invalid symbol."}
    status, body, _ = await rest.signed(
        "POST", "/fapi/v1/batchOrders", {"batchOrders": json.dumps([good] * 6)}
    )
    assert (status, body["code"]) == (400, -4082)
    assert _orders(rest) == 1


@pytest.mark.asyncio
async def test_orders_weigh_on_the_order_limits_not_the_ip_limit(rest: Rest) -> None:
    """USD-M Futures > Trade > New Order / Modify Order: 0 on IP rate limit, 1 on order counts."""
    _, _, before = await rest.public("/fapi/v1/ping")
    status, placed = await rest.order(
        side="BUY", positionSide="LONG", price="59000", quantity="0.010"
    )
    assert status == 200, placed
    amend = {
        **SYM,
        "orderId": str(placed["orderId"]),
        "side": "BUY",
        "quantity": "0.020",
        "price": "58000",
    }
    status, amended, headers = await rest.signed("PUT", "/fapi/v1/order", amend)
    assert status == 200, amended
    # Equal, or lower when the minute's window rolled over meanwhile.
    assert int(headers["X-MBX-USED-WEIGHT-1M"]) <= int(before["X-MBX-USED-WEIGHT-1M"])
    assert int(headers["X-MBX-ORDER-COUNT-1M"]) >= 2  # the placement and the amendment
    rest.sim.set_weight_limit(0)
    status, body = await rest.order(side="BUY", positionSide="LONG", price="59000", quantity="0.01")
    assert (status, body["code"]) == (429, -1003)  # at the limit nothing gets through


@pytest.mark.asyncio
async def test_batch_amendments(rest: Rest) -> None:
    """USD-M Futures > Trade > Modify Multiple Orders (each amendment answered on its own)."""
    status, placed = await rest.order(
        side="BUY", positionSide="LONG", price="59000", quantity="0.010"
    )
    assert status == 200, placed
    amend = {**SYM, "side": "BUY", "quantity": "0.020", "price": "58000"}
    batch = [
        {**amend, "orderId": placed["orderId"]},
        {**amend, "origClientOrderId": "nope"},
        {**amend, "orderId": placed["orderId"], "price": "70000"},
    ]
    status, rows, _ = await rest.signed(
        "PUT", "/fapi/v1/batchOrders", {"batchOrders": json.dumps(batch)}
    )
    assert status == 200, rows
    assert (rows[0]["price"], rows[0]["origQty"]) == ("58000.00", "0.020")
    assert rows[1] == {"code": -2013, "msg": "Order does not exist."}
    assert rows[2]["code"] == -4016  # PERCENT_PRICE applies to amendments too
    (order,) = rest.sim.market("BTCUSDT").engine.open_orders()
    assert order.price == D("58000")
