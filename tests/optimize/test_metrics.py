"""Round trips from fills, annualized metrics and constraints."""

from __future__ import annotations

from decimal import Decimal

import pytest

from hedgegridd.backtest.results import FillRecord
from hedgegridd.errors import BacktestError
from hedgegridd.optimize.config import ConstraintsSection
from hedgegridd.optimize.metrics import (
    PROFIT_FACTOR_CAP,
    BacktestOutcome,
    check_exits_within_position,
    compute_metrics,
    constraint_values,
    violations,
)

D = Decimal
DAY_NS = 86_400 * 1_000_000_000


def f(ts: int, oid: str, side: str, oside: str, qty: str, px: str, fee: str = "0") -> FillRecord:
    return FillRecord(ts, oid, f"T{ts}", side, oside, D(px), D(qty), D(fee), True, "")


def _flat_equity(fills: tuple[FillRecord, ...]) -> BacktestOutcome:
    return BacktestOutcome(0, DAY_NS, D(1000), fills, (1, 2), (1000.0, 1000.0))


def test_hedge_round_trips_counted_from_fills_not_positions() -> None:
    """Three closing fills on two hedge sides are three round trips (positions would say 2)."""
    fills = (
        f(1, "E1", "LONG", "BUY", "0.002", "100"),
        f(2, "E2", "SHORT", "SELL", "0.002", "110"),
        f(3, "T1", "LONG", "SELL", "0.002", "105"),
        f(4, "E3", "LONG", "BUY", "0.002", "100"),
        f(5, "T2", "SHORT", "BUY", "0.002", "101"),
        f(6, "T3", "LONG", "SELL", "0.002", "99"),
    )
    m = compute_metrics(_flat_equity(fills))
    assert m.fills == 6
    assert m.round_trips == 3
    assert m.win_rate == pytest.approx(2 / 3)
    assert m.profit_factor == pytest.approx((0.010 + 0.018) / 0.002)
    assert m.open_qty == 0


def test_exit_beyond_position_is_a_bug_not_a_trade() -> None:
    """An exit that would flip a side raises instead of inventing a round trip."""
    fills = (f(1, "E1", "SHORT", "SELL", "0.001", "100"), f(2, "X", "SHORT", "BUY", "0.002", "99"))
    with pytest.raises(BacktestError, match="opened or flipped"):
        compute_metrics(_flat_equity(fills))
    partial = (f(1, "E1", "LONG", "BUY", "0.003", "100"), f(2, "X", "LONG", "SELL", "0.001", "99"))
    assert check_exits_within_position(partial) == D("0.002")


def _outcome(days: float, final: float) -> BacktestOutcome:
    n = 48
    span = int(days * DAY_NS)
    ts = tuple(i * span // n for i in range(1, n + 1))
    eq = tuple(1000.0 + (final - 1000.0) * i / n + (1.0 if i % 2 else 0.0) for i in range(1, n + 1))
    fills = (f(1, "E", "LONG", "BUY", "1", "10"), f(2, "X", "LONG", "SELL", "1", "11"))
    return BacktestOutcome(0, span, D(1000), fills, ts, eq, orders=2)


def test_returns_annualized_from_the_actual_span() -> None:
    """The same +1 % is a far higher annual return over 1 day than over 30 days."""
    one_day = compute_metrics(_outcome(1, 1010.0))
    month = compute_metrics(_outcome(30, 1010.0))
    assert one_day.round_trips == 1
    assert one_day.total_return_pct == pytest.approx(1.0)
    assert month.total_return_pct == pytest.approx(1.0)
    assert one_day.annualized_return_pct == pytest.approx((1.01**365 - 1) * 100, rel=1e-6)
    assert month.annualized_return_pct == pytest.approx((1.01 ** (365 / 30) - 1) * 100, rel=1e-6)
    assert one_day.span_days == pytest.approx(1.0)
    assert one_day.sharpe > month.sharpe > 0


def test_drawdown_and_degenerate_ratios_stay_finite() -> None:
    """Max drawdown from the equity peak; profit factor without losses is capped, not inf."""
    ts = (1, 2, 3, 4)
    eq = (1100.0, 990.0, 1050.0, 1000.0)
    fills = (f(1, "E", "LONG", "BUY", "1", "10"), f(2, "X", "LONG", "SELL", "1", "11"))
    m = compute_metrics(BacktestOutcome(0, DAY_NS, D(1000), fills, ts, eq))
    assert m.max_drawdown_pct == pytest.approx(10.0)
    assert m.profit_factor == PROFIT_FACTOR_CAP
    flat = compute_metrics(_flat_equity(()))
    assert flat.sharpe == 0.0
    assert flat.round_trips == 0
    assert flat.profit_factor == 0.0


def test_constraints_report_violations_by_name() -> None:
    """Too few round trips and too deep a drawdown both show up as violations (> 0)."""
    ts = (1, 2)
    m = compute_metrics(BacktestOutcome(0, DAY_NS, D(1000), (), ts, (1000.0, 500.0)))
    c = ConstraintsSection(min_round_trips=5, max_drawdown_pct=20, min_sharpe=0.5)
    values = constraint_values(m, c)
    assert values["min_round_trips"] == 5
    assert values["max_drawdown_pct"] == pytest.approx(30.0)
    assert values["min_sharpe"] > 0
    reasons = violations(m, c)
    assert any(r.startswith("min_round_trips") for r in reasons)
    assert any(r.startswith("max_drawdown_pct") for r in reasons)
