"""Warm start: what the daemon hands the strategy before it starts, and what it gets back.

The supervisor fetches history and funding asynchronously (never on the strategy's
event path), restores its persisted state, then calls ``strategy.prime(WarmupData)``
before the node starts. The strategy reports changes worth persisting through the
``StateSink`` callback (peak equity, realized PnL) and operator-visible incidents
through the ``AlertSink`` callback (degraded, circuit breaker); both are optional
and called on the event loop.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class HistoryBar:
    """One completed bar of history (close time in ns, prices as Decimal)."""

    close_ns: int
    high: Decimal
    low: Decimal
    close: Decimal


@dataclass(frozen=True, slots=True)
class WarmupData:
    """Everything restored or fetched before start (all optional)."""

    bars: Sequence[HistoryBar] = ()
    funding_rate: Decimal | None = None
    next_funding_ns: int | None = None
    peak_equity: Decimal | None = None
    realized_pnl: Decimal | None = None
    throttle: Decimal | None = None
    pause_reasons: tuple[str, ...] = ()
    halted_reason: str | None = None


@dataclass(frozen=True, slots=True)
class StateUpdate:
    """Values the daemon persists (only the changed ones are set)."""

    peak_equity: Decimal | None = None
    realized_pnl: Decimal | None = None
    extra: dict[str, str] = field(default_factory=dict)


StateSink = Callable[[StateUpdate], None]
AlertSink = Callable[[str, dict[str, str]], None]  # (kind, details)
