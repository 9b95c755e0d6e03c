"""The StrategyHandle operations on a running strategy: views, throttle, flatten, halt."""

from __future__ import annotations

from decimal import Decimal

import pytest

from hedgegridd.errors import ConfigError
from hedgegridd.strategy.handle import FlattenSide, StrategyHandle, TradingState
from tests.strategy.harness import Harness, at, build, entry_orders


def test_views_match_the_engine_and_flatten_closes_both_sides(disposer: list[Harness]) -> None:
    """snapshot/open_orders/ladders reflect the engine; flatten pauses, closes and stays flat."""
    h = build(minutes=900, seed=3)
    disposer.append(h)
    st = h.strategy
    assert isinstance(st, StrategyHandle)
    h.session.advance(at(h, 700))
    assert len(h.orders()) > 0
    assert len(h.fills()) > 0
    snap = st.snapshot()
    assert snap.state is TradingState.RUNNING
    assert snap.fills == st.book.fills > 0
    held = {"LONG": snap.long.quantity, "SHORT": snap.short.quantity}
    assert any(q > 0 for q in held.values())
    for side_snap in (snap.long, snap.short):
        assert side_snap.tp_quantity == side_snap.quantity
        assert side_snap.sl_quantity == side_snap.quantity
    views = st.open_orders()
    cache = h.session.engine.cache
    assert {v.client_order_id for v in views} == {
        o.client_order_id.value for o in cache.orders_open() if o.tags
    }
    assert {v.kind for v in views} >= {"entry", "tp", "sl"}
    rungs = st.ladders()
    assert rungs
    assert all(r.quantity > 0 for r in rungs)

    ticket = st.flatten(FlattenSide.BOTH)
    assert ticket.sides == ("LONG", "SHORT")
    assert {k: v for k, v in ticket.closing_orders.items()} == {
        k: v for k, v in held.items() if v > 0
    }
    assert st.snapshot().state is TradingState.PAUSED
    flattened_at = st.clock.timestamp_ns()
    h.session.advance(at(h, 760))
    assert st.is_flat(FlattenSide.BOTH)
    assert entry_orders(h, after_ns=flattened_at) == []
    assert all(o.is_closed for o in cache.orders() if o.tags and o.tags[0] in ("tp", "sl"))


def test_throttle_outside_zero_one_is_a_config_error(disposer: list[Harness]) -> None:
    """set_throttle validates its range and leaves the throttle unchanged on error."""
    h = build(minutes=120)
    disposer.append(h)
    h.session.advance(at(h, 60))
    st = h.strategy
    with pytest.raises(ConfigError, match="throttle"):
        st.set_throttle(Decimal("1.5"))
    assert st.snapshot().throttle == Decimal(1)
    st.set_throttle(Decimal("0.8"))
    assert st.snapshot().throttle == Decimal("0.8")


def test_halt_withdraws_entries_until_unhalt(disposer: list[Harness]) -> None:
    """halt cancels every entry and places none; unhalt lets the grid come back."""
    h = build(minutes=500)
    disposer.append(h)
    st = h.strategy
    h.session.advance(at(h, 200))
    assert len(h.orders()) > 0
    st.halt("kill switch: drawdown")
    assert st.snapshot().state is TradingState.HALTED
    halted_at = st.clock.timestamp_ns()
    h.session.advance(at(h, 260))
    assert [o for o in entry_orders(h) if o.is_open] == []
    assert entry_orders(h, after_ns=halted_at) == []
    st.resume("*")  # "*" does not clear a halt
    assert st.snapshot().state is TradingState.HALTED
    st.unhalt()
    h.session.advance(at(h, 300))
    assert st.snapshot().state is TradingState.RUNNING
    assert len(entry_orders(h, after_ns=halted_at)) > 0


def test_bars_counter_counts_every_live_bar_also_while_halted(disposer: list[Harness]) -> None:
    """snapshot().bars grows by one per live bar, halted or not (hedgegridd_bars_total)."""
    h = build(minutes=300)
    disposer.append(h)
    st = h.strategy
    assert st.snapshot().bars == 0
    h.session.advance(at(h, 200))
    assert len(h.orders()) > 0
    assert st.snapshot().bars == 200
    st.halt("kill switch: drawdown")
    halted_at = st.clock.timestamp_ns()
    h.session.advance(at(h, 260))
    assert entry_orders(h, after_ns=halted_at) == []
    assert st.snapshot().bars == 260


def test_snapshot_and_order_views_carry_no_float_noise(disposer: list[Harness]) -> None:
    """Replies use the instrument's precision (price 1 dp, size 3 dp) and 8 dp for money."""
    h = build(minutes=900)
    disposer.append(h)
    h.session.advance(at(h, 900))
    assert len(h.orders()) > 0
    assert len(h.fills()) > 0
    st = h.strategy
    snap = st.snapshot()

    def places(value: Decimal | None) -> int:
        assert value is not None
        exponent = value.as_tuple().exponent
        assert isinstance(exponent, int)
        return -exponent

    assert snap.realized_pnl != 0
    assert places(snap.realized_pnl) == 8
    assert places(snap.unrealized_pnl) <= 8
    assert places(snap.equity) <= 8
    assert places(snap.peak_equity) <= 8
    assert places(snap.last_price) == 1
    assert places(snap.center_price) == 1
    held = [side for side in (snap.long, snap.short) if side.quantity > 0]
    assert held
    for side in held:
        assert places(side.quantity) == 3
        assert places(side.tp_quantity) == places(side.sl_quantity) == 3
        assert places(side.avg_price) <= 3
    views = st.open_orders()
    assert views
    for view in views:
        assert places(view.quantity) == 3
        assert places(view.filled) <= 3
        assert places(view.price) == 1
    for rung in st.ladders():
        assert places(rung.price) == 1
        assert places(rung.quantity) == 3


def test_throttle_reports_rungs_left_and_the_smallest_throttle_keeping_a_side(
    disposer: list[Harness], log_events
) -> None:
    """throttle 0.5 scales default rungs under the minimum notional: both sides are reported
    empty, with the smallest throttle that keeps a rung, which indeed keeps one."""
    h = build(minutes=300)
    disposer.append(h)
    st = h.strategy
    h.session.advance(at(h, 200))
    assert [o for o in entry_orders(h) if o.is_open]
    full = st.throttle_effect()
    assert set(full) == {"LONG", "SHORT"}
    trading = {side for side, (rungs, _) in full.items() if rungs > 0}
    assert trading
    assert all(need is None for _, need in full.values())
    st.set_throttle(Decimal("0.5"))
    half = st.throttle_effect()
    for side in trading:
        rungs, need = half[side]
        assert rungs == 0
        assert need is not None
        assert Decimal("0.5") < need <= Decimal(1)
    warned = [e for e in log_events.entries if e["event"] == "strategy.throttle_empties_side"]
    assert {e["side"] for e in warned} == trading
    need = max(n for _, n in (half[s] for s in trading) if n is not None)
    st.set_throttle(need)
    assert all(st.throttle_effect()[side][0] > 0 for side in trading)
    st.set_throttle(need - Decimal("0.01"))
    assert any(st.throttle_effect()[side][0] == 0 for side in trading)
