"""Exit planner: per side, resting TP quantity and SL quantity each equal the position.

Design (aggregate per side, top-up): for each side and each kind (TP, SL) the planner
counts the *active* resting exits (cancels in flight are not protection). Exits are
kept oldest first while their running total fits within the confirmed position; any
that would exceed it are cancelled (so a TP fill shrinking the position cancels the
matching SL quantity: that is the one-cancels-other rule, enforced by quantity). A
shortfall is topped up with new exits priced from the side's current average entry
price (chunks of at most ``max_qty``). Exits are never repriced, so each top-up
behaves like a lot protected at the average of its time.

This keeps the invariant across repeated fills at one level, partial fills, restarts
(an adopted position with no known lots simply gets topped up) and recenters (which do
not touch exits). Exits are closing-side only and never exceed the position, so they
cannot open or flip it. A shortfall smaller than ``min_qty`` is consolidated (all exits
of that kind replaced by one for the whole position); a position that is not a step
multiple or below ``min_qty`` leaves an ``uncovered`` remainder that is reported, never
hidden. Exits ignore ``min_notional`` (Binance exempts closing orders from it).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from hedgegridd.core.ladder import exit_prices
from hedgegridd.core.precision import floor_qty
from hedgegridd.core.specs import ExitSpec
from hedgegridd.core.types import (
    ZERO,
    CancelExit,
    ExitKind,
    InstrumentRules,
    PlaceExit,
    Position,
    RestingExit,
    Side,
)


@dataclass(frozen=True, slots=True)
class Uncovered:
    """Position quantity of ``side`` that no ``kind`` exit can protect (below step/min qty)."""

    side: Side
    kind: ExitKind
    qty: Decimal


@dataclass(frozen=True, slots=True)
class StopBreached:
    """A stop-loss to be placed is already through the market (LONG: stop >= mid; SHORT:
    stop <= mid): the venue would trigger or reject it at once (Binance -2021). The caller
    should close ``qty`` of ``side`` at market instead of relying on the stop."""

    side: Side
    stop_price: Decimal
    mid: Decimal
    qty: Decimal


@dataclass(frozen=True, slots=True)
class ExitPlan:
    """Exit operations for the sides planned; ``uncovered`` lists what cannot be protected;
    ``stop_breached`` lists SL placements already through the market (see StopBreached)."""

    cancels: tuple[CancelExit, ...] = ()
    places: tuple[PlaceExit, ...] = ()
    uncovered: tuple[Uncovered, ...] = ()
    stop_breached: tuple[StopBreached, ...] = ()

    @property
    def is_empty(self) -> bool:
        """True when no order needs to be sent."""
        return not self.cancels and not self.places


EMPTY_PLAN = ExitPlan()


def _split(qty: Decimal, max_qty: Decimal) -> list[Decimal]:
    chunks: list[Decimal] = []
    while qty > max_qty:
        chunks.append(max_qty)
        qty -= max_qty
    if qty > 0:
        chunks.append(qty)
    return chunks


def _plan_kind(
    position: Position,
    kind: ExitKind,
    active: list[RestingExit],
    price: Decimal | None,
    rules: InstrumentRules,
    cancels: list[CancelExit],
    places: list[PlaceExit],
    uncovered: list[Uncovered],
) -> None:
    side, target = position.side, position.qty
    covered = ZERO
    kept: list[RestingExit] = []
    for e in active:
        if covered + e.qty <= target:
            kept.append(e)
            covered += e.qty
        else:
            cancels.append(CancelExit(e.order_id, side, kind))
    if price is None or covered == target:
        return
    top_up = floor_qty(target - covered, rules.step)
    if top_up < rules.min_qty and kept:
        # Too small to place on its own: replace this kind's exits by one for the whole side.
        cancels.extend(CancelExit(e.order_id, side, kind) for e in kept)
        covered = ZERO
        top_up = floor_qty(target, rules.step)
    if top_up >= rules.min_qty:
        places.extend(PlaceExit(side, kind, price, q) for q in _split(top_up, rules.max_qty))
        covered += top_up
    if covered < target:
        uncovered.append(Uncovered(side, kind, target - covered))


def plan_side_exits(
    position: Position, resting: Iterable[RestingExit], spec: ExitSpec, rules: InstrumentRules
) -> ExitPlan:
    """Exit operations for ``position.side`` (``resting`` in placement order, oldest first)."""
    side = position.side
    active_tp: list[RestingExit] = []
    active_sl: list[RestingExit] = []
    tp_sum = sl_sum = ZERO
    for e in resting:
        if e.side is side and not e.pending_cancel:
            if e.kind is ExitKind.TP:
                active_tp.append(e)
                tp_sum += e.qty
            else:
                active_sl.append(e)
                sl_sum += e.qty
    if tp_sum == position.qty and sl_sum == position.qty:
        return EMPTY_PLAN  # exactly covered (or flat with no exits): nothing to do
    tp_price: Decimal | None = None
    sl_price: Decimal | None = None
    if position.qty > 0 and position.avg_price is not None:
        prices = exit_prices(side, position.avg_price, spec, rules.tick)
        tp_price, sl_price = prices.tp, prices.sl
    cancels: list[CancelExit] = []
    places: list[PlaceExit] = []
    uncovered: list[Uncovered] = []
    _plan_kind(position, ExitKind.TP, active_tp, tp_price, rules, cancels, places, uncovered)
    _plan_kind(position, ExitKind.SL, active_sl, sl_price, rules, cancels, places, uncovered)
    if not cancels and not places and not uncovered:
        return EMPTY_PLAN
    return ExitPlan(tuple(cancels), tuple(places), tuple(uncovered))


def plan_exits(
    positions: Sequence[Position],
    resting: Sequence[RestingExit],
    spec: ExitSpec,
    rules: InstrumentRules,
) -> ExitPlan:
    """Exit operations for every side in ``positions`` (a side absent is left alone)."""
    plans = [plan_side_exits(p, resting, spec, rules) for p in positions]
    plans = [p for p in plans if p is not EMPTY_PLAN]
    if not plans:
        return EMPTY_PLAN
    if len(plans) == 1:
        return plans[0]
    return ExitPlan(
        tuple(c for p in plans for c in p.cancels),
        tuple(x for p in plans for x in p.places),
        tuple(u for p in plans for u in p.uncovered),
    )


def protected_qty(resting: Iterable[RestingExit], side: Side, kind: ExitKind) -> Decimal:
    """Active (not cancel-pending) resting quantity of ``kind`` exits on ``side``."""
    return sum(
        (e.qty for e in resting if e.side is side and e.kind is kind and not e.pending_cancel),
        ZERO,
    )


def find_breached_stops(plan: ExitPlan, mid: Decimal) -> ExitPlan:
    """``plan`` with ``stop_breached`` filled for SL placements already through ``mid``."""
    breached = tuple(
        StopBreached(p.side, p.price, mid, p.qty)
        for p in plan.places
        if p.kind is ExitKind.SL and ((p.price >= mid) if p.side is Side.LONG else (p.price <= mid))
    )
    if breached == plan.stop_breached:
        return plan
    return ExitPlan(plan.cancels, plan.places, plan.uncovered, breached)
