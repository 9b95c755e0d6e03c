"""Public market-data endpoints as Binance USD-M documents them (fields, errors, weights)."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator, Callable
from decimal import Decimal

import aiohttp
import pytest
import pytest_asyncio

from hedgegridd.sim import SimBar, SimConfig, SimExchange
from hedgegridd.sim.kline_views import INTERVALS, bucket
from tests.sim.rest_client import Rest

D = Decimal
FLAT = [SimBar(D("60000"), D("60000"), D("60000"), D("60000"))] * 50
SYM = {"symbol": "BTCUSDT"}
INVALID = {"code": -1121, "msg": "Invalid symbol."}


@pytest_asyncio.fixture
async def hist() -> AsyncIterator[Rest]:
    """A simulator with 600 synthetic history minutes behind the clock."""
    config = SimConfig(speed=1, history_bars=600, minutes=60)
    async with SimExchange(config) as sim, aiohttp.ClientSession() as session:
        yield Rest(sim, session)


@pytest_asyncio.fixture
async def flat() -> AsyncIterator[Rest]:
    """A simulator on a flat 60000 path (explicit bars, slow clock)."""
    async with (
        SimExchange(SimConfig(speed=1), bars=FLAT) as sim,
        aiohttp.ClientSession() as session,
    ):
        yield Rest(sim, session)


async def _until(cond: Callable[[], bool], what: str, limit_s: float = 60.0) -> None:
    deadline = time.monotonic() + limit_s
    while not cond():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.05)


@pytest.mark.asyncio
async def test_unknown_symbol_is_refused_on_every_public_endpoint(flat: Rest) -> None:
    """USD-M Futures > Error Codes > -1121 BAD_SYMBOL (never another symbol's data)."""
    bad = {"symbol": "ETHBTC"}
    for path, extra in (
        ("/fapi/v1/klines", {"interval": "1m"}),
        ("/fapi/v1/markPriceKlines", {"interval": "1m"}),
        ("/fapi/v1/depth", {}),
        ("/fapi/v1/aggTrades", {}),
        ("/fapi/v1/ticker/24hr", {}),
        ("/fapi/v1/ticker/price", {}),
        ("/fapi/v1/ticker/bookTicker", {}),
        ("/fapi/v1/premiumIndex", {}),
        ("/fapi/v1/fundingRate", {}),
    ):
        status, body, _ = await flat.public(path, **bad, **extra)
        assert (status, body) == (400, INVALID), path
    status, body, _ = await flat.public("/fapi/v1/indexPriceKlines", pair="ETHBTC", interval="1m")
    assert (status, body) == (400, INVALID)


@pytest.mark.asyncio
async def test_missing_mandatory_parameters_answer_1102(flat: Rest) -> None:
    """USD-M Futures > Error Codes > -1102 MANDATORY_PARAM_EMPTY_OR_MALFORMED."""
    cases: tuple[tuple[str, dict[str, str], str], ...] = (
        ("/fapi/v1/klines", {"interval": "1m"}, "symbol"),
        ("/fapi/v1/klines", SYM, "interval"),
        ("/fapi/v1/depth", {}, "symbol"),
        ("/fapi/v1/aggTrades", {}, "symbol"),
        ("/fapi/v1/indexPriceKlines", {"interval": "1m"}, "pair"),
    )
    for path, params, name in cases:
        status, body, _ = await flat.public(path, **params)
        assert (status, body["code"]) == (400, -1102), path
        assert body["msg"] == (
            f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."
        )


@pytest.mark.asyncio
async def test_every_interval_folds_the_one_minute_klines(hist: Rest) -> None:
    """USD-M Futures > Market Data > Kline/Candlestick Data (all chart intervals)."""
    _, ones, _ = await hist.public("/fapi/v1/klines", **SYM, interval="1m", limit=1500)
    assert len(ones) == 601
    for interval in INTERVALS:
        status, rows, _ = await hist.public("/fapi/v1/klines", **SYM, interval=interval, limit=1500)
        assert status == 200, (interval, rows)
        groups: dict[int, list[list[object]]] = {}
        for r in ones:
            groups.setdefault(bucket(interval, int(str(r[0])))[0], []).append(r)
        assert [r[0] for r in rows] == sorted(groups), interval
        for row in rows:
            members = groups[int(row[0])]
            assert row[1] == members[0][1], interval
            assert row[4] == members[-1][4], interval
            assert D(row[2]) == max(D(str(m[2])) for m in members)
            assert D(row[3]) == min(D(str(m[3])) for m in members)
            assert row[8] == sum(int(str(m[8])) for m in members)
            assert row[6] == bucket(interval, int(row[0]))[1]
    _, weekly, _ = await hist.public("/fapi/v1/klines", **SYM, interval="1w")
    assert time.gmtime(weekly[0][0] / 1000).tm_wday == 0  # weeks open on Monday 00:00 UTC
    status, body, _ = await hist.public("/fapi/v1/klines", **SYM, interval="2m")
    assert (status, body) == (400, {"code": -1120, "msg": "Invalid interval."})


@pytest.mark.asyncio
async def test_depth_limit_must_be_a_valid_depth(flat: Rest) -> None:
    """USD-M Futures > Market Data > Order Book (limit 5, 10, 20, 50, 100, 500, 1000)."""
    _, book, _ = await flat.public("/fapi/v1/depth", **SYM)
    assert len(book["bids"]) == len(book["asks"]) == 500  # the documented default
    _, book, _ = await flat.public("/fapi/v1/depth", **SYM, limit=10)
    assert len(book["bids"]) == 10
    assert book["asks"][0] == ["60000.10", "5.000"]
    status, body, _ = await flat.public("/fapi/v1/depth", **SYM, limit=7)
    assert (status, body) == (400, {"code": -4021, "msg": "'7' is not valid depth limit."})


@pytest.mark.asyncio
async def test_ticker_24hr(flat: Rest) -> None:
    """USD-M Futures > Market Data > 24hr Ticker Price Change Statistics."""
    _, t, _ = await flat.public("/fapi/v1/ticker/24hr", **SYM)
    strings = [
        "priceChange",
        "priceChangePercent",
        "weightedAvgPrice",
        "lastPrice",
        "lastQty",
        "openPrice",
        "highPrice",
        "lowPrice",
        "volume",
        "quoteVolume",
    ]
    assert all(isinstance(t[k], str) for k in strings)
    assert all(isinstance(t[k], int) for k in ("openTime", "closeTime", "firstId", "lastId"))
    assert (t["symbol"], t["lastPrice"], t["priceChange"]) == ("BTCUSDT", "60000.00", "0.00")
    assert t["priceChangePercent"] == "0.000"
    assert t["count"] == t["lastId"] - t["firstId"] + 1
    _, every, _ = await flat.public("/fapi/v1/ticker/24hr")
    assert [row["symbol"] for row in every] == ["BTCUSDT"]


@pytest.mark.asyncio
async def test_mark_and_index_price_klines(flat: Rest) -> None:
    """USD-M Futures > Market Data > Mark Price / Index Price / Continuous Contract Klines."""
    await flat.sim.set_mark_premium(bps=D(100))
    _, marks, _ = await flat.public("/fapi/v1/markPriceKlines", **SYM, interval="1m")
    _, index, _ = await flat.public("/fapi/v1/indexPriceKlines", pair="BTCUSDT", interval="1m")
    assert marks
    assert index
    assert marks[-1][1:5] == ["60600.00"] * 4
    assert index[-1][1:5] == ["60000.00"] * 4
    assert (marks[-1][5], marks[-1][7], index[-1][9]) == ("0", "0", "0")
    assert len(marks[-1]) == len(index[-1]) == 12
    continuous = {"pair": "BTCUSDT", "interval": "1m"}
    _, rows, _ = await flat.public(
        "/fapi/v1/continuousKlines", **continuous, contractType="PERPETUAL"
    )
    _, plain, _ = await flat.public("/fapi/v1/klines", **SYM, interval="1m")
    assert rows[-1][1:5] == plain[-1][1:5] == ["60000.00"] * 4
    status, body, _ = await flat.public(
        "/fapi/v1/continuousKlines", **continuous, contractType="CURRENT_QUARTER"
    )
    assert (status, body["code"]) == (400, -4104)


@pytest.mark.asyncio
async def test_agg_trades(hist: Rest) -> None:
    """USD-M Futures > Market Data > Compressed/Aggregate Trades List, Recent Trades List."""
    _, trades, _ = await hist.public("/fapi/v1/aggTrades", **SYM, limit=20)
    assert len(trades) == 20
    assert set(trades[0]) == {"a", "p", "q", "f", "l", "T", "m"}
    ids = [t["a"] for t in trades]
    assert ids == list(range(ids[0], ids[0] + 20))
    assert all(t["T"] <= u["T"] for t, u in itertools.pairwise(trades))
    _, later, _ = await hist.public("/fapi/v1/aggTrades", **SYM, fromId=ids[5], limit=3)
    assert [t["a"] for t in later] == ids[5:8]
    _, recent, _ = await hist.public("/fapi/v1/trades", **SYM, limit=2)
    assert recent[1]["id"] == recent[0]["id"] + 1
    assert recent[0]["id"] >= trades[-2]["a"]  # the latest (a minute may have begun since)
    assert set(recent[0]) == {"id", "price", "qty", "quoteQty", "time", "isBuyerMaker"}
    start = trades[0]["T"]
    status, body, _ = await hist.public(
        "/fapi/v1/aggTrades", **SYM, startTime=start, endTime=start + 3_600_001
    )
    assert (status, body["code"]) == (400, -1127)


@pytest.mark.asyncio
async def test_funding_rate_history_and_info() -> None:
    """USD-M Futures > Market Data > Get Funding Rate History / Get Funding Rate Info."""
    async with (
        SimExchange(SimConfig(speed=20_000), bars=FLAT) as sim,
        aiohttp.ClientSession() as session,
    ):
        rest = Rest(sim, session)
        ticker = sim.market("BTCUSDT").ticker
        await _until(lambda: ticker.funding_settlements >= 2, "two funding settlements")
        _, rows, _ = await rest.public("/fapi/v1/fundingRate", **SYM)
        assert len(rows) >= 2
        assert all(r["fundingTime"] % (8 * 3_600_000) == 0 for r in rows)
        assert rows[0] == {
            "symbol": "BTCUSDT",
            "fundingRate": "0.00010000",
            "fundingTime": rows[0]["fundingTime"],
            "markPrice": "60000.00000000",
        }
        _, first, _ = await rest.public("/fapi/v1/fundingRate", startTime=0, limit=1)
        assert first == rows[:1]
        _, info, _ = await rest.public("/fapi/v1/fundingInfo")
        assert info[0]["symbol"] == "BTCUSDT"
        assert info[0]["fundingIntervalHours"] == 8


@pytest.mark.asyncio
async def test_request_weights_follow_the_documented_tables(flat: Rest) -> None:
    """USD-M Futures > Market Data: klines/depth weight by limit, tickers by symbol."""

    async def cost(path: str, **params: object) -> int:
        while True:  # again if the minute's window rolled over between the two requests
            _, _, before = await flat.public("/fapi/v1/ping")
            _, _, after = await flat.public(path, **params)
            spent = int(after["X-MBX-USED-WEIGHT-1M"]) - int(before["X-MBX-USED-WEIGHT-1M"])
            if spent >= 0 and int(before["X-MBX-USED-WEIGHT-1M"]) > 0:
                return spent

    costs = {
        "klines 1000": await cost("/fapi/v1/klines", **SYM, interval="1m", limit=1000),
        "klines 99": await cost("/fapi/v1/klines", **SYM, interval="1m", limit=99),
        "depth 1000": await cost("/fapi/v1/depth", **SYM, limit=1000),
        "24hr all": await cost("/fapi/v1/ticker/24hr"),
        "24hr one": await cost("/fapi/v1/ticker/24hr", **SYM),
        "aggTrades": await cost("/fapi/v1/aggTrades", **SYM),
    }
    assert costs == {
        "klines 1000": 5,
        "klines 99": 1,
        "depth 1000": 20,
        "24hr all": 40,
        "24hr one": 1,
        "aggTrades": 20,
    }
