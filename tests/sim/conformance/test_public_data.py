"""Public market data through ccxt ``binanceusdm`` and Binance's connector."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal
from itertools import pairwise

import pytest

from tests.sim.conformance.harness import (
    DEADLINE_S,
    SYMBOL,
    ccxt_client,
    connector,
    in_thread,
    running_sim,
)


@pytest.mark.asyncio
async def test_exchange_information_loads_markets() -> None:
    """USD-M Market Data REST "Exchange Information": ccxt builds the market from filters."""
    async with running_sim() as sim, ccxt_client(sim) as ex:
        markets = await ex.load_markets()
        market = markets[SYMBOL]
        assert (market["id"], market["linear"], market["swap"]) == ("BTCUSDT", True, True)
        assert Decimal(str(market["precision"]["price"])) == sim.spec.tick_size
        assert Decimal(str(market["precision"]["amount"])) == sim.spec.step_size
        assert Decimal(str(market["limits"]["cost"]["min"])) == sim.spec.min_notional
        assert sim.seen("/fapi/v1/exchangeInfo", "GET")


@pytest.mark.asyncio
async def test_klines_order_book_and_mark_price() -> None:
    """Market Data REST "Kline/Candlestick Data", "Order Book", "Mark Price" via ccxt."""
    async with running_sim() as sim, ccxt_client(sim) as ex:
        await ex.load_markets()
        bars = await ex.fetch_ohlcv(SYMBOL, "1m", limit=5)
        assert len(bars) == 5
        assert all(b[0] - a[0] == 60_000 for a, b in pairwise(bars))
        assert all(low <= min(o, c) <= max(o, c) <= high for _, o, high, low, c, _ in bars)
        book = await ex.fetch_order_book(SYMBOL, limit=5)
        assert len(book["bids"]) == len(book["asks"]) == 5
        assert book["bids"][0][0] < book["asks"][0][0]
        funding = await ex.fetch_funding_rate(SYMBOL)
        assert funding["markPrice"] > 0
        assert funding["fundingRate"] == pytest.approx(float(sim.config.funding_rate))


@pytest.mark.asyncio
async def test_klines_other_intervals() -> None:
    """Market Data REST "Kline/Candlestick Data": documented intervals (5m) are served."""
    async with running_sim() as sim, ccxt_client(sim) as ex:
        await ex.load_markets()
        bars = await ex.fetch_ohlcv(SYMBOL, "5m", limit=3)
        assert len(bars) == 3
        assert all(b[0] - a[0] == 300_000 for a, b in pairwise(bars))


@pytest.mark.asyncio
async def test_24hr_ticker() -> None:
    """Market Data REST "24hr Ticker Price Change Statistics" via ccxt fetch_ticker."""
    async with running_sim() as sim, ccxt_client(sim) as ex:
        await ex.load_markets()
        ticker = await ex.fetch_ticker(SYMBOL)
        assert ticker["last"] > 0
        assert ticker["high"] >= ticker["low"] > 0
        assert ticker["baseVolume"] >= 0


@pytest.mark.asyncio
async def test_funding_rate_history() -> None:
    """Market Data REST "Get Funding Rate History" via ccxt: a settlement is listed with
    its rate, on the 8-hour grid."""
    async with running_sim(speed=20_000) as sim, ccxt_client(sim) as ex:
        await ex.load_markets()
        deadline = time.monotonic() + DEADLINE_S
        while sim.ticker.funding_settlements < 1:
            assert time.monotonic() < deadline, "no funding settlement"
            await asyncio.sleep(0.05)
        history = await ex.fetch_funding_rate_history(SYMBOL, limit=10)
        assert history, "funding history empty"
        assert all(row["symbol"] == SYMBOL for row in history)
        times = [row["timestamp"] for row in history]
        assert times == sorted(times)
        assert all(t % (8 * 3_600_000) == 0 for t in times)
        assert history[-1]["fundingRate"] == pytest.approx(float(sim.config.funding_rate))


@pytest.mark.asyncio
async def test_connector_public_endpoints() -> None:
    """Market Data REST "Mark Price", "Symbol Price Ticker", "Order Book" via UMFutures."""
    async with running_sim() as sim:
        client = connector(sim)
        mark = await in_thread(client.mark_price, "BTCUSDT")
        assert mark["symbol"] == "BTCUSDT"
        assert Decimal(mark["markPrice"]) > 0
        price = await in_thread(client.ticker_price, "BTCUSDT")
        assert Decimal(price["price"]) > 0
        depth = await in_thread(client.depth, "BTCUSDT", limit=10)
        assert len(depth["bids"]) == 10
        assert sim.seen("/fapi/v1/premiumIndex", "GET")
