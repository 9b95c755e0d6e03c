"""ccxt.pro ``binanceusdm`` streams: it routes USD-M streams to /market, /public and
/private itself; the simulator serves them there."""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.sim.conformance.harness import DEADLINE_S, SYMBOL, ccxt_client, running_sim


@pytest.mark.asyncio
async def test_watch_ohlcv_and_bids_asks_on_routed_paths() -> None:
    """Websocket Market Streams: "Kline/Candlestick Streams" on /market and "Individual
    Symbol Book Ticker Streams" on /public, as ccxt.pro subscribes them."""
    async with running_sim(speed=1200) as sim, ccxt_client(sim, pro=True) as ex:
        await ex.load_markets()
        candles = await ex.watch_ohlcv(SYMBOL, "1m")
        assert candles
        assert candles[-1][2] >= candles[-1][3] > 0  # high >= low
        quotes = await ex.watch_bids_asks([SYMBOL])
        quote = quotes[SYMBOL]
        assert quote["bid"] < quote["ask"]
        assert sim.hub.route_connects["market"] >= 1
        assert sim.hub.route_connects["public"] >= 1
        assert sim.hub.misrouted == {}


@pytest.mark.asyncio
async def test_watch_orders_on_private_route() -> None:
    """User Data Streams "Event: Order Update": ccxt.pro's listenKey stream on
    /private/ws?listenKey= reports a hedge-mode order placed through REST."""
    async with running_sim() as sim, ccxt_client(sim, pro=True) as ex:
        await ex.load_markets()
        watching = ex.watch_orders(SYMBOL)
        book = await ex.fetch_order_book(SYMBOL, limit=5)
        price = round(book["bids"][0][0] * 0.95, 1)
        task = asyncio.ensure_future(watching)
        deadline = time.monotonic() + DEADLINE_S
        while sim.hub.user_connections == 0:
            assert not task.done(), task
            assert time.monotonic() < deadline, "no user stream connection"
            await asyncio.sleep(0.05)
        placed = await ex.create_order(
            SYMBOL, "limit", "buy", 0.01, price, {"positionSide": "LONG"}
        )
        updates = await asyncio.wait_for(task, DEADLINE_S)
        assert [o["id"] for o in updates] == [placed["id"]]
        assert updates[0]["status"] == "open"
        assert sim.hub.route_connects["private"] == 1
