"""Ladder geometry, inventory cap, passive filter, recenter and TP/SL prices."""

from __future__ import annotations

import math
from decimal import Decimal
from fractions import Fraction

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hedgegridd.core import ExitSpec, InstrumentRules, LadderSpec, Side, Spacing
from hedgegridd.core.ladder import (
    build_raw_ladder,
    cap_inventory,
    exit_prices,
    finalize_ladder,
    keep_passive,
    recenter_needed,
)
from hedgegridd.core.precision import is_on_tick

from .conftest import BTC_RULES

D = Decimal


def _spec(**kw: object) -> LadderSpec:
    base: dict[str, object] = {"step_bps": D(10), "levels_per_side": 5, "base_qty": D("0.01")}
    base.update(kw)
    return LadderSpec(**base)  # type: ignore[arg-type]


def test_arithmetic_ladder_levels_and_prices() -> None:
    """Arithmetic spacing: LONG rung i at center*(1 - i*step), rounded down to tick."""
    ladder = build_raw_ladder(Side.LONG, D("50000"), _spec(), D("0.1"))
    assert [r.level for r in ladder.rungs] == [1, 2, 3, 4, 5]
    assert [r.price for r in ladder.rungs][:2] == [D("49950.0"), D("49900.0")]
    short = build_raw_ladder(Side.SHORT, D("50000.05"), _spec(), D("0.1"))
    assert short.rungs[0].price == D("50050.1")  # 50050.10005 rounded up


def test_geometric_ladder_and_qty_scale() -> None:
    """Geometric spacing compounds the step; qty scales by qty_scale per level."""
    spec = _spec(spacing=Spacing.GEOMETRIC, step_bps=D(100), qty_scale=D(2))
    ladder = build_raw_ladder(Side.SHORT, D("100"), spec, D("0.0001"))
    assert ladder.rungs[1].price == D("102.0100")
    assert [r.qty for r in ladder.rungs][:3] == [D("0.01"), D("0.02"), D("0.04")]


def test_zero_center_and_zero_levels_give_empty_ladders() -> None:
    """A zero/negative center or zero levels yields an empty ladder, never a crash."""
    assert len(build_raw_ladder(Side.LONG, D(0), _spec(), D("0.1"))) == 0
    assert len(build_raw_ladder(Side.SHORT, D(-5), _spec(), D("0.1"))) == 0
    assert len(build_raw_ladder(Side.LONG, D(100), _spec(levels_per_side=0), D("0.1"))) == 0


def test_deep_long_rungs_never_at_or_below_zero() -> None:
    """LONG rungs whose price would be <= 0 are omitted."""
    ladder = build_raw_ladder(
        Side.LONG, D(1), _spec(step_bps=D(3000), levels_per_side=6), D("0.01")
    )
    assert [r.level for r in ladder.rungs] == [1, 2, 3]
    assert all(r.price > 0 for r in ladder.rungs)


def test_inventory_cap_cuts_ladder_and_reports_value() -> None:
    """The cap trims the ladder to position + rungs <= cap and reports a notice (no raise)."""
    ladder = finalize_ladder(build_raw_ladder(Side.LONG, D("50000"), _spec(), D("0.1")), BTC_RULES)
    capped, notice = cap_inventory(ladder, D("0.015"), D("0.04"), BTC_RULES)
    assert D("0.015") + capped.total_qty <= D("0.04")
    assert [r.qty for r in capped.rungs] == [D("0.01"), D("0.01"), D("0.005")]
    assert notice is not None
    assert notice.dropped_levels == (4, 5)
    assert "inventory cap" in notice.message
    assert "inventory cap" in str(notice.as_error())
    full, none = cap_inventory(ladder, D(0), D(1), BTC_RULES)
    assert full is ladder
    assert none is None


def test_inventory_cap_with_position_over_cap_empties_ladder() -> None:
    """A position already above the cap leaves no entry rung on that side."""
    ladder = finalize_ladder(build_raw_ladder(Side.SHORT, D("50000"), _spec(), D("0.1")), BTC_RULES)
    capped, notice = cap_inventory(ladder, D("0.5"), D("0.04"), BTC_RULES)
    assert len(capped) == 0
    assert notice is not None


def test_keep_passive_drops_rungs_on_wrong_side_of_mid() -> None:
    """LONG rungs at/above mid and SHORT rungs at/below mid are removed."""
    long = build_raw_ladder(Side.LONG, D("50000"), _spec(), D("0.1"))
    kept = keep_passive(long, D("49900.0"))
    assert all(r.price < D("49900.0") for r in kept.rungs)
    assert len(kept) == 3
    short = build_raw_ladder(Side.SHORT, D("50000"), _spec(), D("0.1"))
    assert keep_passive(short, D("40000")) is short


def test_recenter_rule() -> None:
    """Recenter when there is no center, a zero center, or mid drifted beyond the threshold."""
    assert recenter_needed(None, D(100), D(50))
    assert recenter_needed(D(0), D(100), D(50))
    assert not recenter_needed(D(100), D("100.5"), D(50))
    assert recenter_needed(D(100), D("100.51"), D(50))
    assert recenter_needed(D(100), D("99.49"), D(50))


def test_exit_prices_both_sides_bounded() -> None:
    """TP/SL are on tick, on the right side of the average and never <= 0 or absurd."""
    spec = ExitSpec(tp_bps=D(40), sl_bps=D(9999))
    long = exit_prices(Side.LONG, D("50000"), spec, D("0.1"))
    short = exit_prices(Side.SHORT, D("50000"), spec, D("0.1"))
    assert long.tp == D("50200.0")
    assert long.sl == D("5.0")
    assert short.tp == D("49800.0")
    assert short.sl == D("99995.0")


avgs = st.decimals(min_value=D("0.001"), max_value=D("1000000"), places=4)
bps = st.decimals(min_value=D("0.01"), max_value=D("9999.99"), places=2)
ticks = st.sampled_from([D("0.1"), D("0.01"), D("0.0001"), D("0.5"), D("1")])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(avgs, bps, bps, ticks, st.sampled_from([Side.LONG, Side.SHORT]))
def test_exit_prices_property(
    avg: Decimal, tp: Decimal, sl: Decimal, tick: Decimal, side: Side
) -> None:
    """For any average and distances, TP/SL are tick multiples within [tick, 2*avg + tick]."""
    p = exit_prices(side, avg, ExitSpec(tp_bps=tp, sl_bps=sl), tick)
    for price in (p.tp, p.sl):
        assert is_on_tick(price, tick)
        assert tick <= price <= avg * 2 + tick
    if avg >= tick * 100:
        assert (p.tp > avg) if side is Side.LONG else (p.tp < avg)
        assert (p.sl < avg) if side is Side.LONG else (p.sl > avg)


centers = st.decimals(min_value=D("0.5"), max_value=D("200000"), places=3)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    centers,
    st.decimals(min_value=D("0.1"), max_value=D("500"), places=1),
    st.integers(min_value=0, max_value=60),
    st.sampled_from(list(Spacing)),
    st.sampled_from([Side.LONG, Side.SHORT]),
    st.decimals(min_value=D("0.5"), max_value=D("1.5"), places=2),
)
def test_finalized_ladder_obeys_rules(
    center: Decimal, step: Decimal, levels: int, spacing: Spacing, side: Side, scale: Decimal
) -> None:
    """Every final rung is on tick/step, tradable, on its side of center, levels increasing."""
    rules = InstrumentRules(D("0.01"), D("0.001"), D("0.001"), D("100"), D("5"))
    spec = LadderSpec(
        step_bps=step, levels_per_side=levels, base_qty=D("0.5"), qty_scale=scale, spacing=spacing
    )
    ladder = finalize_ladder(build_raw_ladder(side, center, spec, rules.tick), rules)
    levels_seen = [r.level for r in ladder.rungs]
    assert levels_seen == sorted(set(levels_seen))
    for r in ladder.rungs:
        assert is_on_tick(r.price, rules.tick)
        assert r.qty % rules.step == 0
        assert rules.min_qty <= r.qty <= rules.max_qty
        assert r.price * r.qty >= rules.min_notional
        assert (r.price < center) if side is Side.LONG else (r.price > center)
        assert r.price > 0


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    centers,
    st.decimals(min_value=D("0.1"), max_value=D("300"), places=2),
    st.integers(min_value=1, max_value=30),
    st.sampled_from(list(Spacing)),
    st.sampled_from([Side.LONG, Side.SHORT]),
    ticks,
)
def test_rung_prices_are_exact(
    center: Decimal, step: Decimal, levels: int, spacing: Spacing, side: Side, tick: Decimal
) -> None:
    """Rung prices equal the exact rational price rounded once (buy floor, sell ceiling)."""
    spec = LadderSpec(step_bps=step, levels_per_side=levels, base_qty=D(1), spacing=spacing)
    ladder = build_raw_ladder(side, center, spec, tick)
    s = Fraction(step) / 10_000
    sign = -1 if side is Side.LONG else 1
    for r in ladder.rungs:
        if spacing is Spacing.GEOMETRIC:
            exact = Fraction(center) * (1 + sign * s) ** r.level
        else:
            exact = Fraction(center) * (1 + sign * s * r.level)
        units = exact / Fraction(tick)
        n = math.floor(units) if side is Side.LONG else math.ceil(units)
        assert Fraction(r.price) == n * Fraction(tick)
        assert r.price.as_tuple().exponent == tick.as_tuple().exponent
