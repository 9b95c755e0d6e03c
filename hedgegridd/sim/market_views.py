"""Public market-data endpoints (USD-M Futures "Market Data" REST API): depth,
tickers, funding, exchangeInfo (klines and aggTrades: ``kline_views``).

Every symbol-taking endpoint resolves the symbol first (-1102 missing, -1121 unknown);
without ``symbol`` the tickers and ``premiumIndex`` answer a list of every symbol.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from hedgegridd.sim.kline_views import MINUTE_MS, agg_trade_rows, one_minute_bars
from hedgegridd.sim.orders import VenueError, money
from hedgegridd.sim.rules import param_int
from hedgegridd.sim.symbols import market_of, markets_for

if TYPE_CHECKING:
    from hedgegridd.sim.host import SimHost as SimExchange
    from hedgegridd.sim.symbols import Market

DEPTH_LIMITS = (5, 10, 20, 50, 100, 500, 1000)


def wall_ms() -> int:
    """Wall-clock milliseconds (serverTime)."""
    return time.time_ns() // 1_000_000


def depth(sim: SimExchange, p: dict[str, str]) -> dict[str, Any]:
    """``GET /fapi/v1/depth``: a synthetic book around the last price (5 per level)."""
    market = market_of(sim, p.get("symbol"))
    levels = param_int(p, "limit", 500)
    if levels not in DEPTH_LIMITS:
        raise VenueError(-4021, f"'{p.get('limit')}' is not valid depth limit.")
    tick, eng, fmt = market.spec.tick_size, market.engine, market.fmt
    now = wall_ms()
    size = fmt.qt(Decimal(5))
    return {
        "lastUpdateId": now,
        "E": now,
        "T": now,
        "bids": [[fmt.px(eng.bid - i * tick), size] for i in range(levels)],
        "asks": [[fmt.px(eng.ask + i * tick), size] for i in range(levels)],
    }


def _one_or_all(
    sim: SimExchange, p: dict[str, str], row: Callable[[Market], dict[str, Any]]
) -> dict[str, Any] | list[dict[str, Any]]:
    """One object when ``symbol`` is sent, else a list over every symbol (as Binance)."""
    if p.get("symbol"):
        return row(market_of(sim, p["symbol"]))
    return [row(m) for m in markets_for(sim, None)]


def ticker_price(sim: SimExchange, p: dict[str, str]) -> dict[str, Any] | list[dict[str, Any]]:
    """``GET /fapi/v1/ticker/price`` and ``/fapi/v2/ticker/price``."""
    return _one_or_all(
        sim,
        p,
        lambda m: {"symbol": m.symbol, "price": m.fmt.px(m.engine.price), "time": wall_ms()},
    )


def book_ticker(sim: SimExchange, p: dict[str, str]) -> dict[str, Any] | list[dict[str, Any]]:
    """``GET /fapi/v1/ticker/bookTicker``."""
    return _one_or_all(sim, p, lambda m: {"lastUpdateId": wall_ms(), **m.ticker.book_ticker_rest()})


def premium_index(sim: SimExchange, p: dict[str, str]) -> dict[str, Any] | list[dict[str, Any]]:
    """``GET /fapi/v1/premiumIndex``."""
    return _one_or_all(sim, p, lambda m: m.ticker.premium_index())


def ticker_24hr(sim: SimExchange, p: dict[str, str]) -> dict[str, Any] | list[dict[str, Any]]:
    """``GET /fapi/v1/ticker/24hr``: statistics of the last 1440 one-minute bars."""
    return _one_or_all(sim, p, _stats_24h)


def _stats_24h(market: Market) -> dict[str, Any]:
    bars = one_minute_bars(market)[-1440:]
    fmt = market.fmt
    first, last = bars[0], bars[-1]
    volume = sum((b.volume for b in bars), Decimal(0))
    quote = sum((b.quote for b in bars), Decimal(0))
    change = last.close - first.open
    pct = (change / first.open * 100) if first.open else Decimal(0)
    trades = agg_trade_rows(market, bars)
    return {
        "symbol": market.symbol,
        "priceChange": fmt.px(change),
        "priceChangePercent": f"{pct:.3f}",
        "weightedAvgPrice": fmt.px(quote / volume if volume else last.close),
        "lastPrice": fmt.px(last.close),
        "lastQty": trades[-1]["q"] if trades else fmt.qt(Decimal(0)),
        "openPrice": fmt.px(first.open),
        "highPrice": fmt.px(max(b.high for b in bars)),
        "lowPrice": fmt.px(min(b.low for b in bars)),
        "volume": fmt.qt(volume),
        "quoteVolume": money(quote),
        "openTime": first.open_ms,
        "closeTime": market.ticker.sim_ms,
        "firstId": trades[0]["a"] if trades else 0,
        "lastId": trades[-1]["a"] if trades else 0,
        "count": len(trades),
    }


def funding_rate(sim: SimExchange, p: dict[str, str]) -> list[dict[str, Any]]:
    """``GET /fapi/v1/fundingRate``: the settlements made since the clock started."""
    rows: list[dict[str, Any]] = []
    for market in markets_for(sim, p.get("symbol")):
        rows += _settlements(sim, market)
    rows.sort(key=lambda r: (r["fundingTime"], r["symbol"]))
    limit = max(1, min(param_int(p, "limit", 100), 1000))
    start = param_int(p, "startTime", 0)
    end = param_int(p, "endTime", 2**62)
    rows = [r for r in rows if start <= r["fundingTime"] <= end]
    if "startTime" in p:
        return rows[:limit]
    return rows[-(limit if "limit" in p or "endTime" in p else 200) :]


def _settlements(sim: SimExchange, market: Market) -> list[dict[str, Any]]:
    ticker = market.ticker
    interval = sim.config.funding_interval_hours * 3_600_000
    count = ticker.funding_settlements
    first = ticker.next_funding_ms - count * interval
    closes = {b.open_ms: b.close for b in one_minute_bars(market)}
    rates = market.funding_rates
    rows = []
    for k in range(count):
        at = first + k * interval
        rate = rates[k % len(rates)] if rates else sim.config.funding_rate
        last = closes.get(at - MINUTE_MS, market.engine.price)
        rows.append(
            {
                "symbol": market.symbol,
                "fundingRate": f"{rate:.8f}",
                "fundingTime": at,
                "markPrice": f"{market.engine.ledger.mark_of(last):.8f}",
            }
        )
    return rows


def funding_info(sim: SimExchange, _p: dict[str, str]) -> list[dict[str, Any]]:
    """``GET /fapi/v1/fundingInfo``: every symbol's interval (cap/floor: the sim's +-3%)."""
    return [
        {
            "symbol": m.symbol,
            "adjustedFundingRateCap": "0.03000000",
            "adjustedFundingRateFloor": "-0.03000000",
            "fundingIntervalHours": sim.config.funding_interval_hours,
            "disclaimer": False,
        }
        for m in markets_for(sim, None)
    ]


def exchange_info(sim: SimExchange, _p: dict[str, str]) -> dict[str, Any]:
    """``GET /fapi/v1/exchangeInfo`` with every symbol's filters."""
    return {
        "timezone": "UTC",
        "serverTime": wall_ms(),
        "futuresType": "U_MARGINED",
        "rateLimits": [
            {
                "rateLimitType": "REQUEST_WEIGHT",
                "interval": "MINUTE",
                "intervalNum": 1,
                "limit": sim.limiter.limit,
            },
            {
                "rateLimitType": "ORDERS",
                "interval": "MINUTE",
                "intervalNum": 1,
                "limit": sim.order_limiter.per_minute,
            },
            {
                "rateLimitType": "ORDERS",
                "interval": "SECOND",
                "intervalNum": 10,
                "limit": sim.order_limiter.per_10s,
            },
        ],
        "exchangeFilters": [],
        "assets": [{"asset": "USDT", "marginAvailable": True, "autoAssetExchange": "-10000"}],
        "symbols": [m.symbol_info for m in markets_for(sim, None)],
    }
