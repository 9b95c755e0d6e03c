"""The simulator's REST API over real HTTP: venue rules and Binance error codes."""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator
from decimal import Decimal

import aiohttp
import pytest
import pytest_asyncio

from hedgegridd.sim import SimBar, SimConfig, SimExchange
from tests.sim.client import SignedClient

FLAT = [SimBar(Decimal("60000"), Decimal("60000"), Decimal("60000"), Decimal("60000"))] * 50


@pytest_asyncio.fixture
async def api() -> AsyncIterator[SignedClient]:
    """A running simulator on a flat 60000 path (slow clock) and a signed client."""
    async with (
        SimExchange(SimConfig(speed=1), bars=FLAT) as sim,
        aiohttp.ClientSession() as session,
    ):
        yield SignedClient(sim, session)


@pytest.mark.asyncio
async def test_exchange_info_serves_instrument_filters(api: SignedClient) -> None:
    """exchangeInfo carries Binance's BTCUSDT filters as strings."""
    status, body, _ = await api.call("GET", "/fapi/v1/exchangeInfo", signed=False)
    assert status == 200
    (sym,) = body["symbols"]
    filters = {f["filterType"]: f for f in sym["filters"]}
    assert filters["PRICE_FILTER"]["tickSize"] == "0.10"
    assert filters["LOT_SIZE"]["stepSize"] == "0.001"
    assert filters["MIN_NOTIONAL"]["notional"] == "100"
    assert {"MARKET_LOT_SIZE", "PERCENT_PRICE"} <= set(filters)


@pytest.mark.asyncio
async def test_bad_signature_and_bad_key_are_refused(api: SignedClient) -> None:
    """A wrong HMAC gives -1022; a wrong API key gives 401 -2015."""
    status, body, _ = await api.call("GET", "/fapi/v2/account", secret="not-the-secret")
    assert (status, body["code"]) == (400, -1022)
    status, body, _ = await api.call("GET", "/fapi/v2/account", api_key="wrong")
    assert (status, body["code"]) == (401, -2015)
    status, body, _ = await api.call("GET", "/fapi/v2/account")
    assert status == 200
    assert body["assets"][0]["walletBalance"] == "10000.00000000"
    _, rows, _ = await api.call("GET", "/fapi/v2/balance")
    assert rows[0]["asset"] == "USDT"
    _, fees, _ = await api.call("GET", "/fapi/v1/commissionRate", {"symbol": "BTCUSDT"})
    assert (fees["makerCommissionRate"], fees["takerCommissionRate"]) == ("0.0002", "0.0005")


@pytest.mark.asyncio
async def test_timestamp_outside_recv_window_is_refused(api: SignedClient) -> None:
    """A request signed 10 s ago with a 5 s recvWindow gives -1021."""
    import time

    old = time.time_ns() // 10**6 - 10_000
    status, body, _ = await api.call("GET", "/fapi/v2/account", timestamp=old)
    assert (status, body["code"]) == (400, -1021)


@pytest.mark.asyncio
async def test_precision_min_notional_and_side_rules(api: SignedClient) -> None:
    """Off-tick price/qty -1111, small notional -4164, missing hedge side -4061."""
    status, body = await api.order(
        side="BUY", positionSide="LONG", price="59000.05", quantity="0.01"
    )
    assert (status, body["code"]) == (400, -1111)
    status, body = await api.order(
        side="BUY", positionSide="LONG", price="59000", quantity="0.0015"
    )
    assert body["code"] == -1111
    status, body = await api.order(side="BUY", positionSide="LONG", price="59000", quantity="0.001")
    assert body["code"] == -4164
    status, body = await api.order(side="BUY", price="59000", quantity="0.01")
    assert body["code"] == -4061
    api.sim.set_hedge_mode(False)
    status, body = await api.order(side="BUY", positionSide="LONG", price="59000", quantity="0.01")
    assert body["code"] == -4061
    status, body, _ = await api.call("GET", "/fapi/v1/positionSide/dual")
    assert body == {"dualSidePosition": False}
    assert not api.sim.engine.orders


@pytest.mark.asyncio
async def test_margin_post_only_and_unknown_order(api: SignedClient) -> None:
    """Too large -2019, post-only that would take -5022, cancel of unknown -2011."""
    status, body = await api.order(side="BUY", positionSide="LONG", price="59000", quantity="5")
    assert (status, body["code"]) == (400, -2019)
    status, body = await api.order(
        side="BUY", positionSide="LONG", price="60100", quantity="0.01", timeInForce="GTX"
    )
    assert body["code"] == -5022
    status, body, _ = await api.call(
        "DELETE", "/fapi/v1/order", {"symbol": "BTCUSDT", "origClientOrderId": "nope"}
    )
    assert (status, body["code"]) == (400, -2011)
    status, body, _ = await api.call(
        "GET", "/fapi/v1/order", {"symbol": "BTCUSDT", "origClientOrderId": "nope"}
    )
    assert body["code"] == -2013


@pytest.mark.asyncio
async def test_orders_rest_fill_and_report(api: SignedClient) -> None:
    """A resting order is listed; a crossing one fills as taker and shows in userTrades."""
    status, body = await api.order(
        side="BUY", positionSide="LONG", price="59000.00", quantity="0.010", newClientOrderId="a1"
    )
    assert status == 200
    assert body["status"] == "NEW"
    assert body["price"] == "59000.00"
    status, body = await api.order(
        side="BUY", positionSide="LONG", price="60500.00", quantity="0.010", newClientOrderId="a2"
    )
    assert status == 200
    _, trades, _ = await api.call("GET", "/fapi/v1/userTrades", {"symbol": "BTCUSDT"})
    assert len(trades) == 1
    assert trades[0]["price"] == "60000.10"  # the ask, one tick above the last price
    assert trades[0]["maker"] is False
    _, opened, _ = await api.call("GET", "/fapi/v1/openOrders", {"symbol": "BTCUSDT"})
    assert [o["clientOrderId"] for o in opened] == ["a1"]
    _, risk, _ = await api.call("GET", "/fapi/v3/positionRisk", {"symbol": "BTCUSDT"})
    legs = {r["positionSide"]: r["positionAmt"] for r in risk}
    assert legs == {"LONG": "0.010", "SHORT": "0.000"}
    # Closing more than the position in hedge mode is refused.
    status, body = await api.order(side="SELL", positionSide="LONG", price="61000", quantity="0.02")
    assert body["code"] == -2022
    status, body, _ = await api.call(
        "PUT",
        "/fapi/v1/order",
        {
            "symbol": "BTCUSDT",
            "origClientOrderId": "a1",
            "side": "BUY",
            "quantity": "0.020",
            "price": "58000.00",
        },
    )
    assert status == 200
    assert (body["price"], body["origQty"]) == ("58000.00", "0.020")
    status, body, _ = await api.call("DELETE", "/fapi/v1/allOpenOrders", {"symbol": "BTCUSDT"})
    assert status == 200
    assert not api.sim.engine.open_orders()


@pytest.mark.asyncio
async def test_weight_limit_gives_429_then_418(api: SignedClient) -> None:
    """Over the weight limit: 429 with Retry-After; keeping on gets a 418 ban."""
    api.sim.set_weight_limit(3)
    statuses = []
    retry_after = []
    for _ in range(3 + 5 + 2):
        status, body, headers = await api.call("GET", "/fapi/v1/time", signed=False)
        statuses.append(status)
        if status != 200:
            assert body["code"] == -1003
            retry_after.append(int(headers["Retry-After"]))
    assert statuses[:3] == [200, 200, 200]
    assert statuses[3:8] == [429] * 5
    assert statuses[8:] == [418, 418]
    assert all(r >= 1 for r in retry_after)
    api.sim.clear_faults()
    status, _, headers = await api.call("GET", "/fapi/v1/time", signed=False)
    assert status == 200
    assert headers["X-MBX-USED-WEIGHT-1M"] == "1"


@pytest.mark.asyncio
async def test_order_count_limit_gives_1015() -> None:
    """Past the per-10s order count, placements get 429 -1015 with order-count headers."""
    config = SimConfig(speed=1, orders_per_10s=3)
    async with SimExchange(config, bars=FLAT) as sim, aiohttp.ClientSession() as session:
        api = SignedClient(sim, session)
        results = []
        for _ in range(4):
            status, body, headers = await api.call(
                "POST",
                "/fapi/v1/order",
                {
                    "symbol": "BTCUSDT",
                    "side": "BUY",
                    "positionSide": "LONG",
                    "type": "LIMIT",
                    "timeInForce": "GTC",
                    "price": "59000",
                    "quantity": "0.010",
                },
            )
            results.append((status, body.get("code"), headers.get("X-MBX-ORDER-COUNT-10S")))
        # A 10 s window may roll over mid-test: at least one refusal unless it did.
        refused = [r for r in results if r[0] == 429]
        assert refused or sim.order_limiter.count_10s < 3
        assert all(r[1] == -1015 for r in refused)
        assert results[0][2] is not None
        assert len(sim.engine.orders) == 4 - len(refused)


@pytest.mark.asyncio
async def test_klines_serve_history_then_the_open_bar() -> None:
    """history_bars are closed klines before the start; the open bar comes last."""
    config = SimConfig(speed=1, history_bars=100, minutes=20)
    async with SimExchange(config) as sim, aiohttp.ClientSession() as session:
        api = SignedClient(sim, session)
        params = {"symbol": "BTCUSDT", "interval": "1m", "limit": 1500}
        _, rows, _ = await api.call("GET", "/fapi/v1/klines", params, signed=False)
        assert len(rows) == 101
        opens = [r[0] for r in rows]
        assert all(b - a == 60_000 for a, b in itertools.pairwise(opens))
        assert rows[-1][0] == sim.ticker.t0_ms  # the bar being built now
        assert rows[-2][6] == sim.ticker.t0_ms - 1  # last history bar closed at the start
        assert all(r[1].count(".") == 1 and len(r[1].split(".")[1]) == 2 for r in rows)
        _, last, _ = await api.call("GET", "/fapi/v1/klines", {**params, "limit": 5}, signed=False)
        assert last == rows[-5:]
        start = {**params, "startTime": opens[10], "limit": 3}
        _, window, _ = await api.call("GET", "/fapi/v1/klines", start, signed=False)
        assert [r[0] for r in window] == opens[10:13]


@pytest.mark.asyncio
async def test_public_market_endpoints(api: SignedClient) -> None:
    """premiumIndex, bookTicker, ticker/price and depth describe the current price."""
    _, prem, _ = await api.call("GET", "/fapi/v1/premiumIndex", {"symbol": "BTCUSDT"}, signed=False)
    assert (prem["markPrice"], prem["lastFundingRate"]) == ("60000.00", "0.00010000")
    assert prem["nextFundingTime"] % (8 * 3_600_000) == 0
    sym = {"symbol": "BTCUSDT"}
    _, book, _ = await api.call("GET", "/fapi/v1/ticker/bookTicker", sym, signed=False)
    assert (book["bidPrice"], book["askPrice"]) == ("60000.00", "60000.10")
    _, last, _ = await api.call("GET", "/fapi/v1/ticker/price", sym, signed=False)
    assert last["price"] == "60000.00"
    _, every, _ = await api.call("GET", "/fapi/v1/ticker/price", signed=False)
    assert [row["symbol"] for row in every] == ["BTCUSDT"]  # no symbol: a list of all
    _, depth, _ = await api.call("GET", "/fapi/v1/depth", {**sym, "limit": 5}, signed=False)
    assert depth["bids"][0] == ["60000.00", "5.000"]
    assert depth["asks"][-1] == ["60000.50", "5.000"]
