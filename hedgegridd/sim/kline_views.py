"""Kline and trade endpoints (USD-M Futures "Market Data"), folded from the 1m bars.

Klines of every Binance interval are aggregated from the 1m bars the ticker keeps
(history + live); mark/index klines are the last-price klines with the mark premium
applied (index = last); REST ``aggTrades`` are synthesized from the 1m bars (four per
closed minute: open, the two extremes in path order, close).
"""

from __future__ import annotations

import calendar
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from hedgegridd.sim.auth import mandatory
from hedgegridd.sim.orders import VenueError, money
from hedgegridd.sim.rules import param_int
from hedgegridd.sim.symbols import market_of

if TYPE_CHECKING:
    from hedgegridd.sim.host import SimHost as SimExchange
    from hedgegridd.sim.symbols import Market

MINUTE_MS = 60_000
DAY_MS = 1440 * MINUTE_MS
INTERVAL_MS = {
    "1m": MINUTE_MS,
    "3m": 3 * MINUTE_MS,
    "5m": 5 * MINUTE_MS,
    "15m": 15 * MINUTE_MS,
    "30m": 30 * MINUTE_MS,
    "1h": 60 * MINUTE_MS,
    "2h": 120 * MINUTE_MS,
    "4h": 240 * MINUTE_MS,
    "6h": 360 * MINUTE_MS,
    "8h": 480 * MINUTE_MS,
    "12h": 720 * MINUTE_MS,
    "1d": DAY_MS,
    "3d": 3 * DAY_MS,
    "1w": 7 * DAY_MS,
}
INTERVALS = (*INTERVAL_MS, "1M")
WEEK_SHIFT_MS = 4 * DAY_MS  # 1970-01-01 was a Thursday; Binance weeks open on Monday


@dataclass(slots=True)
class Bar:
    """One kline of any interval (aggregated from 1m bars)."""

    open_ms: int
    close_ms: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    quote: Decimal
    trades: int


def bucket(interval: str, t_ms: int) -> tuple[int, int]:
    """Open time and close time (inclusive) of the ``interval`` kline holding ``t_ms``."""
    if interval == "1M":
        day = datetime.fromtimestamp(t_ms / 1000, UTC)
        start = datetime(day.year, day.month, 1, tzinfo=UTC)
        days = calendar.monthrange(day.year, day.month)[1]
        open_ms = int(start.timestamp() * 1000)
        return open_ms, open_ms + days * DAY_MS - 1
    size = INTERVAL_MS[interval]
    shift = WEEK_SHIFT_MS if interval == "1w" else 0
    open_ms = (t_ms - shift) // size * size + shift
    return open_ms, open_ms + size - 1


def one_minute_bars(market: Market) -> list[Bar]:
    """The 1m klines the ticker keeps, oldest first, the open one last."""
    ticker = market.ticker
    states = list(ticker.closed)
    if ticker.kline is not None and (not states or states[-1] is not ticker.kline):
        states.append(ticker.kline)
    return [
        Bar(
            s.open_ms,
            s.open_ms + MINUTE_MS - 1,
            s.open,
            s.high,
            s.low,
            s.close,
            s.volume,
            s.volume * s.close,
            s.trades,
        )
        for s in states
    ]


def aggregate(bars: list[Bar], interval: str) -> list[Bar]:
    """1m bars folded into ``interval`` klines."""
    if interval == "1m":
        return bars
    out: list[Bar] = []
    for b in bars:
        open_ms, close_ms = bucket(interval, b.open_ms)
        last = out[-1] if out else None
        if last is None or last.open_ms != open_ms:
            out.append(Bar(open_ms, close_ms, b.open, b.high, b.low, b.close, b.volume, b.quote, 0))
            last = out[-1]
        else:
            last.high, last.low = max(last.high, b.high), min(last.low, b.low)
            last.close = b.close
            last.volume += b.volume
            last.quote += b.quote
        last.trades += b.trades
    return out


def _interval(params: dict[str, str]) -> str:
    interval = params.get("interval")
    if not interval:
        raise mandatory("interval")
    if interval not in INTERVALS:
        raise VenueError(-1120, "Invalid interval.")
    return interval


def _window(params: dict[str, str], bars: list[Bar], default: int, most: int) -> list[Bar]:
    """Binance's startTime/endTime/limit selection (startTime: first ``limit``, else last)."""
    limit = max(1, min(param_int(params, "limit", default), most))
    start = param_int(params, "startTime", 0)
    end = param_int(params, "endTime", 2**62)
    if start > end:
        raise VenueError(-1023, "Start time is greater than end time.")
    rows = [b for b in bars if start <= b.open_ms <= end]
    return rows[:limit] if "startTime" in params else rows[-limit:]


def _price_bars(market: Market, params: dict[str, str]) -> list[Bar]:
    bars = aggregate(one_minute_bars(market), _interval(params))
    return _window(params, bars, 500, 1500)


def klines(sim: SimExchange, p: dict[str, str]) -> list[list[Any]]:
    """``GET /fapi/v1/klines``."""
    return _trade_klines(market_of(sim, p.get("symbol")), p)


def continuous_klines(sim: SimExchange, p: dict[str, str]) -> list[list[Any]]:
    """``GET /fapi/v1/continuousKlines`` (``pair``, ``contractType``: PERPETUAL only)."""
    pair = p.get("pair")
    if not pair:
        raise mandatory("pair")
    market = market_of(sim, pair)
    kind = p.get("contractType")
    if not kind:
        raise mandatory("contractType")
    if kind != "PERPETUAL":
        raise VenueError(-4104, "Invalid contract type")
    return _trade_klines(market, p)


def _trade_klines(market: Market, p: dict[str, str]) -> list[list[Any]]:
    fmt = market.fmt
    return [
        [
            b.open_ms,
            fmt.px(b.open),
            fmt.px(b.high),
            fmt.px(b.low),
            fmt.px(b.close),
            fmt.qt(b.volume),
            b.close_ms,
            money(b.quote),
            b.trades,
            fmt.qt(b.volume / 2),
            money(b.quote / 2),
            "0",
        ]
        for b in _price_bars(market, p)
    ]


def _derived_klines(
    market: Market, p: dict[str, str], price: Callable[[Decimal], Decimal]
) -> list[list[Any]]:
    fmt = market.fmt
    return [
        [
            b.open_ms,
            fmt.px(price(b.open)),
            fmt.px(price(b.high)),
            fmt.px(price(b.low)),
            fmt.px(price(b.close)),
            "0",
            b.close_ms,
            "0",
            b.trades,
            "0",
            "0",
            "0",
        ]
        for b in _price_bars(market, p)
    ]


def mark_price_klines(sim: SimExchange, p: dict[str, str]) -> list[list[Any]]:
    """``GET /fapi/v1/markPriceKlines``: last-price klines at the current mark premium."""
    market = market_of(sim, p.get("symbol"))
    return _derived_klines(market, p, market.engine.ledger.mark_of)


def index_price_klines(sim: SimExchange, p: dict[str, str]) -> list[list[Any]]:
    """``GET /fapi/v1/indexPriceKlines`` (``pair``): the index is the last price."""
    pair = p.get("pair")
    if not pair:
        raise mandatory("pair")
    market = market_of(sim, pair)
    return _derived_klines(market, p, lambda px: px)


def agg_trade_rows(market: Market, bars: list[Bar]) -> list[dict[str, Any]]:
    """Four trades per closed 1m bar (open, extremes in path order, close), ids
    contiguous; the bar being built has its opening trade only."""
    fmt, spec = market.fmt, market.spec
    out: list[dict[str, Any]] = []
    last_open = bars[-1].open_ms if bars else -1
    for b in bars:
        mid = (b.low, b.high) if b.close >= b.open else (b.high, b.low)
        points = [b.open, *mid, b.close]
        ks: tuple[int, ...] = (0,) if b.open_ms == last_open else (0, 1, 2, 3)
        qty = max((b.volume / 4).quantize(spec.step_size), spec.min_qty)
        base = b.open_ms // MINUTE_MS * 4
        for k in ks:
            at = b.open_ms + k * 15_000
            out.append(
                {
                    "a": base + k,
                    "p": fmt.px(points[k]),
                    "q": fmt.qt(qty),
                    "f": base + k,
                    "l": base + k,
                    "T": at,
                    "m": k % 2 == 1,
                }
            )
    return out


def agg_trades(sim: SimExchange, p: dict[str, str]) -> list[dict[str, Any]]:
    """``GET /fapi/v1/aggTrades`` (fromId / startTime / endTime / limit, max 1000)."""
    market = market_of(sim, p.get("symbol"))
    limit = max(1, min(param_int(p, "limit", 500), 1000))
    trades = agg_trade_rows(market, one_minute_bars(market))
    if "fromId" in p:
        from_id = param_int(p, "fromId", 0)
        return [t for t in trades if t["a"] >= from_id][:limit]
    if "startTime" in p or "endTime" in p:
        start = param_int(p, "startTime", 0)
        end = param_int(p, "endTime", 2**62)
        if "startTime" in p and "endTime" in p and end - start > 3_600_000:
            raise VenueError(-1127, "More than 1 hours between startTime and endTime.")
        return [t for t in trades if start <= t["T"] <= end][:limit]
    return trades[-limit:]


def recent_trades(sim: SimExchange, p: dict[str, str]) -> list[dict[str, Any]]:
    """``GET /fapi/v1/trades``: the most recent market trades (limit default 500, max 1000)."""
    market = market_of(sim, p.get("symbol"))
    limit = max(1, min(param_int(p, "limit", 500), 1000))
    rows = agg_trade_rows(market, one_minute_bars(market))[-limit:]
    return [
        {
            "id": t["a"],
            "price": t["p"],
            "qty": t["q"],
            "quoteQty": money(Decimal(t["p"]) * Decimal(t["q"])),
            "time": t["T"],
            "isBuyerMaker": t["m"],
        }
        for t in rows
    ]
