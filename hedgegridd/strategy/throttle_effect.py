"""What a throttle leaves of the entry ladders: rungs per side, and the smallest throttle
that keeps a side trading when its scaled rungs all fall under the venue's minimums.

Plain core values in, plain values out (no Nautilus): the strategy passes its engine,
last decision and positions. A throwaway uncached ``GridEngine`` is used so the live
engine's caches are never touched.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal

from hedgegridd.core.engine import Decision, GridEngine
from hedgegridd.core.ladder import keep_passive
from hedgegridd.core.types import Position, Regime, Side

ONE = Decimal(1)
STEP = Decimal("0.01")  # the smallest throttle is reported on a 0.01 grid


@dataclass(frozen=True, slots=True)
class SideEffect:
    """One side under the current throttle: rungs kept, and what keeps one (if any)."""

    rungs: int
    rungs_at_full: int  # rungs at throttle 1 (the policy or inventory cap may also thin)
    min_throttle: Decimal | None  # smallest throttle with >= 1 rung; None: not throttle's doing


def _rungs(
    engine: GridEngine,
    decision: Decision,
    regime: Regime,
    mid: Decimal,
    positions: tuple[Position, Position],
    throttle: Decimal,
) -> tuple[int, int]:
    long, short, _ = engine.ladders_for(
        decision.center, regime, decision.funding, throttle, positions[0], positions[1]
    )
    return len(keep_passive(long, mid).rungs), len(keep_passive(short, mid).rungs)


def throttle_effect(
    grid: GridEngine,
    decision: Decision,
    *,
    regime: Regime,
    mid: Decimal,
    positions: tuple[Position, Position],
    throttle: Decimal,
) -> dict[Side, SideEffect]:
    """Rungs per side at ``throttle`` and at 1 (the last decision's center and funding);
    for a side the throttle empties, the smallest throttle (0.01 grid) keeping a rung."""
    engine = GridEngine(grid.params, grid.rules, cache=False)
    now = _rungs(engine, decision, regime, mid, positions, throttle)
    full = _rungs(engine, decision, regime, mid, positions, ONE) if throttle < ONE else now
    out: dict[Side, SideEffect] = {}
    for index, side in enumerate((Side.LONG, Side.SHORT)):
        need: Decimal | None = None
        if now[index] == 0 and full[index] > 0:
            # Smallest k/100 with a rung: none at ``throttle``, one at 1 (monotone in k).
            lo, hi = int((throttle / STEP).to_integral_value(rounding=ROUND_DOWN)), 100
            while hi - lo > 1:
                k = (lo + hi) // 2
                if _rungs(engine, decision, regime, mid, positions, k * STEP)[index] > 0:
                    hi = k
                else:
                    lo = k
            need = hi * STEP
        out[side] = SideEffect(rungs=now[index], rungs_at_full=full[index], min_throttle=need)
    return out
