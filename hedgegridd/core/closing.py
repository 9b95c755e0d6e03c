"""Closing arithmetic: how much a reducing order may take without over-closing a hedge leg.

Model, per hedge side: ``position`` is the confirmed quantity; the open reducing orders
are counted by kind: ``tp`` and ``sl`` (resting exits, cancel-pending ones included:
they can fill until the venue confirms the cancel) and ``close`` (market closes in
flight: flatten and gap closes). A TP and an SL protect the same lots (one target and
one stop per lot, linked OUO where the venue supports it), so at most one of the two
fills per unit of position; closes come on top of both. The leg can never change sign
while, for every side::

    tp + close <= position   and   sl + close <= position

``admit`` is the one gate every reducing order passes (the strategy calls it for each
TP, SL and close it sends), so no interleaving of fills, partial fills, flattens,
cancels and rejects can take a leg below zero (property-tested). A fill of one exit can
leave the other kind above the leg (a TP and an SL of different lots: Binance has no
OUO, or a twin was rejected); the exit planner cancels that excess at once, and the
live exits never exceed the leg. Until the cancel is confirmed the venue refuses an
excess fill rather than flip the leg (hedge mode).

``plan_close`` is the decision for a side being closed: ``want`` of it should go (all
of it for a flatten, the uncovered quantity for a gap through the stop). Exits beyond
``position - want`` are cancelled (oldest kept, like the exit planner, so the two agree),
and a market close is sent for what the gate admits now: the quantity not already being
closed, less what still-open exits could take. The rest follows once the cancels are
confirmed (one venue round trip); on Binance our own resting closing orders would make
the venue refuse the close (-2022) anyway.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, replace
from decimal import Decimal

from hedgegridd.core.precision import floor_qty
from hedgegridd.core.types import ZERO, ExitKind, InstrumentRules, RestingExit, Side


class ReduceKind(enum.StrEnum):
    """The kinds of reducing order the gate tells apart."""

    TP = "TP"
    SL = "SL"
    CLOSE = "CLOSE"


@dataclass(frozen=True, slots=True)
class Exposure:
    """A side's confirmed position and the open (unfilled) quantity of its reducing orders."""

    position: Decimal
    tp: Decimal = ZERO
    sl: Decimal = ZERO
    close: Decimal = ZERO

    def headroom(self, kind: ReduceKind) -> Decimal:
        """Largest quantity a new order of ``kind`` may take (never negative)."""
        if kind is ReduceKind.TP:
            room = self.position - self.tp - self.close
        elif kind is ReduceKind.SL:
            room = self.position - self.sl - self.close
        else:
            room = self.position - self.close - max(self.tp, self.sl)
        return max(room, ZERO)

    def plus(self, kind: ReduceKind, qty: Decimal) -> Exposure:
        """This exposure with one more open order of ``kind`` and ``qty``."""
        if kind is ReduceKind.TP:
            return replace(self, tp=self.tp + qty)
        if kind is ReduceKind.SL:
            return replace(self, sl=self.sl + qty)
        return replace(self, close=self.close + qty)

    @property
    def over_closed(self) -> bool:
        """True when some interleaving of fills could take the leg below zero."""
        return self.tp + self.close > self.position or self.sl + self.close > self.position


def exposure_of(
    position: Decimal, side: Side, exits: Iterable[RestingExit], close: Decimal = ZERO
) -> Exposure:
    """``Exposure`` of ``side`` from its resting exits (cancel-pending ones count too)."""
    tp = sl = ZERO
    for e in exits:
        if e.side is side:
            if e.kind is ExitKind.TP:
                tp += e.qty
            else:
                sl += e.qty
    return Exposure(position, tp, sl, close)


def admit(exposure: Exposure, kind: ReduceKind, qty: Decimal, rules: InstrumentRules) -> Decimal:
    """The part of ``qty`` a new ``kind`` order may take: a step multiple, or ZERO when the
    headroom left is below ``min_qty`` (an order that small cannot be sent)."""
    allowed = floor_qty(min(qty, exposure.headroom(kind)), rules.step)
    return allowed if allowed >= rules.min_qty else ZERO


def split_qty(qty: Decimal, max_qty: Decimal) -> tuple[Decimal, ...]:
    """``qty`` as orders of at most ``max_qty`` each (empty for zero)."""
    chunks: list[Decimal] = []
    while qty > max_qty:
        chunks.append(max_qty)
        qty -= max_qty
    if qty > 0:
        chunks.append(qty)
    return tuple(chunks)


@dataclass(frozen=True, slots=True)
class ClosePlan:
    """What to do now for a side being closed.

    ``cancels``: exits blocking the close (beyond ``position - want``), to cancel now;
    ``send``: market close quantities to send now (each at most ``max_qty``);
    ``waiting``: quantity still to close that cannot be sent yet (exits not yet confirmed
    cancelled, or below ``min_qty``); ``done``: nothing is left to close.
    """

    side: Side
    cancels: tuple[str, ...] = ()
    send: tuple[Decimal, ...] = ()
    waiting: Decimal = ZERO
    done: bool = False

    @property
    def sent_qty(self) -> Decimal:
        """Total of ``send``."""
        return sum(self.send, ZERO)


def blocking_exits(side: Side, keep: Decimal, exits: Iterable[RestingExit]) -> tuple[str, ...]:
    """Ids of active exits of ``side`` beyond ``keep`` per kind (oldest kept, the exit
    planner's rule). ``exits`` in placement order; cancel-pending ones are skipped."""
    kept = {ExitKind.TP: ZERO, ExitKind.SL: ZERO}
    out: list[str] = []
    for e in exits:
        if e.side is not side or e.pending_cancel:
            continue
        if kept[e.kind] + e.qty <= keep:
            kept[e.kind] += e.qty
        else:
            out.append(e.order_id)
    return tuple(out)


def plan_close(
    side: Side,
    position: Decimal,
    want: Decimal | None,
    exits: Iterable[RestingExit],
    closing: Decimal,
    rules: InstrumentRules,
) -> ClosePlan:
    """Cancels and closes for ``side`` with ``want`` still to close (None: all of it).

    ``closing`` is the open quantity of closes already in flight on ``side``; ``exits``
    its resting exits in placement order (cancel-pending ones included).
    """
    target = position if want is None else min(max(want, ZERO), position)
    if target <= 0 or position <= 0:
        return ClosePlan(side, done=True)
    exits = tuple(e for e in exits if e.side is side)
    cancels = blocking_exits(side, position - target, exits)
    exposure = exposure_of(position, side, exits, closing)
    wanted = max(target - closing, ZERO)
    allowed = admit(exposure, ReduceKind.CLOSE, wanted, rules)
    return ClosePlan(
        side,
        cancels=cancels,
        send=split_qty(allowed, rules.max_qty),
        waiting=wanted - allowed,
        done=False,
    )
