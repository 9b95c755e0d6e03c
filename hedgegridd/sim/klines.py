"""Kline state and the market-data payloads of one symbol (kline, markPrice, REST rows).

Pure functions of the symbol's formats and state; ``MarketTicker`` calls them for
its streams and the REST layer's ``klines``, ``premiumIndex`` and ``bookTicker``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from hedgegridd.sim.clock import MINUTE_MS
from hedgegridd.sim.orders import Formats, VenueError, money

KLINE_HISTORY = 1500  # Binance's max klines per request


@dataclass(slots=True)
class KlineState:
    """The bar being built from the points emitted so far."""

    open_ms: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal
    trades: int


def kline_payload(fmt: Formats, symbol: str, kl: KlineState, closed: bool) -> dict[str, Any]:
    """The ``k`` object of a ``kline`` stream event."""
    quote = kl.volume * kl.close
    return {
        "t": kl.open_ms,
        "T": kl.open_ms + MINUTE_MS - 1,
        "s": symbol,
        "i": "1m",
        "f": 1,
        "L": max(1, kl.trades),
        "o": fmt.px(kl.open),
        "c": fmt.px(kl.close),
        "h": fmt.px(kl.high),
        "l": fmt.px(kl.low),
        "v": fmt.qt(kl.volume),
        "n": kl.trades,
        "x": closed,
        "q": money(quote),
        "V": fmt.qt(kl.volume / 2),
        "Q": money(quote / 2),
        "B": "0",
    }


def kline_rows(
    fmt: Formats,
    symbol: str,
    closed_bars: list[KlineState],
    current: KlineState | None,
    params: dict[str, str],
) -> list[list[Any]]:
    """``GET /fapi/v1/klines``: closed bars then the open one (array rows, like Binance)."""
    try:
        limit = max(1, min(int(params.get("limit") or 500), KLINE_HISTORY))
        start = int(params.get("startTime") or 0)
        end = int(params.get("endTime") or 2**62)
    except ValueError as exc:
        raise VenueError(-1100, "Illegal characters found in a parameter.") from exc
    if params.get("interval", "1m") != "1m":
        raise VenueError(-1120, "Invalid interval.")
    bars = [(kl, True) for kl in closed_bars]
    if current is not None and (not bars or bars[-1][0] is not current):
        bars.append((current, False))
    rows = []
    for kl, closed in bars:
        if not start <= kl.open_ms <= end:
            continue
        k = kline_payload(fmt, symbol, kl, closed)
        keys = ("t", "o", "h", "l", "c", "v", "T", "q", "n", "V", "Q")
        rows.append([*(k[key] for key in keys), "0"])
    return rows[:limit] if "startTime" in params else rows[-limit:]
