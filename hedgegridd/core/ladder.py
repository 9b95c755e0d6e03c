"""Ladder geometry: rung prices and quantities around a center, inventory cap, TP/SL prices.

The pipeline per side is ``build_raw_ladder`` (prices on tick, raw quantities) ->
policy/funding/throttle scale the quantities -> ``finalize_ladder`` (quantities to step,
untradable rungs dropped) -> ``cap_inventory`` -> ``keep_passive`` (no rung on the wrong
side of mid). Nothing here divides by a value that can be zero.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from hedgegridd.core.precision import (
    clamp_qty,
    clamp_rung,
    round_entry_price,
    round_price_down,
    round_price_up,
)
from hedgegridd.core.specs import ExitSpec, LadderSpec, Spacing
from hedgegridd.core.types import BPS, ONE, InstrumentRules, Ladder, Rung, Side
from hedgegridd.errors import DomainError


@dataclass(frozen=True, slots=True)
class InventoryCapReached:
    """The ladder of ``side`` was cut so position + resting entries stay within ``cap``.

    A value in the decision (never raised in the bar path); ``as_error()`` gives the
    equivalent ``DomainError`` for callers that want to raise.
    """

    side: Side
    position_qty: Decimal
    cap: Decimal
    dropped_levels: tuple[int, ...]

    @property
    def message(self) -> str:
        """Operator-readable description."""
        return (
            f"{self.side} inventory cap {self.cap} reached (position {self.position_qty}); "
            f"levels {list(self.dropped_levels)} not placed"
        )

    def as_error(self) -> DomainError:
        """The same condition as a DomainError."""
        return DomainError(self.message)


def build_raw_ladder(side: Side, center: Decimal, spec: LadderSpec, tick: Decimal) -> Ladder:
    """Rungs 1..levels_per_side at tick-rounded prices (buys down, sells up), raw quantities.

    LONG rungs sit below ``center``, SHORT rungs above; LONG rungs whose price would be
    <= 0 are omitted. Returns an empty ladder for a non-positive center. Prices are
    computed exactly in integer arithmetic (center, step and tick as exact ratios) and
    then rounded once to the tick, so no intermediate Decimal rounding can move a rung.
    """
    if center <= 0 or spec.levels_per_side <= 0:
        return Ladder(side)
    c_num, c_den = center.as_integer_ratio()
    s_num, s_den = spec.step_bps.as_integer_ratio()
    t_num, t_den = tick.as_integer_ratio()
    unit = 10_000 * s_den  # step as s_num / unit
    move = -s_num if side is Side.LONG else s_num
    geometric = spec.spacing is Spacing.GEOMETRIC
    # price / tick = (c_num * t_den * f_num) / (c_den * t_num * f_den) with factor f_num / f_den
    base_num, base_den = c_num * t_den, c_den * t_num
    f_num, f_den = 1, 1
    long = side is Side.LONG
    rungs: list[Rung] = []
    qty = spec.base_qty
    for level in range(1, spec.levels_per_side + 1):
        if geometric:
            f_num, f_den = f_num * (unit + move), f_den * unit
        else:
            f_num, f_den = unit + move * level, unit
        num, den = base_num * f_num, base_den * f_den
        ticks = num // den if long else -(-num // den)
        if ticks <= 0:
            break
        rungs.append(Rung(side, level, Decimal(ticks) * tick, qty))
        if spec.qty_scale != ONE:
            qty = qty * spec.qty_scale
    return Ladder(side, tuple(rungs))


def scale_ladder(ladder: Ladder, factor: Decimal) -> Ladder:
    """Every rung quantity multiplied by ``factor`` (>= 0); factor 0 empties the ladder."""
    if factor == ONE:
        return ladder
    if factor <= 0:
        return Ladder(ladder.side)
    return Ladder(
        ladder.side, tuple(Rung(r.side, r.level, r.price, r.qty * factor) for r in ladder.rungs)
    )


def finalize_ladder(ladder: Ladder, rules: InstrumentRules) -> Ladder:
    """Rungs clamped to the instrument (price to tick, qty to step and max qty); untradable
    rungs (under min qty or min notional) dropped. Returns ``ladder`` itself if unchanged."""
    out: list[Rung] = []
    qty_memo: dict[Decimal, Decimal] = {}
    changed = False
    tick = rules.tick
    for r in ladder.rungs:
        price = r.price
        if price % tick:
            price = round_entry_price(price, r.side, tick)
        qty = qty_memo.get(r.qty)
        if qty is None:
            qty = qty_memo[r.qty] = clamp_qty(r.qty, rules)
        if price <= 0 or qty <= 0 or price * qty < rules.min_notional:
            changed = True
            continue
        if price is r.price and qty == r.qty:
            out.append(r)
        else:
            changed = True
            out.append(Rung(r.side, r.level, price, qty))
    if not changed:
        return ladder
    return Ladder(ladder.side, tuple(out))


def cap_inventory(
    ladder: Ladder, position_qty: Decimal, cap: Decimal, rules: InstrumentRules
) -> tuple[Ladder, InventoryCapReached | None]:
    """Cut the ladder (deepest levels first, last kept rung trimmed) to position + sum <= cap."""
    room = cap - position_qty
    kept: list[Rung] = []
    dropped: list[int] = []
    for r in ladder.rungs:
        if r.qty <= room:
            kept.append(r)
            room -= r.qty
            continue
        trimmed = clamp_rung(Rung(r.side, r.level, r.price, room), rules) if room > 0 else None
        if trimmed is not None and trimmed.qty <= room:
            kept.append(trimmed)
            room -= trimmed.qty
        else:
            dropped.append(r.level)
    if not dropped and len(kept) == len(ladder.rungs) and kept == list(ladder.rungs):
        return ladder, None
    notice = InventoryCapReached(ladder.side, position_qty, cap, tuple(dropped))
    return Ladder(ladder.side, tuple(kept)), notice


def keep_passive(ladder: Ladder, mid: Decimal) -> Ladder:
    """Only rungs strictly on the passive side of ``mid`` (LONG below, SHORT above)."""
    rungs = ladder.rungs
    if ladder.side is Side.LONG:
        kept = tuple(r for r in rungs if r.price < mid)
    else:
        kept = tuple(r for r in rungs if r.price > mid)
    if len(kept) == len(rungs):
        return ladder
    return Ladder(ladder.side, kept)


def recenter_needed(center: Decimal | None, mid: Decimal, recenter_bps: Decimal) -> bool:
    """True when there is no valid center or mid drifted more than ``recenter_bps`` from it."""
    if center is None or center <= 0:
        return True
    return abs(mid - center) * BPS > recenter_bps * center


@dataclass(frozen=True, slots=True)
class ExitPrices:
    """Take-profit limit price and stop-loss trigger price for one side."""

    tp: Decimal
    sl: Decimal


def exit_prices(side: Side, avg_price: Decimal, spec: ExitSpec, tick: Decimal) -> ExitPrices:
    """TP/SL from the average entry price, on tick, never nearer than configured, bounded.

    LONG: TP above (rounded up), SL below (rounded down). SHORT: TP below (rounded down),
    SL above (rounded up). Every price lies in [tick, 2 * avg_price + tick]: no negative
    or zero price for the LONG SL / SHORT TP, no unbounded SHORT SL.
    """
    if avg_price <= 0:
        raise DomainError(f"{side} average price must be > 0 to price exits, got {avg_price}")
    tp_off = avg_price * spec.tp_bps / BPS
    sl_off = avg_price * spec.sl_bps / BPS
    ceiling = round_price_up(avg_price * 2, tick)
    if side is Side.LONG:
        tp = round_price_up(avg_price + tp_off, tick)
        sl = round_price_down(avg_price - sl_off, tick)
    else:
        tp = round_price_down(avg_price - tp_off, tick)
        sl = round_price_up(avg_price + sl_off, tick)
    return ExitPrices(tp=min(max(tp, tick), ceiling), sl=min(max(sl, tick), ceiling))


__all__ = [
    "ExitPrices",
    "InventoryCapReached",
    "build_raw_ladder",
    "cap_inventory",
    "exit_prices",
    "finalize_ladder",
    "keep_passive",
    "recenter_needed",
    "scale_ladder",
]
