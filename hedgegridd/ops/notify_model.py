"""What notifications are made of: fills, round trips, a day's figures, and their text.

Plain Decimal bookkeeping, no I/O and no clock (time comes in as arguments), so the
notifier's arithmetic is tested without a loop. Round trips follow the backtest
report's convention: every closing fill is one round trip, its PnL measured
against the side's average entry price, minus the closing fill's fee and the
pro-rata fees of the entries it closes.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal

ZERO = Decimal(0)
MONEY = Decimal("0.0001")


@dataclass(frozen=True, slots=True)
class FillNote:
    """One fill of the strategy, as notifications show it."""

    ts_ns: int
    instrument: str
    client_order_id: str
    trade_id: str
    side: str  # hedge side: LONG | SHORT
    order_side: str  # BUY | SELL
    kind: str  # entry | tp | sl | flatten | other
    price: Decimal
    quantity: Decimal
    commission: Decimal

    @property
    def opening(self) -> bool:
        """True when the fill grows its side (BUY on LONG, SELL on SHORT)."""
        return (self.side == "LONG") == (self.order_side == "BUY")


@dataclass(frozen=True, slots=True)
class TripNote:
    """One round trip: a closing fill and the PnL it realized after fees."""

    ts_ns: int
    side: str
    quantity: Decimal
    entry_price: Decimal
    exit_price: Decimal
    pnl: Decimal


@dataclass(slots=True)
class _Leg:
    qty: Decimal = ZERO
    avg: Decimal = ZERO
    fee_per_unit: Decimal = ZERO


class TripBook:
    """Average-cost book per hedge side; each closing fill yields one ``TripNote``."""

    def __init__(self) -> None:
        self._legs = {"LONG": _Leg(), "SHORT": _Leg()}

    def seed(self, side: str, qty: Decimal, avg: Decimal | None) -> None:
        """Adopt the position held when notifications start (its entry fees are unknown)."""
        self._legs[side] = _Leg(qty=qty, avg=avg or ZERO) if qty > 0 else _Leg()

    def apply(self, fill: FillNote) -> TripNote | None:
        """Book ``fill``; the round trip it closed, if any."""
        leg = self._legs.setdefault(fill.side, _Leg())
        if fill.opening:
            total = leg.qty + fill.quantity
            if total > 0:
                leg.avg = (leg.avg * leg.qty + fill.price * fill.quantity) / total
                leg.fee_per_unit = (leg.fee_per_unit * leg.qty + fill.commission) / total
            leg.qty = total
            return None
        closed = min(fill.quantity, leg.qty)
        sign = 1 if fill.side == "LONG" else -1
        gross = (fill.price - leg.avg) * closed * sign
        pnl = gross - fill.commission - leg.fee_per_unit * closed
        trip = TripNote(fill.ts_ns, fill.side, closed, leg.avg, fill.price, pnl)
        leg.qty -= closed
        if leg.qty == 0:
            leg.avg = ZERO
            leg.fee_per_unit = ZERO
        return trip


class SeenFills:
    """The last ``limit`` (order id, trade id) pairs: a replayed fill is notified once."""

    def __init__(self, limit: int = 20_000) -> None:
        self._order: deque[tuple[str, str]] = deque()
        self._keys: set[tuple[str, str]] = set()
        self._limit = limit

    def add(self, fill: FillNote) -> bool:
        """Remember ``fill``; False when it was seen already."""
        key = (fill.client_order_id, fill.trade_id)
        if key in self._keys:
            return False
        self._keys.add(key)
        self._order.append(key)
        if len(self._order) > self._limit:
            self._keys.discard(self._order.popleft())
        return True


@dataclass(slots=True)
class DayStats:
    """Figures of one summary period (from ``start_s`` to the summary)."""

    start_s: float
    realized_start: Decimal | None = None
    fills: int = 0
    fees: Decimal = ZERO
    trips: int = 0
    trip_pnl: Decimal = ZERO
    funding: Decimal = ZERO  # estimated: -rate * net notional at each funding time
    peak_equity: Decimal | None = None
    max_drawdown_pct: Decimal = ZERO
    trip_list: list[TripNote] = field(default_factory=list)

    def add_fill(self, fill: FillNote, trip: TripNote | None) -> None:
        """Count a fill (and the round trip it closed)."""
        self.fills += 1
        self.fees += fill.commission
        if trip is not None:
            self.trips += 1
            self.trip_pnl += trip.pnl

    def observe_equity(self, equity: Decimal) -> None:
        """Track the period's peak equity and the deepest fall below it, in %."""
        if self.peak_equity is None or equity > self.peak_equity:
            self.peak_equity = equity
        if self.peak_equity > 0:
            dd = (self.peak_equity - equity) / self.peak_equity * 100
            self.max_drawdown_pct = max(self.max_drawdown_pct, dd)


def money(value: Decimal) -> str:
    """A money figure at 4 decimals with its sign, e.g. ``+1.2500``."""
    return f"{value.quantize(MONEY):+f}"


def plain(value: Decimal) -> str:
    """A price or quantity without trailing zeros, never scientific."""
    text = format(value.normalize(), "f")
    return text if text != "-0" else "0"


def utc_text(seconds: float) -> str:
    """Epoch seconds as ``YYYY-MM-DD HH:MM UTC``."""
    return datetime.fromtimestamp(seconds, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


def fill_line(fill: FillNote) -> str:
    """``BUY 0.002 LONG @ 60000 (entry) fee 0.024``."""
    return (
        f"{fill.order_side} {plain(fill.quantity)} {fill.side} @ {plain(fill.price)} "
        f"({fill.kind}) fee {plain(fill.commission)}"
    )


def trip_line(trip: TripNote) -> str:
    """``round trip LONG 0.002: 60000 -> 60300, pnl +0.5520``."""
    return (
        f"round trip {trip.side} {plain(trip.quantity)}: {plain(trip.entry_price)} -> "
        f"{plain(trip.exit_price)}, pnl {money(trip.pnl)}"
    )
