"""Placement policy: thin the counter-trend side in a trending regime; operator throttle."""

from __future__ import annotations

from decimal import Decimal

from hedgegridd.core.ladder import scale_ladder
from hedgegridd.core.specs import PolicyKind, PolicySpec
from hedgegridd.core.types import ONE, ZERO, Ladder, Regime, Side
from hedgegridd.errors import DomainError


def counter_side(regime: Regime) -> Side | None:
    """The side that trades against the trend (SHORT in UP, LONG in DOWN), else None."""
    if regime is Regime.UP:
        return Side.SHORT
    if regime is Regime.DOWN:
        return Side.LONG
    return None


def apply_policy(ladder: Ladder, regime: Regime, spec: PolicySpec) -> Ladder:
    """The ladder after the policy; unchanged unless it is the counter-trend side.

    THROTTLED_COUNTER keeps every counter level with quantity * counter_qty_scale.
    CORE_AND_SCALP keeps only the ``counter_levels`` levels nearest the center (scalps)
    at full quantity; the trend side (the core) is untouched in both.
    SIDEWAYS and WARMUP leave both sides whole.
    """
    if counter_side(regime) is not ladder.side:
        return ladder
    if spec.kind is PolicyKind.THROTTLED_COUNTER:
        return scale_ladder(ladder, spec.counter_qty_scale)
    return Ladder(ladder.side, ladder.rungs[: spec.counter_levels])


def validate_throttle(value: Decimal) -> Decimal:
    """The operator throttle if it is a finite Decimal in [0, 1]; DomainError otherwise."""
    if not isinstance(value, Decimal) or not value.is_finite() or not ZERO <= value <= ONE:
        raise DomainError(f"throttle must be a number within [0, 1], got {value}")
    return value
