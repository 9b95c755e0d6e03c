"""Funding guard: shortly before a funding time, scale down the side that pays.

Driven by the exchange's funding rate and next funding time plus ``now_ns`` passed in
(the engine clock), so a backtest behaves exactly like live. Positive rate: LONG pays
SHORT; negative rate: SHORT pays LONG.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from hedgegridd.core.specs import FundingSpec
from hedgegridd.core.types import ONE, Side


@dataclass(frozen=True, slots=True)
class FundingState:
    """Latest funding data from the venue (rate per interval, next funding time in ns)."""

    rate: Decimal
    next_funding_ns: int


@dataclass(frozen=True, slots=True)
class FundingVerdict:
    """Which side (if any) to scale, and by how much, right now."""

    paying_side: Side | None = None
    factor: Decimal = ONE
    ns_to_funding: int | None = None

    def factor_for(self, side: Side) -> Decimal:
        """Quantity multiplier for ``side``."""
        return self.factor if side is self.paying_side else ONE


NO_ADJUSTMENT = FundingVerdict()


def paying_side(rate: Decimal) -> Side | None:
    """LONG pays when the rate is positive, SHORT when negative, nobody at zero."""
    if rate > 0:
        return Side.LONG
    if rate < 0:
        return Side.SHORT
    return None


def funding_verdict(state: FundingState | None, now_ns: int, spec: FundingSpec) -> FundingVerdict:
    """Scale the paying side when now is within ``window_ns`` before funding and the
    absolute rate is at or above the threshold; otherwise no adjustment."""
    if not spec.enabled or state is None:
        return NO_ADJUSTMENT
    remaining = state.next_funding_ns - now_ns
    if remaining <= 0 or remaining > spec.window_ns:
        return NO_ADJUSTMENT
    side = paying_side(state.rate)
    if side is None or abs(state.rate) < spec.rate_threshold:
        return NO_ADJUSTMENT
    return FundingVerdict(side, spec.paying_side_scale, remaining)


def verdict_key(verdict: FundingVerdict) -> tuple[Side | None, Decimal]:
    """The part of a verdict the ladders depend on (for caching)."""
    return (verdict.paying_side, verdict.factor)
