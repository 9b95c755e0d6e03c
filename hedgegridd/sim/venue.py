"""``Venue``: the account operations behind the REST routes, serialized by one lock.

Order placement, cancels, amendments, the countdown (dead-man) switch, price moves
and funding each take the lock, change the ``MatchingEngine`` and push the
resulting user-stream events through the ``StreamHub``. ALGO_UPDATE FINISHED
trails a triggered order's fill by ``FINISHED_DELAY_S``, as on Binance.
"""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal
from typing import Any

import structlog

import hedgegridd.sim.matching as matching
from hedgegridd.sim.engine import MatchingEngine
from hedgegridd.sim.events import Event
from hedgegridd.sim.faults import Faults
from hedgegridd.sim.orders import VenueError
from hedgegridd.sim.streams import StreamHub

log = structlog.get_logger(__name__)

FINISHED_DELAY_S = 0.2


def wall_ms() -> int:
    """Wall-clock milliseconds (account records and user events carry wall time)."""
    return time.time_ns() // 1_000_000


def _is_algo_finished(event: Event) -> bool:
    return event.get("e") == "ALGO_UPDATE" and event["o"].get("X") == "FINISHED"


class Venue:
    """Serialized account operations with their user-stream side effects."""

    def __init__(self, engine: MatchingEngine, hub: StreamHub, faults: Faults) -> None:
        self.engine = engine
        self.hub = hub
        self.faults = faults
        self.lock = asyncio.Lock()
        self._deferred: set[asyncio.Task[None]] = set()
        self._countdown: asyncio.Task[None] | None = None

    async def close(self) -> None:
        """Cancel the countdown and deferred publications."""
        tasks = [t for t in (self._countdown, *self._deferred) if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            try:
                await task
            except asyncio.CancelledError:
                pass
        self._countdown = None

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
            rest, events = self.engine.new_order(params, wall_ms())
            await self.publish(events)
            return rest

    async def place_algo_order(self, params: dict[str, str]) -> dict[str, Any]:
        """Place a conditional (STOP_MARKET / TAKE_PROFIT_MARKET) order."""
        async with self.lock:
            self._maybe_reject()
            rest, events = self.engine.new_algo_order(params, wall_ms())
            await self.publish(events)
            return rest

    async def cancel_order(self, order_id: str | None, client_id: str | None) -> dict[str, Any]:
        """Cancel one regular order (-2011 if unknown or no longer open)."""
        async with self.lock:
            try:
                order = self.engine.find_order(order_id, client_id)
            except VenueError as exc:
                raise VenueError(-2011, "Unknown order sent.") from exc
            rest, events = self.engine.cancel_order(order, wall_ms())
            await self.publish(events)
            return rest

    async def modify_order(self, params: dict[str, str]) -> dict[str, Any]:
        """Amend a resting LIMIT order's price and quantity."""
        async with self.lock:
            order = self.engine.find_order(params.get("orderId"), params.get("origClientOrderId"))
            rest, events = self.engine.modify_order(order, params, wall_ms())
            await self.publish(events)
            return rest

    async def cancel_algo_order(self, algo_id: str | None, client_id: str | None) -> dict[str, Any]:
        """Cancel one algo order (-2011 if unknown or no longer open)."""
        async with self.lock:
            try:
                algo = self.engine.find_algo(algo_id, client_id)
            except VenueError as exc:
                raise VenueError(-2011, "Unknown order sent.") from exc
            body, events = self.engine.cancel_algo(algo, wall_ms())
            await self.publish(events)
            return body

    async def cancel_all(self) -> int:
        """Cancel every open regular order; returns how many."""
        async with self.lock:
            events: list[Event] = []
            orders = self.engine.open_orders()
            for order in orders:
                events += self.engine.cancel_order(order, wall_ms())[1]
            await self.publish(events)
            return len(orders)

    def set_countdown(self, countdown_ms: int) -> None:
        """Arm (or with 0 disarm) the dead-man switch that cancels all orders."""
        if self._countdown is not None:
            self._countdown.cancel()
            self._countdown = None
        if countdown_ms > 0:
            self._countdown = asyncio.create_task(self._countdown_fire(countdown_ms / 1000))

    async def _countdown_fire(self, delay_s: float) -> None:
        await asyncio.sleep(delay_s)
        cancelled = await self.cancel_all()
        log.info("sim.countdown_cancel_all", cancelled=cancelled)

    async def move_locked(self, price: Decimal, *, gap: bool = False) -> None:
        """Walk the last price to ``price`` (caller holds the lock), then check liquidation."""
        now = wall_ms()
        events = matching.walk(self.engine, price, now, gap=gap)
        liquidation = matching.check_liquidation(self.engine, now)
        if liquidation:
            log.warning("sim.liquidation", price=str(price), wallet=str(self.engine.wallet))
        await self.publish(events + liquidation)

    async def set_premium(self, bps: Decimal, absolute: Decimal) -> None:
        """Change the mark premium; MARK_PRICE orders the new mark crosses trigger."""
        async with self.lock:
            self.engine.ledger.set_premium(bps, absolute)
            now = wall_ms()
            events = matching.trigger_marked(self.engine, now)
            events += matching.check_liquidation(self.engine, now)
            await self.publish(events)
        log.info("sim.mark_premium", bps=str(bps), absolute=str(absolute))

    async def settle_funding(self, rate: Decimal) -> None:
        """Settle funding at the current mark for every open leg."""
        async with self.lock:
            await self.publish(self.engine.ledger.settle_funding(rate, wall_ms()))
