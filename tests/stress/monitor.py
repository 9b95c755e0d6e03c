"""Invariants of the venue's book, checked on every user-stream event and on a cadence.

The monitor runs in the test's event loop beside the in-process simulator. It wraps
``StreamHub.publish_user`` (called for every order/account event the venue produces,
whether the stream then delivers, delays or drops it), so the check sees the venue's
truth after every order event, and it re-checks every ``poll_s`` for conditions that
only time can break (a position left without its exits).

Invariants, per hedge side:
- the leg never changes sign (LONG amt >= 0, SHORT amt <= 0);
- resting TP qty and resting SL qty never stay above the position (never over-closed)
  for longer than ``grace_s``;
- the position is never left with less TP or SL than it holds for longer than
  ``grace_s`` (a venue round trip, generously padded for slow machines).

It also follows the equity at the mark on every market-data point (for the kill
switch's "mark crossed the limit" instant) and records closing orders as they arrive.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import anyio

from hedgegridd.sim import SimExchange

ZERO = Decimal(0)
SIDES = ("LONG", "SHORT")
CLOSING = {"LONG": "SELL", "SHORT": "BUY"}


def venue_book(sim: SimExchange) -> dict[str, dict[str, Decimal]]:
    """Per side: signed venue amount, position size, resting TP qty, resting SL qty."""
    eng = sim.engine
    out: dict[str, dict[str, Decimal]] = {}
    for side in SIDES:
        closing = CLOSING[side]
        amt = eng.positions[side].amt
        out[side] = {
            "amt": amt,
            "pos": abs(amt),
            "tp": sum(
                (
                    o.remaining
                    for o in eng.open_orders()
                    if o.position_side == side and o.side == closing
                ),
                ZERO,
            ),
            "sl": sum(
                (a.qty for a in eng.open_algos() if a.position_side == side and a.side == closing),
                ZERO,
            ),
        }
    return out


def balanced(sim: SimExchange) -> bool:
    """Per side resting TP qty == resting SL qty == position."""
    return all(b["tp"] == b["sl"] == b["pos"] for b in venue_book(sim).values())


@dataclass
class Breach:
    """A condition that started at ``since`` (monotonic) and has not cleared yet."""

    since: float
    detail: str


@dataclass
class VenueMonitor:
    """Checks the invariants; ``violations`` lists every one that was broken."""

    sim: SimExchange
    grace_s: float = 10.0
    poll_s: float = 0.05
    events: int = 0
    checks: int = 0
    violations: list[str] = field(default_factory=list)
    open_breaches: dict[str, Breach] = field(default_factory=dict)
    longest: dict[str, float] = field(default_factory=dict)
    peak_equity: Decimal | None = None
    drawdown_limit_pct: Decimal | None = None
    crossed_at: float | None = None  # wall time (time.time) the mark crossed the limit
    max_pos: dict[str, Decimal] = field(default_factory=lambda: dict.fromkeys(SIDES, ZERO))
    _orig_user: Callable[[list[dict[str, Any]]], Awaitable[None]] | None = None
    _orig_market: Callable[[str, dict[str, Any]], Awaitable[None]] | None = None

    def install(self) -> None:
        """Hook the simulator's user and market publishers."""
        hub = self.sim.hub
        self._orig_user = hub.publish_user
        self._orig_market = hub.publish

        async def publish_user(events: list[dict[str, Any]]) -> None:
            self.events += len(events)
            self._safely(self.check)
            assert self._orig_user is not None
            await self._orig_user(events)

        async def publish(stream: str, data: dict[str, Any]) -> None:
            self._safely(self._follow_equity)
            assert self._orig_market is not None
            await self._orig_market(stream, data)

        hub.publish_user = publish_user  # type: ignore[method-assign]
        hub.publish = publish  # type: ignore[method-assign]

    def _safely(self, fn: Callable[[], None]) -> None:
        """Run a check inside the simulator's tasks: a monitor bug is a violation, not a crash."""
        try:
            fn()
        except Exception as exc:
            self.violations.append(f"monitor error: {type(exc).__name__}: {exc}")

    async def run(self) -> None:
        """Re-check on a cadence until cancelled."""
        while True:
            self.check()
            await anyio.sleep(self.poll_s)

    def equity(self) -> Decimal:
        """Wallet plus unrealized PnL of every leg at the mark (the venue's view)."""
        eng = self.sim.engine
        return eng.wallet + eng.ledger.unrealized()

    def _follow_equity(self) -> None:
        eq = self.equity()
        if self.peak_equity is None or eq > self.peak_equity:
            self.peak_equity = eq
        limit = self.drawdown_limit_pct
        if limit is None or self.crossed_at is not None or not self.peak_equity:
            return
        if (self.peak_equity - eq) / self.peak_equity * 100 >= limit:
            self.crossed_at = time.time()

    def check(self) -> None:
        """One pass over every invariant."""
        self.checks += 1
        now = time.monotonic()
        for side, b in venue_book(self.sim).items():
            self.max_pos[side] = max(self.max_pos[side], b["pos"])
            sign_ok = b["amt"] >= 0 if side == "LONG" else b["amt"] <= 0
            if not sign_ok:
                self.violations.append(f"{side} leg changed sign: amt {b['amt']}")
            for kind in ("tp", "sl"):
                self._track(f"{side} {kind} over position", b[kind] > b["pos"], now, b)
                self._track(f"{side} {kind} under position", b[kind] < b["pos"], now, b)

    def _track(self, key: str, bad: bool, now: float, book: dict[str, Decimal]) -> None:
        breach = self.open_breaches.get(key)
        if not bad:
            if breach is not None:
                self.longest[key] = max(self.longest.get(key, 0.0), now - breach.since)
                del self.open_breaches[key]
            return
        if breach is None:
            self.open_breaches[key] = Breach(now, f"{book}")
            return
        age = now - breach.since
        if age > self.grace_s and not breach.detail.startswith("REPORTED"):
            self.violations.append(f"{key} for more than {self.grace_s}s: {breach.detail}")
            breach.detail = "REPORTED " + breach.detail

    def closing_orders(self, *, after: float = 0.0) -> list[tuple[float, dict[str, str]]]:
        """(wall time, params) of every MARKET closing order request since ``after``."""
        out = []
        for r in self.sim.order_requests():
            p = r.params
            if r.method != "POST" or r.at < after or p.get("type") != "MARKET":
                continue
            if p.get("side") == CLOSING.get(p.get("positionSide", "")):
                out.append((r.at, p))
        return out
