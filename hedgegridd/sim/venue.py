"""``Venue``: the account operations behind the REST routes, serialized by one lock.

One ``Venue`` serves the whole account (every symbol): order placement, cancels,
amendments, the countdown (dead-man) switch per symbol, price moves and funding
each take the lock, change that symbol's ``MatchingEngine`` and push the resulting
user-stream events through the ``StreamHub`` (one user stream sees every symbol).
Methods take the symbol (``symbol=None``: the first one, for callers that predate
several symbols). ALGO_UPDATE FINISHED trails a triggered order's fill by
``FINISHED_DELAY_S``, as on Binance. After any price move or premium change the
account's liquidation is checked over every symbol (cross margin).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import structlog

import hedgegridd.sim.matching as matching
from hedgegridd.sim.engine import MatchingEngine
from hedgegridd.sim.events import Event
from hedgegridd.sim.faults import Faults
from hedgegridd.sim.orders import AlgoOrder, VenueError
from hedgegridd.sim.streams import StreamHub

log = structlog.get_logger(__name__)

FINISHED_DELAY_S = 0.2
SYMBOL_MISSING = "Mandatory parameter 'symbol' was not sent, was empty/null, or malformed."


def wall_ms() -> int:
    """Wall-clock milliseconds (account records and user events carry wall time)."""
    return time.time_ns() // 1_000_000


def _is_algo_finished(event: Event) -> bool:
    return event.get("e") == "ALGO_UPDATE" and event["o"].get("X") == "FINISHED"


class Venue:
    """Serialized account operations with their user-stream side effects."""

    def __init__(
        self, engines: Mapping[str, MatchingEngine], hub: StreamHub, faults: Faults
    ) -> None:
        self.engines = engines  # live: symbols are added as their data is loaded
        self.default_symbol: str | None = None  # symbol=None means this one (else the first)
        self.hub = hub
        self.faults = faults
        self.lock = asyncio.Lock()
        self._deferred: set[asyncio.Task[None]] = set()
        self._countdowns: dict[str, asyncio.Task[None]] = {}

    def engine_of(self, symbol: str | None) -> MatchingEngine:
        """The symbol's engine (None: the first symbol's); -1121 for an unknown symbol."""
        if symbol is None:
            default = self.engines.get(self.default_symbol or "")
            return default if default is not None else next(iter(self.engines.values()))
        engine = self.engines.get(symbol)
        if engine is None:
            raise VenueError(-1121, "Invalid symbol.")
        return engine

    def engine_for(self, params: dict[str, str]) -> MatchingEngine:
        """The engine a request names (-1102 without a symbol, -1121 for an unknown one)."""
        symbol = params.get("symbol")
        if not symbol:
            raise VenueError(-1102, SYMBOL_MISSING)
        return self.engine_of(symbol)

    @property
    def engine(self) -> MatchingEngine:
        """The first symbol's engine."""
        return self.engine_of(None)

    async def close(self) -> None:
        """Cancel the countdowns and deferred publications."""
        tasks = [*self._countdowns.values(), *self._deferred]
        for task in tasks:
            task.cancel()
        for task in tasks:
            try:
                await task
            except asyncio.CancelledError:
                pass
        self._countdowns.clear()

    async def publish(self, events: list[Event]) -> None:
        """Push user events (FINISHED a moment later, as on Binance). Caller holds the lock."""
        now_events = [e for e in events if not _is_algo_finished(e)]
        later = [e for e in events if _is_algo_finished(e)]
        await self.hub.publish_user(now_events)
        if later:
            task = asyncio.create_task(self._publish_later(later, FINISHED_DELAY_S))
            self._deferred.add(task)
            task.add_done_callback(self._deferred.discard)

    async def _publish_later(self, events: list[Event], delay_s: float) -> None:
        await asyncio.sleep(delay_s)
        await self.hub.publish_user(events)

    def _maybe_reject(self) -> None:
        rejection = self.faults.take_rejection()
        if rejection is not None:
            raise VenueError(rejection.code, rejection.msg)

    async def place_order(self, params: dict[str, str]) -> dict[str, Any]:
        """Place a regular order; returns the REST body, pushes its events."""
        async with self.lock:
            self._maybe_reject()
            engine = self.engine_for(params)
            rest, events = engine.new_order(params, wall_ms())
            await self.publish(events)
            return rest

    async def place_algo_order(self, params: dict[str, str]) -> dict[str, Any]:
        """Place a conditional (algo) order."""
        async with self.lock:
            self._maybe_reject()
            engine = self.engine_for(params)
            rest, events = engine.new_algo_order(params, wall_ms())
            await self.publish(events)
            return rest

    async def cancel_order(
        self, order_id: str | None, client_id: str | None, symbol: str | None = None
    ) -> dict[str, Any]:
        """Cancel one regular order (-2011 if unknown or no longer open)."""
        async with self.lock:
            engine = self.engine_of(symbol)
            try:
                order = engine.find_order(order_id, client_id)
            except VenueError as exc:
                raise VenueError(-2011, "Unknown order sent.") from exc
            rest, events = engine.cancel_order(order, wall_ms())
            await self.publish(events)
            return rest

    async def modify_order(self, params: dict[str, str]) -> dict[str, Any]:
        """Amend a resting LIMIT order's price and quantity."""
        async with self.lock:
            engine = self.engine_of(params.get("symbol"))
            order = engine.find_order(params.get("orderId"), params.get("origClientOrderId"))
            rest, events = engine.modify_order(order, params, wall_ms())
            await self.publish(events)
            return rest

    async def cancel_algo_order(
        self, algo_id: str | None, client_id: str | None, symbol: str | None = None
    ) -> dict[str, Any]:
        """Cancel one algo order (-2011 if unknown or no longer open).

        Algo ids are unique across symbols: with ``symbol=None`` every symbol is searched.
        """
        async with self.lock:
            algo, engine = self._find_algo(algo_id, client_id, symbol)
            body, events = engine.cancel_algo(algo, wall_ms())
            await self.publish(events)
            return body

    def _find_algo(
        self, algo_id: str | None, client_id: str | None, symbol: str | None
    ) -> tuple[AlgoOrder, MatchingEngine]:
        engines = [self.engine_of(symbol)] if symbol is not None else self.engines.values()
        for engine in engines:
            try:
                return engine.find_algo(algo_id, client_id), engine
            except VenueError:
                continue
        raise VenueError(-2011, "Unknown order sent.")

    async def cancel_all(self, symbol: str | None = None) -> int:
        """Cancel every open regular order of ``symbol``; returns how many."""
        async with self.lock:
            engine = self.engine_of(symbol)
            events: list[Event] = []
            orders = engine.open_orders()
            for order in orders:
                events += engine.cancel_order(order, wall_ms())[1]
            await self.publish(events)
            return len(orders)

    def set_countdown(self, countdown_ms: int, symbol: str | None = None) -> None:
        """Arm (or with 0 disarm) the symbol's dead-man switch that cancels its orders."""
        sym = self.engine_of(symbol).rules.symbol
        task = self._countdowns.pop(sym, None)
        if task is not None:
            task.cancel()
        if countdown_ms > 0:
            self._countdowns[sym] = asyncio.create_task(
                self._countdown_fire(countdown_ms / 1000, sym)
            )

    async def _countdown_fire(self, delay_s: float, symbol: str) -> None:
        await asyncio.sleep(delay_s)
        self._countdowns.pop(symbol, None)
        cancelled = await self.cancel_all(symbol)
        log.info("sim.countdown_cancel_all", symbol=symbol, cancelled=cancelled)

    async def move_locked(
        self, price: Decimal, *, gap: bool = False, symbol: str | None = None
    ) -> None:
        """Walk the symbol's last price to ``price`` (caller holds the lock), then check
        the account's liquidation."""
        engine = self.engine_of(symbol)
        now = wall_ms()
        events = matching.walk(engine, price, now, gap=gap)
        liquidation = matching.check_liquidation(engine, now)
        if liquidation:
            log.warning(
                "sim.liquidation",
                symbol=engine.rules.symbol,
                price=str(price),
                wallet=str(engine.wallet),
            )
        await self.publish(events + liquidation)

    async def set_premium(self, bps: Decimal, absolute: Decimal, symbol: str | None = None) -> None:
        """Change the symbol's mark premium; MARK_PRICE orders the new mark crosses trigger."""
        async with self.lock:
            engine = self.engine_of(symbol)
            engine.ledger.set_premium(bps, absolute)
            now = wall_ms()
            events = matching.trigger_marked(engine, now)
            events += matching.check_liquidation(engine, now)
            await self.publish(events)
        log.info(
            "sim.mark_premium", symbol=engine.rules.symbol, bps=str(bps), absolute=str(absolute)
        )

    async def settle_funding(self, rate: Decimal, symbol: str | None = None) -> None:
        """Settle the symbol's funding at its current mark for its open legs."""
        async with self.lock:
            engine = self.engine_of(symbol)
            await self.publish(engine.ledger.settle_funding(rate, wall_ms()))
