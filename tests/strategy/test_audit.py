"""Regression guards for defects the audit found in the earlier system (strategy side)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from hedgegridd.backtest.report import compute_metrics
from hedgegridd.backtest.results import BacktestResults
from hedgegridd.strategy.book import BoundedSeen
from hedgegridd.strategy.handle import TradingState
from tests.strategy.harness import Harness, at, build


def test_fill_handler_exception_is_contained(disposer: list[Harness]) -> None:
    """An exception while booking a fill degrades the strategy; nothing propagates to the node."""
    h = build(minutes=300)
    disposer.append(h)
    h.session.advance(at(h, 250))
    fills = h.fills()
    assert len(fills) > 0
    st = h.strategy

    def boom(*args: Any, **kwargs: Any) -> None:
        raise ValueError("bookkeeping exploded")

    st.book.apply_fill = boom  # type: ignore[method-assign]
    st.on_order_filled(fills[0])  # must not raise
    assert st.snapshot().state is TradingState.DEGRADED
    assert st.degraded_reason is not None
    assert "bookkeeping exploded" in st.degraded_reason


def test_tick_and_step_come_from_the_instrument(disposer: list[Harness]) -> None:
    """Rounding rules are the instrument's (BTCUSDT: tick 0.1, step 0.001, min notional 100)."""
    h = build(minutes=30)
    disposer.append(h)
    h.session.advance(at(h, 20))
    rules = h.strategy.rules
    assert rules is not None
    assert (rules.tick, rules.step, rules.min_notional) == (
        Decimal("0.1"),
        Decimal("0.001"),
        Decimal("100"),
    )
    for order in h.orders():
        price = order.price.as_decimal() if order.has_price else order.trigger_price.as_decimal()
        assert price % rules.tick == 0
        assert order.quantity.as_decimal() % rules.step == 0


def test_node_degrade_pauses_entries(disposer: list[Harness]) -> None:
    """on_degrade (the node degrading the component) pauses entries; resume brings it back."""
    h = build(minutes=30)
    disposer.append(h)
    h.session.advance(at(h, 10))
    h.strategy.degrade()
    assert h.strategy.degraded_reason is not None
    assert h.strategy.snapshot().state is TradingState.DEGRADED
    h.strategy.resume("degraded")  # clears our pause and resumes the Nautilus component
    assert h.strategy.is_running
    assert h.strategy.snapshot().state is TradingState.RUNNING
    h.session.advance(at(h, 25))
    assert h.strategy.last_bar_ns == at(h, 25)  # events flow again


def test_metrics_without_trades_have_no_division_by_zero() -> None:
    """A run with no fills and a flat equity curve reports None ratios instead of crashing."""
    res = BacktestResults(
        instrument_id="BTCUSDT-PERP.BINANCE",
        starting_balance=Decimal(1000),
        final_balance=Decimal(1000),
        final_equity=Decimal(1000),
        fills=(),
        orders=0,
        cancels=0,
        rejects=0,
        denied=0,
        funding=(),
        ts=(60_000_000_000, 120_000_000_000),
        close=(100.0, 100.0),
        equity=(1000.0, 1000.0),
        long_qty=(0.0, 0.0),
        short_qty=(0.0, 0.0),
        final_long_qty=Decimal(0),
        final_short_qty=Decimal(0),
        account_realized_pnl=Decimal(0),
    )
    m = compute_metrics(res)
    assert m["fills"] == 0
    assert (m["win_rate"], m["profit_factor"], m["maker_ratio"], m["sharpe"]) == (
        None,
        None,
        None,
        None,
    )
    assert m["max_drawdown"] == 0.0


def test_seen_sets_are_bounded() -> None:
    """Idempotency memory is bounded: old keys are forgotten past the limit."""
    seen = BoundedSeen(limit=3)
    assert all(seen.add(k) for k in "abcd")
    assert seen.add("a")  # forgotten (oldest), accepted again
    assert not seen.add("d")
