"""Kill switch decision rules: K-of-N hysteresis, unknown readings, drawdown basis, funding."""

from __future__ import annotations

import dataclasses
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from hedgegridd.ops.config import KillSwitchConfig
from hedgegridd.ops.killswitch_rules import (
    BreachTracker,
    Limit,
    Readings,
    ReadingStatus,
    drawdown_pct,
    projected_funding_cost,
    readings_from_snapshot,
)
from tests.ops.fake_strategy import FakeBook

D = Decimal


def margin_only(ratio: Decimal | None, age: float | None = 1.0) -> Readings:
    return Readings(
        drawdown_pct=D(0),
        margin_ratio=ratio,
        projected_funding_cost=D(0),
        session_loss=D(0),
        daily_loss=D(0),
        position_notional=D(0),
        data_age_s=age,
    )


def cfg(**kw: object) -> KillSwitchConfig:
    return KillSwitchConfig.model_validate({"max_margin_ratio": "0.8", **kw})


def test_single_transient_breach_does_not_fire() -> None:
    """One anomalous reading among healthy ones never fires (default 2 of 3)."""
    tracker = BreachTracker(cfg())
    results = [tracker.update(margin_only(r)) for r in (D("0.95"), D("0.1"), D("0.1"), D("0.2"))]
    assert results[0].verdicts[1].status is ReadingStatus.BREACH
    assert not any(r.fire for r in results)


def test_two_breaches_within_three_checks_fire() -> None:
    """Breach, ok, breach fires on the third check: 2 of the last 3 breached."""
    tracker = BreachTracker(cfg())
    seq = [tracker.update(margin_only(r)) for r in (D("0.9"), D("0.1"), D("0.9"))]
    assert [r.fire for r in seq] == [False, False, True]
    assert seq[-1].firing == (Limit.MARGIN_RATIO,)


def test_breaches_outside_the_window_do_not_add_up() -> None:
    """Breach, ok, ok, breach: the first breach has left the 3-check window."""
    tracker = BreachTracker(cfg())
    seq = [tracker.update(margin_only(r)) for r in (D("0.9"), D("0.1"), D("0.1"), D("0.9"))]
    assert not any(r.fire for r in seq)


def test_configurable_rule_three_of_three() -> None:
    """With 3 of 3 required, two breaches are not enough."""
    tracker = BreachTracker(cfg(breaches_required=3, breach_window=3))
    seq = [tracker.update(margin_only(D("0.9"))) for _ in range(3)]
    assert [r.fire for r in seq] == [False, False, True]


def test_missing_reading_is_reported_not_zero() -> None:
    """An unknown margin ratio is MISSING: never OK, never a breach, and it leaves a gap."""
    tracker = BreachTracker(cfg())
    first = tracker.update(margin_only(D("0.9")))
    gap = tracker.update(margin_only(None))
    third = tracker.update(margin_only(D("0.9")))
    margin = next(v for v in gap.verdicts if v.limit is Limit.MARGIN_RATIO)
    assert margin.status is ReadingStatus.MISSING
    assert margin.value is None
    assert gap.unknown == (margin,)
    assert not first.fire
    assert third.fire  # the gap did not reset the window as a healthy check would


def test_stale_prices_make_price_readings_stale() -> None:
    """With the last bar older than max_reading_age_s, price-derived readings are STALE."""
    tracker = BreachTracker(cfg(max_reading_age_s=60, max_drawdown_pct="1"))
    readings = Readings(
        drawdown_pct=D(50),
        margin_ratio=D("0.1"),
        projected_funding_cost=D(0),
        session_loss=D(0),
        daily_loss=D(0),
        position_notional=D(0),
        data_age_s=600.0,
    )
    result = tracker.update(readings)
    status = {v.limit: v.status for v in result.verdicts}
    assert status[Limit.DRAWDOWN] is ReadingStatus.STALE
    assert status[Limit.MARGIN_RATIO] is ReadingStatus.OK


def test_drawdown_is_against_account_equity_not_a_pnl_peak() -> None:
    """Equity 10k -> 11k -> 10.94k is a 0.55% drawdown, not 6% of the 1k PnL peak."""
    dd = drawdown_pct(D(10940), D(11000))
    assert dd is not None
    assert dd < D(1)
    tracker = BreachTracker(cfg(max_drawdown_pct="5"))
    book = FakeBook(balance=D(10940), long_qty=D(0), short_qty=D(0))
    for _ in range(3):
        readings = readings_from_snapshot(
            book.snapshot(),
            now_ns=0,
            equity_basis=D(11000),
            session_basis_pnl=None,
            daily_basis_pnl=None,
        )
        assert not tracker.update(readings).fire


def test_drawdown_includes_unrealized_pnl() -> None:
    """An open long losing value raises the drawdown even with no realized loss."""
    book = FakeBook(balance=D(10000), long_qty=D(1), short_qty=D(0))
    book.mark = D(49000)  # long 1 BTC from 50000: -1000 unrealized
    readings = readings_from_snapshot(
        book.snapshot(),
        now_ns=0,
        equity_basis=D(10000),
        session_basis_pnl=D(0),
        daily_basis_pnl=D(0),
    )
    assert readings.drawdown_pct == D(10)
    assert readings.session_loss == D(1000)
    assert readings.position_notional == D(49000)


def test_projected_funding_cost_sign() -> None:
    """Longs pay positive funding, shorts pay negative funding; flat costs nothing."""
    assert projected_funding_cost(D(1000), D(0), D("0.001")) == D(1)
    assert projected_funding_cost(D(1000), D(0), D("-0.001")) == D(0)
    assert projected_funding_cost(D(0), D(2000), D("-0.001")) == D(2)
    assert projected_funding_cost(D(0), D(0), None) == D(0)
    assert projected_funding_cost(D(5), D(0), None) is None


@given(
    seq=st.lists(st.sampled_from(["breach", "ok", "missing"]), min_size=1, max_size=30),
    window=st.integers(min_value=1, max_value=6),
    data=st.data(),
)
def test_fires_exactly_when_k_of_the_last_n_checks_breached(
    seq: list[str], window: int, data: st.DataObject
) -> None:
    """Property: a check fires iff at least K of the last N readings (gaps included) breached."""
    k = data.draw(st.integers(min_value=1, max_value=window))
    tracker = BreachTracker(cfg(breaches_required=k, breach_window=window))
    value = {"breach": D("0.9"), "ok": D("0.1"), "missing": None}
    for i, kind in enumerate(seq):
        fired = tracker.update(margin_only(value[kind])).fire
        recent = seq[max(0, i + 1 - window) : i + 1]
        assert fired == (recent.count("breach") >= k)


def test_data_age_is_measured_from_the_freshest_mark_or_bar() -> None:
    """A mark received after the last bar makes price readings fresh; neither: unknown age."""
    snap = dataclasses.replace(FakeBook().snapshot(), last_bar_ns=0, mark_ns=50_000_000_000)
    kw = {"equity_basis": None, "session_basis_pnl": None, "daily_basis_pnl": None}
    readings = readings_from_snapshot(snap, now_ns=60_000_000_000, **kw)  # type: ignore[arg-type]
    assert readings.data_age_s == 10.0  # the mark, not the minute-old bar
    bar_only = dataclasses.replace(snap, mark_ns=None)
    assert readings_from_snapshot(bar_only, now_ns=60_000_000_000, **kw).data_age_s == 60.0  # type: ignore[arg-type]
    neither = dataclasses.replace(snap, mark_ns=None, last_bar_ns=None)
    assert readings_from_snapshot(neither, now_ns=1, **kw).data_age_s is None  # type: ignore[arg-type]
