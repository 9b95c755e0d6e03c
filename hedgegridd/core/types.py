"""Value types of the pure core: sides, regimes, instrument rules, rungs, ladders, intents.

Everything is a frozen dataclass or an enum of ``Decimal``/``int``/``str``: hashable,
comparable, cheap to cache on. Prices and quantities are ``Decimal`` only.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from decimal import Decimal

from hedgegridd.errors import DomainError

ZERO = Decimal(0)
ONE = Decimal(1)
BPS = Decimal(10_000)


class Side(enum.StrEnum):
    """A hedge-mode position side. LONG entries buy, SHORT entries sell."""

    LONG = "LONG"
    SHORT = "SHORT"

    @property
    def entry_order_side(self) -> str:
        """Order side ("BUY"/"SELL") that opens or grows this position side."""
        return "BUY" if self is Side.LONG else "SELL"

    @property
    def exit_order_side(self) -> str:
        """Order side ("SELL"/"BUY") that closes this position side."""
        return "SELL" if self is Side.LONG else "BUY"

    @property
    def opposite(self) -> Side:
        """The other hedge side."""
        return Side.SHORT if self is Side.LONG else Side.LONG


class Regime(enum.StrEnum):
    """Market regime from the detector; WARMUP until the indicators have enough bars."""

    UP = "UP"
    DOWN = "DOWN"
    SIDEWAYS = "SIDEWAYS"
    WARMUP = "WARMUP"


class ExitKind(enum.StrEnum):
    """Take-profit (limit) or stop-loss (stop-market) exit."""

    TP = "TP"
    SL = "SL"


RungKey = tuple[str, int]
"""Stable key of an entry rung: (side value, level), e.g. ("LONG", 3). Levels start at 1."""


@dataclass(frozen=True, slots=True)
class InstrumentRules:
    """Exchange filters the core rounds to (from the instrument, never hard-coded)."""

    tick: Decimal
    step: Decimal
    min_qty: Decimal
    max_qty: Decimal
    min_notional: Decimal

    def __post_init__(self) -> None:
        for name in ("tick", "step", "min_qty", "max_qty"):
            value = getattr(self, name)
            if not isinstance(value, Decimal) or not value.is_finite() or value <= 0:
                raise DomainError(f"InstrumentRules.{name} must be a finite Decimal > 0")
        if not isinstance(self.min_notional, Decimal) or self.min_notional < 0:
            raise DomainError("InstrumentRules.min_notional must be a Decimal >= 0")
        if self.max_qty < self.min_qty:
            raise DomainError("InstrumentRules.max_qty must be >= min_qty")


@dataclass(frozen=True, slots=True)
class Rung:
    """One entry level: LONG rungs buy below the center, SHORT rungs sell above it."""

    side: Side
    level: int
    price: Decimal
    qty: Decimal

    @property
    def key(self) -> RungKey:
        """Stable (side, level) key used by the order diff."""
        return (self.side.value, self.level)


@dataclass(frozen=True, slots=True)
class Ladder:
    """The rungs of one side, level 1 nearest the center."""

    side: Side
    rungs: tuple[Rung, ...] = ()

    @property
    def total_qty(self) -> Decimal:
        """Sum of rung quantities."""
        return sum((r.qty for r in self.rungs), ZERO)

    def __len__(self) -> int:
        return len(self.rungs)


@dataclass(frozen=True, slots=True)
class Position:
    """Confirmed position of one hedge side (qty >= 0; avg_price None or > 0 when qty > 0)."""

    side: Side
    qty: Decimal = ZERO
    avg_price: Decimal | None = None

    def __post_init__(self) -> None:
        if self.qty < 0:
            raise DomainError(
                f"Position.qty of {self.side} must be >= 0 (hedge sides are unsigned)"
            )
        if self.qty > 0 and (self.avg_price is None or self.avg_price <= 0):
            raise DomainError(f"Position.avg_price of {self.side} must be > 0 when qty > 0")


@dataclass(frozen=True, slots=True)
class LiveEntry:
    """An entry order the adapter owns that is not closed: submitted (even if not yet
    acknowledged), accepted or partially filled. Leaving out in-flight submissions
    would make the diff place them again.

    ``qty`` is the order's original quantity (a partially filled entry keeps its level);
    ``pending_cancel`` marks a cancel already in flight: the diff ignores such orders
    (it neither matches nor cancels them again).
    """

    order_id: str
    side: Side
    level: int
    price: Decimal
    qty: Decimal
    pending_cancel: bool = False

    @property
    def key(self) -> RungKey:
        """Stable (side, level) key."""
        return (self.side.value, self.level)


@dataclass(frozen=True, slots=True)
class RestingExit:
    """A resting exit order: ``qty`` is its remaining (unfilled) quantity.

    Exits with ``pending_cancel`` are not counted as protection.
    """

    order_id: str
    side: Side
    kind: ExitKind
    price: Decimal
    qty: Decimal
    pending_cancel: bool = False


@dataclass(frozen=True, slots=True)
class PlaceEntry:
    """Place a post-only limit entry for ``rung`` (key = (side, level))."""

    rung: Rung

    @property
    def key(self) -> RungKey:
        """Stable (side, level) key of the rung."""
        return self.rung.key


@dataclass(frozen=True, slots=True)
class CancelEntry:
    """Cancel the entry order ``order_id`` resting at ``key``."""

    order_id: str
    key: RungKey


@dataclass(frozen=True, slots=True)
class PlaceExit:
    """Place a closing exit on ``side``: TP = limit at ``price``, SL = stop-market at ``price``.

    Always closing-side (``side.exit_order_side``) with the position side set, so it can
    never open or flip a position; ``qty`` never exceeds the uncovered position.
    """

    side: Side
    kind: ExitKind
    price: Decimal
    qty: Decimal


@dataclass(frozen=True, slots=True)
class CancelExit:
    """Cancel the exit order ``order_id`` (because it exceeds the position or it is flat)."""

    order_id: str
    side: Side
    kind: ExitKind


Intent = PlaceEntry | CancelEntry | PlaceExit | CancelExit
