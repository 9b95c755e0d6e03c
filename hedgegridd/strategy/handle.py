"""What the rest of the daemon may ask of the running strategy: the ``StrategyHandle``.

The supervisor, the kill switch, the metrics collector and the control server hold
a ``StrategyHandle`` and call it on the event loop that runs the Nautilus node (the
one loop of the process). No other thread ever calls it, so it needs no locks.

This module imports no Nautilus: the snapshot types are plain frozen dataclasses
of ``Decimal``/``str``/``int`` so that the control protocol, ops and tests can use
them without loading the engine.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol, runtime_checkable


class TradingState(enum.StrEnum):
    """Coarse state of the strategy as operators see it."""

    STARTING = "STARTING"
    RUNNING = "RUNNING"  # placing and managing orders
    PAUSED = "PAUSED"  # no new entries (operator, drawdown, circuit breaker, stale data)
    DEGRADED = "DEGRADED"  # a handler failed; paused until an operator resumes
    HALTED = "HALTED"  # kill switch latched; only ``killswitch reset`` clears it
    STOPPED = "STOPPED"


class FlattenSide(enum.StrEnum):
    """Which hedge side(s) a flatten closes."""

    LONG = "LONG"
    SHORT = "SHORT"
    BOTH = "BOTH"


@dataclass(frozen=True, slots=True)
class SideSnapshot:
    """One hedge side (LONG or SHORT) as of the snapshot."""

    side: str  # "LONG" | "SHORT"
    quantity: Decimal  # confirmed position size, >= 0
    avg_price: Decimal | None  # None when flat
    unrealized_pnl: Decimal
    notional: Decimal  # quantity * mark price (bar close before the first mark), quote
    entry_orders: int  # resting entry orders on this side
    tp_quantity: Decimal  # resting take-profit quantity protecting this side
    sl_quantity: Decimal  # resting stop-loss quantity protecting this side
    closing_quantity: Decimal = Decimal(0)  # market closes in flight (flatten, gap close)
    closing: bool = False  # a flatten or gap close of this side is in progress


@dataclass(frozen=True, slots=True)
class StrategySnapshot:
    """Everything status/metrics/kill switch need, read in one call on the loop."""

    instrument_id: str
    state: TradingState
    pause_reasons: tuple[str, ...]
    regime: str  # "UP" | "DOWN" | "SIDEWAYS" | "WARMUP"
    center_price: Decimal | None
    last_price: Decimal | None
    throttle: Decimal  # 0..1
    long: SideSnapshot
    short: SideSnapshot
    realized_pnl: Decimal  # since the strategy's PnL bookkeeping began (persisted)
    unrealized_pnl: Decimal
    equity: Decimal | None  # account equity incl. unrealized; None when unknown
    peak_equity: Decimal | None
    margin_ratio: Decimal | None  # maintenance margin / margin balance; None when unknown
    funding_rate: Decimal | None
    next_funding_ns: int | None
    last_bar_ns: int | None  # engine-clock ns of the last bar seen
    fills: int
    circuit_breaker_trips: int
    rejects_by_reason: Mapping[str, int] = field(default_factory=dict)
    bar_gaps: int = 0  # gaps detected in the live bar stream
    bars: int = 0  # live bars processed (while paused or halted too); not warmup history
    # The price positions are valued at (streamed mark, quote mid in paper, or the bar
    # close while no mark streams) and the node-clock ns it was received at: the kill
    # switch's staleness is measured from ``mark_ns`` (``last_bar_ns`` when None).
    mark_price: Decimal | None = None
    mark_ns: int | None = None


@dataclass(frozen=True, slots=True)
class OrderView:
    """A live (open) order the strategy owns."""

    client_order_id: str
    position_side: str  # "LONG" | "SHORT"
    kind: str  # "entry" | "tp" | "sl" | "flatten"
    order_side: str  # "BUY" | "SELL"
    order_type: str  # "LIMIT" | "STOP_MARKET" | "MARKET"
    price: Decimal | None  # limit or trigger price
    quantity: Decimal
    filled: Decimal
    status: str
    level: int | None  # grid level for entries, None otherwise


@dataclass(frozen=True, slots=True)
class RungView:
    """One desired ladder rung after policy, funding, throttle and precision."""

    side: str  # "LONG" | "SHORT"
    level: int
    price: Decimal
    quantity: Decimal


@dataclass(frozen=True, slots=True)
class FlattenTicket:
    """What a flatten request did, per side.

    ``closing_orders``: quantity this call set to close (sent at once, or queued until
    the exits blocking it are confirmed cancelled, one venue round trip); summed over
    any number of calls it never exceeds the position. ``already_closing``: quantity
    that was being closed before the call (a retry adds nothing for it).
    ``sent_now``: market close quantity submitted during this call.
    """

    sides: tuple[str, ...]
    entries_cancelled: int
    closing_orders: Mapping[str, Decimal]  # side -> quantity this call set to close
    already_closing: Mapping[str, Decimal] = field(default_factory=dict)
    sent_now: Mapping[str, Decimal] = field(default_factory=dict)


@runtime_checkable
class StrategyHandle(Protocol):
    """The operations the daemon performs on the strategy (all on the event loop)."""

    def snapshot(self) -> StrategySnapshot:
        """Current state; cheap enough to call on every scrape and status request."""
        ...

    def open_orders(self) -> Sequence[OrderView]:
        """Open orders owned by the strategy, entries and exits."""
        ...

    def ladders(self) -> Sequence[RungView]:
        """The desired rungs of the last grid decision (empty before the first bar)."""
        ...

    def pause(self, reason: str, *, keep_orders: bool = False) -> None:
        """No new exposure: withdraw resting entries (``keep_orders``: leave them resting,
        frozen). Exits stay managed. Idempotent; reasons accumulate."""
        ...

    def resume(self, reason: str) -> None:
        """Clear the pause reason ``reason`` (or all operator/degraded reasons with "*")."""
        ...

    def set_throttle(self, value: Decimal) -> None:
        """Scale every entry quantity by ``value`` in [0, 1]; raises ConfigError otherwise."""
        ...

    def cancel_entries(self) -> int:
        """Cancel every resting entry order; returns how many cancels were sent."""
        ...

    def flatten(self, side: FlattenSide) -> FlattenTicket:
        """Pause, cancel entries and exits of ``side`` and close what is not already closing
        (any number of calls closes the position once)."""
        ...

    def is_flat(self, side: FlattenSide) -> bool:
        """True when the confirmed position of ``side`` (or both) is zero."""
        ...

    def halt(self, reason: str) -> None:
        """Enter HALTED (kill switch latched): paused until ``unhalt`` is called."""
        ...

    def unhalt(self) -> None:
        """Leave HALTED after an operator reset; trading resumes unless other pauses remain."""
        ...
