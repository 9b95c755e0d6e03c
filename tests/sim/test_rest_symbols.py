"""One account, several symbols: every REST view answers per symbol and over all of them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import aiohttp
import pytest
import pytest_asyncio

from hedgegridd.sim import SimBar, SimConfig, SimExchange
from tests.sim.rest_client import Rest

D = Decimal


def _flat(px: str) -> list[SimBar]:
    return [SimBar(D(px), D(px), D(px), D(px))] * 50


@pytest_asyncio.fixture
async def rest() -> AsyncIterator[Rest]:
    """BTCUSDT at 60000 and ETHUSDT at 3000 on one account (slow clock)."""
    config = SimConfig(speed=1, symbols=("BTCUSDT", "ETHUSDT"))
    bars = {"BTCUSDT": _flat("60000"), "ETHUSDT": _flat("3000")}
    async with SimExchange(config, bars=bars) as sim, aiohttp.ClientSession() as session:
        yield Rest(sim, session)


@pytest.mark.asyncio
async def test_market_data_answers_for_the_symbol_named(rest: Rest) -> None:
    """USD-M Futures > Market Data: each symbol's own klines, depth and tickers."""
    _, eth, _ = await rest.public("/fapi/v1/klines", symbol="ETHUSDT", interval="1m")
    _, btc, _ = await rest.public("/fapi/v1/klines", symbol="BTCUSDT", interval="1m")
    assert eth[-1][4] == "3000.00"
    assert btc[-1][4] == "60000.00"
    _, book, _ = await rest.public("/fapi/v1/depth", symbol="ETHUSDT", limit=5)
    assert book["bids"][0] == ["3000.00", "5.000"]
    _, prices, _ = await rest.public("/fapi/v1/ticker/price")
    assert {p["symbol"]: p["price"] for p in prices} == {
        "BTCUSDT": "60000.00",
        "ETHUSDT": "3000.00",
    }
    _, info, _ = await rest.public("/fapi/v1/exchangeInfo")
    assert [s["symbol"] for s in info["symbols"]] == ["BTCUSDT", "ETHUSDT"]


@pytest.mark.asyncio
async def test_account_views_cover_every_symbol(rest: Rest) -> None:
    """USD-M Futures > Account Information V3, Position Information V2/V3, Income History."""
    for symbol, qty in (("BTCUSDT", "0.010"), ("ETHUSDT", "0.100")):
        status, body = await rest.order(
            symbol=symbol,
            side="BUY",
            positionSide="LONG",
            type="MARKET",
            quantity=qty,
            timeInForce=None,
        )
        assert status == 200, body
    _, v3, _ = await rest.signed("GET", "/fapi/v3/account")
    longs = {
        (p["symbol"], p["positionAmt"]) for p in v3["positions"] if p["positionSide"] == "LONG"
    }
    assert longs == {("BTCUSDT", "0.010"), ("ETHUSDT", "0.100")}
    margin = D("0.010") * D("60000") / 20 + D("0.100") * D("3000") / 20
    assert D(v3["totalPositionInitialMargin"]) == margin
    _, risk, _ = await rest.signed("GET", "/fapi/v2/positionRisk")
    assert {r["symbol"] for r in risk} == {"BTCUSDT", "ETHUSDT"}
    _, eth_risk, _ = await rest.signed("GET", "/fapi/v3/positionRisk", {"symbol": "ETHUSDT"})
    assert {r["symbol"] for r in eth_risk} == {"ETHUSDT"}
    _, fees, _ = await rest.signed(
        "GET", "/fapi/v1/income", {"symbol": "ETHUSDT", "incomeType": "COMMISSION"}
    )
    assert [r["symbol"] for r in fees] == ["ETHUSDT"]
    _, trades, _ = await rest.signed("GET", "/fapi/v1/userTrades", {"symbol": "ETHUSDT"})
    assert [t["symbol"] for t in trades] == ["ETHUSDT"]


@pytest.mark.asyncio
async def test_orders_stay_on_their_symbol(rest: Rest) -> None:
    """USD-M Futures > Trade > Current All Open Orders (one symbol, or all without one)."""
    for symbol, price in (("BTCUSDT", "59000"), ("ETHUSDT", "2900")):
        status, body = await rest.order(
            symbol=symbol, side="BUY", positionSide="LONG", price=price, quantity="0.100"
        )
        assert status == 200, body
    _, every, _ = await rest.signed("GET", "/fapi/v1/openOrders")
    assert sorted(o["symbol"] for o in every) == ["BTCUSDT", "ETHUSDT"]
    eth_order = next(o for o in every if o["symbol"] == "ETHUSDT")
    status, body, _ = await rest.signed(
        "GET", "/fapi/v1/order", {"symbol": "BTCUSDT", "orderId": str(eth_order["orderId"])}
    )
    assert (status, body["code"]) == (400, -2013)  # an ETHUSDT order is not a BTCUSDT one
    status, body, _ = await rest.signed("DELETE", "/fapi/v1/allOpenOrders", {"symbol": "ETHUSDT"})
    assert status == 200, body
    _, left, _ = await rest.signed("GET", "/fapi/v1/openOrders")
    assert [o["symbol"] for o in left] == ["BTCUSDT"]
