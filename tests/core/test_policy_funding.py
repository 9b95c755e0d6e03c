"""Placement policies, operator throttle and the funding guard."""

from __future__ import annotations

from decimal import Decimal

import pytest

from hedgegridd.core import (
    FundingSpec,
    FundingState,
    LadderSpec,
    PolicyKind,
    PolicySpec,
    Regime,
    Side,
    apply_policy,
    build_raw_ladder,
    funding_verdict,
    paying_side,
    validate_throttle,
)
from hedgegridd.errors import DomainError

D = Decimal
MIN = 60_000_000_000
LADDER = LadderSpec(step_bps=D(10), levels_per_side=6, base_qty=D("0.01"))


def _ladder(side: Side):  # type: ignore[no-untyped-def]
    return build_raw_ladder(side, D(50000), LADDER, D("0.1"))


def test_throttled_counter_scales_counter_side_only() -> None:
    """In UP the SHORT side keeps every level at counter_qty_scale; LONG is untouched."""
    spec = PolicySpec(PolicyKind.THROTTLED_COUNTER, counter_levels=2, counter_qty_scale=D("0.5"))
    short = apply_policy(_ladder(Side.SHORT), Regime.UP, spec)
    assert len(short) == 6
    assert {r.qty for r in short.rungs} == {D("0.005")}
    long = _ladder(Side.LONG)
    assert apply_policy(long, Regime.UP, spec) is long


def test_core_and_scalp_keeps_nearest_counter_levels() -> None:
    """In DOWN the LONG side keeps only counter_levels nearest rungs at full size."""
    spec = PolicySpec(PolicyKind.CORE_AND_SCALP, counter_levels=2, counter_qty_scale=D("0.5"))
    long = apply_policy(_ladder(Side.LONG), Regime.DOWN, spec)
    assert [r.level for r in long.rungs] == [1, 2]
    assert {r.qty for r in long.rungs} == {D("0.01")}


@pytest.mark.parametrize("regime", [Regime.SIDEWAYS, Regime.WARMUP])
def test_sideways_and_warmup_keep_both_sides(regime: Regime) -> None:
    """Without a trend neither side is thinned."""
    for side in Side:
        ladder = _ladder(side)
        assert apply_policy(ladder, regime, PolicySpec()) is ladder


def test_throttle_range() -> None:
    """Throttle accepts [0, 1] and rejects anything else with a DomainError."""
    assert validate_throttle(D("0.25")) == D("0.25")
    for bad in (D("-0.1"), D("1.01"), D("NaN")):
        with pytest.raises(DomainError, match=r"within \[0, 1\]"):
            validate_throttle(bad)


def test_paying_side_follows_rate_sign() -> None:
    """Positive funding: LONG pays; negative: SHORT pays; zero: nobody."""
    assert paying_side(D("0.0001")) is Side.LONG
    assert paying_side(D("-0.0001")) is Side.SHORT
    assert paying_side(D(0)) is None


def test_funding_guard_scales_paying_side_inside_window() -> None:
    """Inside the window before funding with |rate| >= threshold the payer is scaled."""
    spec = FundingSpec(window_ns=30 * MIN, rate_threshold=D("0.0003"), paying_side_scale=D("0.2"))
    state = FundingState(rate=D("-0.0005"), next_funding_ns=480 * MIN)
    inside = funding_verdict(state, 460 * MIN, spec)
    assert inside.paying_side is Side.SHORT
    assert inside.factor_for(Side.SHORT) == D("0.2")
    assert inside.factor_for(Side.LONG) == 1
    assert inside.ns_to_funding == 20 * MIN
    assert funding_verdict(state, 440 * MIN, spec).paying_side is None  # before window
    assert funding_verdict(state, 480 * MIN, spec).paying_side is None  # funding passed
    small = FundingState(rate=D("0.0001"), next_funding_ns=480 * MIN)
    assert funding_verdict(small, 470 * MIN, spec).paying_side is None  # below threshold
    off = FundingSpec(enabled=False)
    assert funding_verdict(state, 470 * MIN, off).paying_side is None
    assert funding_verdict(None, 470 * MIN, spec).paying_side is None
