"""The sim clock's walker for one symbol: walks its price path and streams market data.

Per intra-bar point: the price is the recorded path plus the shaper's offset at that
sim time (jumps, scripted moves), the matcher moves (fills and triggers), then
``bookTicker``, ``aggTrade``, an open ``kline_1m`` and ``markPrice`` go to their
subscribers, all under the venue lock so no print can overtake a jump. Points are
the recorded ones, every corner of a scripted move, every due scenario step, and
one per sim second while a move runs. At the
end of each sim-minute a closed kline (``x: true``) goes out. Funding settles
whenever sim time crosses a multiple of ``funding_interval_hours`` (00/08/16 UTC).
Market-data timestamps are sim time, which leads the wall clock when speed > 1.
Every symbol has its own ticker; they share one ``SimClock``.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any, Protocol

import structlog

from hedgegridd.data.instruments import InstrumentSpec
from hedgegridd.sim.clock import MINUTE_MS, SimClock
from hedgegridd.sim.config import SimConfig
from hedgegridd.sim.engine import MatchingEngine
from hedgegridd.sim.faults import Faults
from hedgegridd.sim.klines import KLINE_HISTORY, KlineState, kline_payload, kline_rows
from hedgegridd.sim.market import PricePath, round_to_tick
from hedgegridd.sim.orders import Formats
from hedgegridd.sim.shaper import PriceShaper
from hedgegridd.sim.streams import StreamHub
from hedgegridd.sim.venue import Venue

log = structlog.get_logger(__name__)

MOVE_RESOLUTION_MS = 1000  # while a scripted move runs, a point at least every sim second


class TickerMarket(Protocol):
    """What the ticker reads of its symbol (``SymbolMarket`` is one)."""

    spec: InstrumentSpec
    fmt: Formats
    engine: MatchingEngine
    path: PricePath
    shaper: PriceShaper
    funding_rates: list[Decimal]
    history_bars: int


class MarketTicker:
    """Walks one symbol's path on the shared clock; owns its market-data payloads."""

    def __init__(
        self,
        market: TickerMarket,
        *,
        clock: SimClock,
        venue: Venue,
        hub: StreamHub,
        faults: Faults,
        config: SimConfig,
        fire_due: Callable[[int], Awaitable[None]],
    ) -> None:
        self.market = market
        self.clock = clock
        self.venue = venue
        self.hub = hub
        self.faults = faults
        self.config = config
        self._fire_due = fire_due
        self.symbol = market.spec.symbol
        self.sim_ms = clock.t0_ms
        self.history_bars = market.history_bars
        self.bar_index = self.history_bars
        self.closed: list[KlineState] = [self._history_kline(i) for i in range(self.history_bars)]
        self.funding_settlements = 0
        interval = config.funding_interval_hours * 3_600_000
        self._funding_interval = interval
        self.next_funding_ms = (clock.t0_ms // interval + 1) * interval
        self._agg_ids = itertools.count(1_000_000_001)
        self._update_ids = itertools.count(7_000_000_001)
        self.kline: KlineState | None = None
        self.finished = asyncio.Event()
        self.funding_override: Decimal | None = None
        self.resolution_ms = MOVE_RESOLUTION_MS
        self._wake = asyncio.Event()
        self._resume_gap = False

    @property
    def t0_ms(self) -> int:
        """Sim time at which the clock started (the wall minute at start)."""
        return self.clock.t0_ms

    def _open_ms(self, index: int) -> int:
        """Open time of bar ``index``: history bars end where the clock starts (t0)."""
        return self.clock.t0_ms + (index - self.history_bars) * MINUTE_MS

    def _history_kline(self, index: int) -> KlineState:
        bar = self.market.path.bar(index)
        tick = self.market.spec.tick_size
        o, h, lo, c = (round_to_tick(p, tick) for p in (bar.open, bar.high, bar.low, bar.close))
        return KlineState(self._open_ms(index), o, h, lo, c, bar.volume, 4)

    @property
    def symbol_lower(self) -> str:
        """Stream-name prefix, e.g. ``btcusdt``."""
        return self.symbol.lower()

    def real_time(self, t_ms: int) -> float:
        """The monotonic clock reading at which sim time ``t_ms`` is reached."""
        return self.clock.real_time(t_ms)

    def sim_now_ms(self) -> int:
        """Sim time now (between points too), from the monotonic clock."""
        return self.clock.sim_now_ms()

    def wake(self) -> None:
        """Recompute the next point now (a scenario was scheduled or a move began)."""
        self._wake.set()

    async def _sleep_or_wake(self, deadline: float) -> bool:
        """Sleep until ``deadline``; True when woken early by ``wake``."""
        delay = deadline - time.monotonic()
        if delay <= 0:
            await asyncio.sleep(0)
            return False
        self._wake.clear()
        try:
            await asyncio.wait_for(self._wake.wait(), delay)
        except TimeoutError:
            return False
        return True

    def _next_time(self, t: int, base_times: list[int], end: int) -> int:
        """The next point after ``t``: a recorded point, a move's corner or a due step."""
        candidates = [bt for bt in base_times if bt > t]
        shaper = self.market.shaper
        corner = shaper.next_corner(t)
        if corner is not None:
            candidates.append(corner)
        if shaper.moving(t):
            candidates.append(t + self.resolution_ms)
        return min([end, *candidates])

    async def run(self) -> None:
        """Walk bars forever (or once through when ``loop_data`` is off).

        The shared clock must be anchored (``SimClock.anchor``) before.
        """
        cfg = self.config
        while cfg.loop_data or self.bar_index < len(self.market.path):
            await self._walk_bar(self.bar_index, cfg.steps_per_bar)
            self.bar_index += 1
        self.finished.set()
        log.info("sim.path_finished", symbol=self.symbol, bars=self.bar_index)

    async def _walk_bar(self, i: int, steps: int) -> None:
        path = self.market.path
        bar = path.bar(i)
        base = path.points(bar, steps)
        open_ms = self._open_ms(i)
        end = open_ms + MINUTE_MS
        base_times = [open_ms + k * MINUTE_MS // len(base) for k in range(len(base))]
        vol_step = bar.volume / len(base)
        self.kline = None
        prev, t = open_ms - 1, open_ms
        while t < end:
            if await self._sleep_or_wake(self.real_time(t)):
                t = self._next_time(prev, base_times, end)
                continue
            self.sim_ms = t
            await self._fire_due(t)
            qty = vol_step if t in base_times else vol_step / 10
            await self._point(_base_at(base_times, base, t), t, qty)
            await self._maybe_fund()
            await self.hub.expire_stale_listen_keys(self.sim_ms)
            prev, t = t, self._next_time(t, base_times, end)
        await _sleep_until(self.real_time(end))
        self.sim_ms = end - 1
        if self.kline is None:  # the venue was down for the whole bar
            px = self.market.engine.price
            self.kline = KlineState(open_ms, px, px, px, px, Decimal(0), 0)
        await self._publish_kline(self.kline, closed=True)
        self.closed.append(self.kline)
        if len(self.closed) > KLINE_HISTORY + 500:
            del self.closed[:500]

    async def _point(self, base_px: Decimal, t: int, qty: Decimal) -> None:
        """One intra-bar point: move the market (under the venue lock) and print it."""
        market = self.market
        async with self.venue.lock:
            if self.faults.is_down():
                self._resume_gap = True  # trading is halted; the market reopens with a gap
                return
            px = round_to_tick(base_px + market.shaper.offset_at(t), market.spec.tick_size)
            market.shaper.settle(t)
            await self.venue.move_locked(px, gap=self._resume_gap, symbol=self.symbol)
            self._resume_gap = False
            await self.print_locked(qty)

    async def print_locked(self, qty: Decimal) -> None:
        """Print the engine's last price: kline, trade, quote, mark (caller holds the lock)."""
        px = self.market.engine.price
        if self.kline is None:
            open_ms = self._open_ms(self.bar_index)
            self.kline = KlineState(open_ms, px, px, px, px, Decimal(0), 0)
        kl = self.kline
        kl.high, kl.low, kl.close = max(kl.high, px), min(kl.low, px), px
        kl.volume += qty
        kl.trades += 1
        await self._publish_point(px, qty)

    async def _maybe_fund(self) -> None:
        if self.sim_ms < self.next_funding_ms:
            return
        rate = self.funding_rate
        await self.venue.settle_funding(rate, symbol=self.symbol)
        self.funding_settlements += 1
        self.next_funding_ms += self._funding_interval
        log.info(
            "sim.funding_settled",
            symbol=self.symbol,
            rate=str(rate),
            settlement=self.funding_settlements,
        )

    @property
    def funding_rate(self) -> Decimal:
        """Rate of the next settlement: a scenario's override, the data's, or the configured one."""
        if self.funding_override is not None:
            return self.funding_override
        rates = self.market.funding_rates
        if rates:
            return rates[self.funding_settlements % len(rates)]
        return self.config.funding_rate

    # ------------------------------------------------------------ payloads
    async def _publish_point(self, px: Decimal, qty: Decimal) -> None:
        hub = self.hub
        sym = self.symbol_lower
        await self.publish_quote()
        if hub.has_subscribers(f"{sym}@aggTrade"):
            agg = next(self._agg_ids)
            await hub.publish(
                f"{sym}@aggTrade",
                {
                    "e": "aggTrade",
                    "E": self.sim_ms,
                    "s": self.symbol,
                    "a": agg,
                    "p": self.market.fmt.px(px),
                    "q": self.market.fmt.qt(
                        max(qty.quantize(self.market.spec.step_size), self.market.spec.min_qty)
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
        if not self.hub.has_subscribers(name):
            return
        eng = self.market.engine
        fmt = self.market.fmt
        await self.hub.publish(
            name,
            {
                "e": "bookTicker",
                "u": next(self._update_ids),
                "E": self.sim_ms,
                "T": self.sim_ms,
                "s": self.symbol,
                "b": fmt.px(eng.bid),
                "B": "5.000",
                "a": fmt.px(eng.ask),
                "A": "5.000",
            },
        )

    async def _publish_kline(self, kl: KlineState, *, closed: bool) -> None:
        name = f"{self.symbol_lower}@kline_1m"
        if not self.hub.has_subscribers(name):
            return
        await self.hub.publish(
            name,
            {
                "e": "kline",
                "E": self.sim_ms,
                "s": self.symbol,
                "k": self._kline(kl, closed),
            },
        )

    def _kline(self, kl: KlineState, closed: bool) -> dict[str, Any]:
        return kline_payload(self.market.fmt, self.symbol, kl, closed)

    def mark_payload(self) -> dict[str, Any]:
        """``markPrice`` stream payload: mark (last + premium), index = last, funding rate."""
        mark = self.market.fmt.px(self.market.engine.mark)
        index = self.market.fmt.px(self.market.engine.price)
        return {
            "e": "markPriceUpdate",
            "E": self.sim_ms,
            "s": self.symbol,
            "p": mark,
            "ap": mark,
            "P": mark,
            "i": index,
            "r": f"{self.funding_rate:.8f}",
            "T": self.next_funding_ms,
        }

    def premium_index(self) -> dict[str, Any]:
        """``GET /fapi/v1/premiumIndex`` body (mark with its premium, index = last)."""
        mark = self.market.fmt.px(self.market.engine.mark)
        return {
            "symbol": self.symbol,
            "markPrice": mark,
            "indexPrice": self.market.fmt.px(self.market.engine.price),
            "estimatedSettlePrice": mark,
            "lastFundingRate": f"{self.funding_rate:.8f}",
            "interestRate": "0.00010000",
            "nextFundingTime": self.next_funding_ms,
            "time": self.sim_ms,
        }

    def book_ticker_rest(self) -> dict[str, Any]:
        """``GET /fapi/v1/ticker/bookTicker`` body."""
        eng = self.market.engine
        return {
            "symbol": self.symbol,
            "bidPrice": self.market.fmt.px(eng.bid),
            "bidQty": "5.000",
            "askPrice": self.market.fmt.px(eng.ask),
            "askQty": "5.000",
            "time": self.sim_ms,
        }

    def klines_rest(self, params: dict[str, str]) -> list[list[Any]]:
        """``GET /fapi/v1/klines``: closed bars then the open one (array rows, like Binance)."""
        return kline_rows(self.market.fmt, self.symbol, self.closed, self.kline, params)


def _base_at(times: list[int], prices: list[Decimal], t: int) -> Decimal:
    """The recorded path at ``t``: linear between its points, the close after the last."""
    if t <= times[0]:
        return prices[0]
    for k in range(1, len(times)):
        t0, t1, p0, p1 = times[k - 1], times[k], prices[k - 1], prices[k]
        if t <= t1:
            return p0 + (p1 - p0) * Decimal(t - t0) / Decimal(t1 - t0)
    return prices[-1]


async def _sleep_until(deadline: float) -> None:
    delay = deadline - time.monotonic()
    await asyncio.sleep(delay if delay > 0 else 0)
