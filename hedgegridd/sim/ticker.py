"""The sim clock: walks the price path and streams market data from it.

Per intra-bar point: the price is the recorded path plus the shaper's offset at that
sim time (jumps, scripted moves), the matcher moves (fills and triggers), then
``bookTicker``, ``aggTrade``, an open ``kline_1m`` and ``markPrice`` go to their
subscribers, all under the venue lock so no print can overtake a jump. Points are
the recorded ones, every corner of a scripted move, every due scenario step, and
one per sim second while a move runs. At the
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
MOVE_RESOLUTION_MS = 1000  # while a scripted move runs, a point at least every sim second


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
        self.funding_override: Decimal | None = None
        self.resolution_ms = MOVE_RESOLUTION_MS
        self._minute_s = 60.0 / sim.config.speed
        self._real_t0 = time.monotonic()
        self._wake = asyncio.Event()
        self._resume_gap = False

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

    def real_time(self, t_ms: int) -> float:
        """The monotonic clock reading at which sim time ``t_ms`` is reached."""
        return self._real_t0 + (t_ms - self.t0_ms) / MINUTE_MS * self._minute_s

    def sim_now_ms(self) -> int:
        """Sim time now (between points too), from the monotonic clock."""
        return self.t0_ms + int((time.monotonic() - self._real_t0) / self._minute_s * MINUTE_MS)

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
        corner = self.sim.shaper.next_corner(t)
        if corner is not None:
            candidates.append(corner)
        if self.sim.shaper.moving(t):
            candidates.append(t + self.resolution_ms)
        return min([end, *candidates])

    async def run(self) -> None:
        """Walk bars forever (or once through when ``loop_data`` is off)."""
        cfg = self.sim.config
        # The clock started at t0 (the wall minute): at speed 1 sim time is wall time and
        # klines close on wall-minute boundaries, like Binance's.
        elapsed_ms = time.time_ns() // 1_000_000 - self.t0_ms
        self._real_t0 = time.monotonic() - elapsed_ms / MINUTE_MS * self._minute_s
        while cfg.loop_data or self.bar_index < len(self.sim.path):
            await self._walk_bar(self.bar_index, cfg.steps_per_bar)
            self.bar_index += 1
        self.finished.set()
        log.info("sim.path_finished", bars=self.bar_index)

    async def _walk_bar(self, i: int, steps: int) -> None:
        bar = self.sim.path.bar(i)
        base = self.sim.path.points(bar, steps)
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
            await self.sim.fire_due_steps(t)
            qty = vol_step if t in base_times else vol_step / 10
            await self._point(_base_at(base_times, base, t), t, qty)
            await self._maybe_fund()
            await self.sim.hub.expire_stale_listen_keys(self.sim_ms)
            prev, t = t, self._next_time(t, base_times, end)
        await _sleep_until(self.real_time(end))
        self.sim_ms = end - 1
        if self.kline is None:  # the venue was down for the whole bar
            px = self.sim.engine.price
            self.kline = KlineState(open_ms, px, px, px, px, Decimal(0), 0)
        await self._publish_kline(self.kline, closed=True)
        self.closed.append(self.kline)
        if len(self.closed) > KLINE_HISTORY + 500:
            del self.closed[:500]

    async def _point(self, base_px: Decimal, t: int, qty: Decimal) -> None:
        """One intra-bar point: move the market (under the venue lock) and print it."""
        sim = self.sim
        async with sim.venue.lock:
            if sim.faults.is_down():
                self._resume_gap = True  # trading is halted; the market reopens with a gap
                return
            px = round_to_tick(base_px + sim.shaper.offset_at(t), sim.spec.tick_size)
            sim.shaper.settle(t)
            await sim.venue.move_locked(px, gap=self._resume_gap)
            self._resume_gap = False
            await self.print_locked(qty)

    async def print_locked(self, qty: Decimal) -> None:
        """Print the engine's last price: kline, trade, quote, mark (caller holds the lock)."""
        px = self.sim.engine.price
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
        await self.sim.venue.settle_funding(rate)
        self.funding_settlements += 1
        self.next_funding_ms += self._funding_interval
        log.info("sim.funding_settled", rate=str(rate), settlement=self.funding_settlements)

    @property
    def funding_rate(self) -> Decimal:
        """Rate of the next settlement: a scenario's override, the data's, or the configured one."""
        if self.funding_override is not None:
            return self.funding_override
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
        """``markPrice`` stream payload: mark (last + premium), index = last, funding rate."""
        mark = self.sim.fmt.px(self.sim.engine.mark)
        index = self.sim.fmt.px(self.sim.engine.price)
        return {
            "e": "markPriceUpdate",
            "E": self.sim_ms,
            "s": self.sim.spec.symbol,
            "p": mark,
            "ap": mark,
            "P": mark,
            "i": index,
            "r": f"{self.funding_rate:.8f}",
            "T": self.next_funding_ms,
        }

    def premium_index(self) -> dict[str, Any]:
        """``GET /fapi/v1/premiumIndex`` body (mark with its premium, index = last)."""
        mark = self.sim.fmt.px(self.sim.engine.mark)
        return {
            "symbol": self.sim.spec.symbol,
            "markPrice": mark,
            "indexPrice": self.sim.fmt.px(self.sim.engine.price),
            "estimatedSettlePrice": mark,
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
