"""Types and precision of the pure core."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hedgegridd.core import InstrumentRules, Position, Rung, Side
from hedgegridd.core.precision import (
    clamp_qty,
    clamp_rung,
    floor_qty,
    is_on_tick,
    round_entry_price,
)
from hedgegridd.errors import DomainError

D = Decimal
BTC = InstrumentRules(
    tick=D("0.10"), step=D("0.001"), min_qty=D("0.001"), max_qty=D("1000"), min_notional=D("100")
)

prices = st.decimals(min_value=D("0.01"), max_value=D("500000"), places=6, allow_nan=False)
qtys = st.decimals(min_value=D("0"), max_value=D("5000"), places=6, allow_nan=False)
ticks = st.sampled_from([D("0.1"), D("0.01"), D("0.5"), D("0.00001"), D("1"), D("0.25")])
steps = st.sampled_from([D("0.001"), D("0.1"), D("1"), D("0.005"), D("0.00001")])


def test_side_order_sides_and_keys() -> None:
    """LONG entries buy and exit by selling; SHORT the reverse; rung keys are (side, level)."""
    assert Side.LONG.entry_order_side == "BUY"
    assert Side.LONG.exit_order_side == "SELL"
    assert Side.SHORT.entry_order_side == "SELL"
    assert Side.SHORT.exit_order_side == "BUY"
    assert Side.LONG.opposite is Side.SHORT
    assert Rung(Side.LONG, 3, D("1"), D("1")).key == ("LONG", 3)


def test_instrument_rules_reject_non_positive_tick() -> None:
    """A zero tick (division by zero) or a float tick (binary rounding) is refused."""
    with pytest.raises(DomainError, match="tick"):
        InstrumentRules(D("0"), D("0.001"), D("0.001"), D("1"), D("5"))
    with pytest.raises(DomainError, match="step"):
        InstrumentRules(D("0.1"), D("-1"), D("0.001"), D("1"), D("5"))
    with pytest.raises(DomainError, match="tick"):
        InstrumentRules(0.1, D("0.001"), D("0.001"), D("1"), D("5"))  # type: ignore[arg-type]


def test_position_requires_avg_price_when_open() -> None:
    """An open position without an average price is a domain error, not a later crash."""
    with pytest.raises(DomainError):
        Position(Side.LONG, D("0.01"), None)
    with pytest.raises(DomainError):
        Position(Side.SHORT, D("-1"), D("100"))


def test_entry_price_rounding_never_crosses() -> None:
    """Buys round down and sells round up to the tick (never more aggressive than asked)."""
    assert round_entry_price(D("100.07"), Side.LONG, D("0.1")) == D("100.0")
    assert round_entry_price(D("100.01"), Side.SHORT, D("0.1")) == D("100.1")
    assert round_entry_price(D("100.1"), Side.SHORT, D("0.1")) == D("100.1")


def test_clamp_rung_drops_under_min_notional_and_min_qty() -> None:
    """Rungs under min notional or min qty are dropped; max qty caps the size."""
    assert clamp_rung(Rung(Side.LONG, 1, D("50000"), D("0.0019")), BTC) is None  # 95 USDT
    assert clamp_rung(Rung(Side.LONG, 1, D("50000"), D("0.0005")), BTC) is None
    big = clamp_rung(Rung(Side.SHORT, 1, D("50000.01"), D("5000")), BTC)
    assert big is not None
    assert big.qty == D("1000")
    assert big.price == D("50000.1")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(prices, ticks, st.sampled_from([Side.LONG, Side.SHORT]))
def test_rounded_price_on_tick_directional_idempotent(
    p: Decimal, tick: Decimal, side: Side
) -> None:
    """Every rounded price is a tick multiple, on the safe side of the input, and idempotent."""
    r = round_entry_price(p, side, tick)
    assert is_on_tick(r, tick)
    assert (r <= p) if side is Side.LONG else (r >= p)
    assert abs(r - p) < tick
    assert round_entry_price(r, side, tick) == r


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(qtys, steps)
def test_floored_qty_on_step_and_idempotent(q: Decimal, step: Decimal) -> None:
    """Every floored quantity is a step multiple, never above the input, and idempotent."""
    f = floor_qty(q, step)
    assert f % step == 0
    assert D(0) <= f <= q
    assert q - f < step
    assert floor_qty(f, step) == f


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(prices, qtys, ticks, steps, st.sampled_from([Side.LONG, Side.SHORT]))
def test_clamp_rung_idempotent_and_valid(
    p: Decimal, q: Decimal, tick: Decimal, step: Decimal, side: Side
) -> None:
    """clamp_rung output obeys every rule and clamping it again changes nothing."""
    rules = InstrumentRules(tick, step, step, D("1000"), D("5"))
    r = clamp_rung(Rung(side, 1, p, q), rules)
    if r is None:
        return
    assert is_on_tick(r.price, tick)
    assert r.qty % step == 0
    assert rules.min_qty <= r.qty <= rules.max_qty
    assert r.price * r.qty >= rules.min_notional
    assert clamp_rung(r, rules) == r
    assert clamp_qty(r.qty, rules) == r.qty
