"""The sim clock: walks the price path and streams market data from it.

Per intra-bar point: the matcher moves (fills and triggers), then ``bookTicker``,
``aggTrade``, an open ``kline_1m`` and ``markPrice`` go to their subscribers. At the
end of each sim-minute a closed kline (``x: true``) goes out. Funding settles
whenever sim time crosses a multiple of ``funding_interval_hours`` (00/08/16 UTC).
Market-data timestamps are sim time, which leads the wall clock when speed > 1.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import structlog

from hedgegridd.sim.market import round_to_tick
from hedgegridd.sim.orders import VenueError, money

if TYPE_CHECKING:
    from hedgegridd.sim.exchange import SimExchange

log = structlog.get_logger(__name__)

MINUTE_MS = 60_000
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


class MarketTicker:
    """Drives sim time; owns the market-data payloads."""

    def __init__(self, sim: SimExchange) -> None:
        self.sim = sim
        self.t0_ms = (time.time_ns() // 1_000_000) // MINUTE_MS * MINUTE_MS
        self.sim_ms = self.t0_ms
        self.history_bars = sim.history_bars
        self.bar_index = self.history_bars
        self.closed: list[KlineState] = [self._history_kline(i) for i in range(self.history_bars)]
        self.funding_settlements = 0
        interval = sim.config.funding_interval_hours * 3_600_000
        self._funding_interval = interval
        self.next_funding_ms = (self.t0_ms // interval + 1) * interval
        self._agg_ids = itertools.count(1_000_000_001)
        self._update_ids = itertools.count(7_000_000_001)
        self.kline: KlineState | None = None
        self.finished = asyncio.Event()

    def _open_ms(self, index: int) -> int:
        """Open time of bar ``index``: history bars end where the clock starts (t0)."""
        return self.t0_ms + (index - self.history_bars) * MINUTE_MS

    def _history_kline(self, index: int) -> KlineState:
        bar = self.sim.path.bar(index)
        tick = self.sim.spec.tick_size
        o, h, lo, c = (round_to_tick(p, tick) for p in (bar.open, bar.high, bar.low, bar.close))
        return KlineState(self._open_ms(index), o, h, lo, c, bar.volume, 4)

    @property
    def symbol_lower(self) -> str:
        """Stream-name prefix, e.g. ``btcusdt``."""
        return self.sim.spec.symbol.lower()

    async def run(self) -> None:
        """Walk bars forever (or once through when ``loop_data`` is off)."""
        cfg = self.sim.config
        steps = cfg.steps_per_bar
        minute_s = 60.0 / cfg.speed
        # The clock started at t0 (the wall minute): at speed 1 sim time is wall time and
        # klines close on wall-minute boundaries, like Binance's.
        elapsed_ms = time.time_ns() // 1_000_000 - self.t0_ms
        real_t0 = time.monotonic() - elapsed_ms / MINUTE_MS * minute_s
        while cfg.loop_data or self.bar_index < len(self.sim.path):
            i = self.bar_index
            bar = self.sim.path.bar(i)
            points = self.sim.path.points(bar, steps)
            open_ms = self._open_ms(i)
            live = i - self.history_bars
            vol_step = bar.volume / len(points)
            first = points[0]
            self.kline = KlineState(open_ms, first, first, first, first, Decimal(0), 0)
            for k, px in enumerate(points):
                await _sleep_until(real_t0 + (live + k / len(points)) * minute_s)
                self.sim_ms = open_ms + k * MINUTE_MS // len(points)
                await self.sim.step_price(px)
                px = self.sim.engine.price
                kl = self.kline
                kl.high, kl.low, kl.close = max(kl.high, px), min(kl.low, px), px
                kl.volume += vol_step
                kl.trades += 1
                await self._publish_point(px, vol_step)
                await self._maybe_fund()
                await self.sim.hub.expire_stale_listen_keys(self.sim_ms)
            await _sleep_until(real_t0 + (live + 1) * minute_s)
            self.sim_ms = open_ms + MINUTE_MS - 1
            await self._publish_kline(self.kline, closed=True)
            self.closed.append(self.kline)
            if len(self.closed) > KLINE_HISTORY + 500:
                del self.closed[:500]
            self.bar_index += 1
        self.finished.set()
        log.info("sim.path_finished", bars=self.bar_index)

    async def _maybe_fund(self) -> None:
        if self.sim_ms < self.next_funding_ms:
            return
        rate = self.funding_rate
        await self.sim.settle_funding(rate)
        self.funding_settlements += 1
        self.next_funding_ms += self._funding_interval
        log.info("sim.funding_settled", rate=str(rate), settlement=self.funding_settlements)

    @property
    def funding_rate(self) -> Decimal:
        """Rate of the next settlement: the replayed data's, else the configured one."""
        rates = self.sim.funding_rates
        if rates:
            return rates[self.funding_settlements % len(rates)]
        return self.sim.config.funding_rate

    # ------------------------------------------------------------ payloads
    async def _publish_point(self, px: Decimal, qty: Decimal) -> None:
        hub = self.sim.hub
        sym = self.symbol_lower
        await self.publish_quote()
        if hub.has_subscribers(f"{sym}@aggTrade"):
            agg = next(self._agg_ids)
            await hub.publish(
                f"{sym}@aggTrade",
                {
                    "e": "aggTrade",
                    "E": self.sim_ms,
                    "s": self.sim.spec.symbol,
                    "a": agg,
                    "p": self.sim.fmt.px(px),
                    "q": self.sim.fmt.qt(
                        max(qty.quantize(self.sim.spec.step_size), self.sim.spec.min_qty)
                    ),
                    "f": agg,
                    "l": agg,
                    "T": self.sim_ms,
                    "m": False,
                },
            )
        if self.kline is not None:
            await self._publish_kline(self.kline, closed=False)
        mark = self.mark_payload()
        for name in (f"{sym}@markPrice", f"{sym}@markPrice@1s"):
            if hub.has_subscribers(name):
                await hub.publish(name, mark)

    async def publish_quote(self) -> None:
        """Send the current best bid/ask on ``bookTicker``."""
        name = f"{self.symbol_lower}@bookTicker"
        if not self.sim.hub.has_subscribers(name):
            return
        eng = self.sim.engine
        fmt = self.sim.fmt
        await self.sim.hub.publish(
            name,
            {
                "e": "bookTicker",
                "u": next(self._update_ids),
                "E": self.sim_ms,
                "T": self.sim_ms,
                "s": self.sim.spec.symbol,
                "b": fmt.px(eng.bid),
                "B": "5.000",
                "a": fmt.px(eng.ask),
                "A": "5.000",
            },
        )

    async def _publish_kline(self, kl: KlineState, *, closed: bool) -> None:
        name = f"{self.symbol_lower}@kline_1m"
        if not self.sim.hub.has_subscribers(name):
            return
        await self.sim.hub.publish(
            name,
            {
                "e": "kline",
                "E": self.sim_ms,
                "s": self.sim.spec.symbol,
                "k": self._kline(kl, closed),
            },
        )

    def _kline(self, kl: KlineState, closed: bool) -> dict[str, Any]:
        fmt = self.sim.fmt
        quote = kl.volume * kl.close
        return {
            "t": kl.open_ms,
            "T": kl.open_ms + MINUTE_MS - 1,
            "s": self.sim.spec.symbol,
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

    def mark_payload(self) -> dict[str, Any]:
        """``markPrice`` stream payload: mark = index = last price; configured funding rate."""
        px = self.sim.fmt.px(self.sim.engine.price)
        return {
            "e": "markPriceUpdate",
            "E": self.sim_ms,
            "s": self.sim.spec.symbol,
            "p": px,
            "ap": px,
            "P": px,
            "i": px,
            "r": f"{self.funding_rate:.8f}",
            "T": self.next_funding_ms,
        }

    def premium_index(self) -> dict[str, Any]:
        """``GET /fapi/v1/premiumIndex`` body."""
        px = self.sim.fmt.px(self.sim.engine.price)
        return {
            "symbol": self.sim.spec.symbol,
            "markPrice": px,
            "indexPrice": px,
            "estimatedSettlePrice": px,
            "lastFundingRate": f"{self.funding_rate:.8f}",
            "interestRate": "0.00010000",
            "nextFundingTime": self.next_funding_ms,
            "time": self.sim_ms,
        }

    def book_ticker_rest(self) -> dict[str, Any]:
        """``GET /fapi/v1/ticker/bookTicker`` body."""
        eng = self.sim.engine
        return {
            "symbol": self.sim.spec.symbol,
            "bidPrice": self.sim.fmt.px(eng.bid),
            "bidQty": "5.000",
            "askPrice": self.sim.fmt.px(eng.ask),
            "askQty": "5.000",
            "time": self.sim_ms,
        }

    def klines_rest(self, params: dict[str, str]) -> list[list[Any]]:
        """``GET /fapi/v1/klines``: closed bars then the open one (array rows, like Binance)."""
        try:
            limit = max(1, min(int(params.get("limit") or 500), KLINE_HISTORY))
            start = int(params.get("startTime") or 0)
            end = int(params.get("endTime") or 2**62)
        except ValueError as exc:
            raise VenueError(-1100, "Illegal characters found in a parameter.") from exc
        if params.get("interval", "1m") != "1m":
            raise VenueError(-1120, "Invalid interval.")
        bars = [(kl, True) for kl in self.closed]
        if self.kline is not None and (not bars or bars[-1][0] is not self.kline):
            bars.append((self.kline, False))
        rows = []
        for kl, closed in bars:
            if not start <= kl.open_ms <= end:
                continue
            k = self._kline(kl, closed)
            rows.append(
                [
                    k["t"],
                    k["o"],
                    k["h"],
                    k["l"],
                    k["c"],
                    k["v"],
                    k["T"],
                    k["q"],
                    k["n"],
                    k["V"],
                    k["Q"],
                    "0",
                ]
            )
        return rows[:limit] if "startTime" in params else rows[-limit:]


async def _sleep_until(deadline: float) -> None:
    delay = deadline - time.monotonic()
    await asyncio.sleep(delay if delay > 0 else 0)
