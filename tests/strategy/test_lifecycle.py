"""Lifecycle of HedgeGridStrategy on a real BacktestEngine with synthetic bars."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from hedgegridd.core.types import Side
from hedgegridd.strategy.handle import FlattenSide, TradingState
from hedgegridd.strategy.warmup import WarmupData
from tests.strategy.harness import (
    Harness,
    ObservedStrategy,
    at,
    build,
    entry_orders,
    params,
)


@pytest.mark.parametrize("contingency", ["OUO", "NONE"])
def test_grid_trades_and_exit_invariant_holds_after_every_order_event(
    contingency: str,
    disposer: list[Harness],
) -> None:
    """TP and SL each equal the position after every bar and never exceed it at any order event."""
    h = build(observer=True, minutes=2000, seed=3, config={"exit_contingency": contingency})
    disposer.append(h)
    h.session.run()
    assert len(h.orders()) > 0
    assert len(h.fills()) > 0
    st = h.strategy
    assert isinstance(st, ObservedStrategy)
    assert st.events_checked > 100
    assert st.bars_checked == 2000
    exit_fills = [
        f
        for f in h.fills()
        if h.session.engine.cache.order(f.client_order_id).tags[0] in ("tp", "sl")
    ]
    assert exit_fills, "exits must have traded for the invariant check to mean something"
    assert st.over == []
    assert st.under == []
    assert st.flips == []


def test_every_order_carries_its_hedge_position_id(disposer: list[Harness]) -> None:
    """Orders sit on <instrument>-LONG/-SHORT; one without a position id is an AssertionError."""
    h = build(minutes=400)
    disposer.append(h)
    h.session.advance(at(h, 300))
    orders = h.orders()
    assert len(orders) > 0
    cache = h.session.engine.cache
    for order in orders:
        pid = cache.position_id(order.client_order_id)
        assert pid is not None
        assert pid.value.endswith(("-LONG", "-SHORT"))
    st = h.strategy
    naked = st.order_factory.market(st.instrument_id, orders[0].side, orders[0].quantity)
    with pytest.raises(AssertionError, match="without a hedge position id"):
        st.submit_order(naked)


def test_exit_larger_than_position_is_denied_and_never_opens(disposer: list[Harness]) -> None:
    """A reduce-only exit on a flat side is denied by the engine: exits cannot open a position."""
    from hedgegridd.core.types import ExitKind, PlaceExit
    from hedgegridd.strategy.orders import TP, OrderMeta

    h = build(
        minutes=200,
        strategy_params=params(grid={"levels_per_side": 1}, policy={"counter_levels": 1}),
    )
    disposer.append(h)
    h.session.advance(at(h, 5))
    st = h.strategy
    assert st.is_flat(FlattenSide.BOTH)
    assert st.builder is not None
    rogue = st.builder.exit(PlaceExit(Side.LONG, ExitKind.TP, Decimal("1000.0"), Decimal("0.010")))
    st._send(rogue, OrderMeta(TP, Side.LONG))
    h.session.advance(at(h, 10))
    assert len(h.orders()) > 0
    order = h.session.engine.cache.order(rogue.client_order_id)
    assert order.status_string() == "DENIED"
    assert st.book.denied == 1
    assert st.cache.position(st.long_pid) is None or st.cache.position(st.long_pid).is_closed


def test_pause_blocks_bars_retry_timers_and_operator_commands(disposer: list[Harness]) -> None:
    """While paused no entry is placed by bars, a retry timer, throttle, resume(other) or unhalt."""
    from hedgegridd.strategy.events import RETRY_TIMER
    from tests.strategy.harness import rejected

    h = build(minutes=900, seed=3)
    disposer.append(h)
    st = h.strategy
    h.session.advance(at(h, 300))
    assert len(h.orders()) > 0
    assert len(h.fills()) > 0
    st.pause("operator")
    paused_at = st.clock.timestamp_ns()
    some_entry = next(o for o in entry_orders(h) if o.is_open)
    st.on_order_rejected(rejected(st, some_entry.client_order_id, "POST_ONLY would take"))
    assert RETRY_TIMER in st.clock.timer_names
    st.set_throttle(Decimal("0.7"))
    st.resume("some-other-reason")
    st.halt("test")
    st.unhalt()
    h.session.advance(at(h, 600))
    assert RETRY_TIMER not in st.clock.timer_names  # the retry fired (and was gated)
    assert entry_orders(h, after_ns=paused_at) == []
    assert st.snapshot().state is TradingState.PAUSED
    st.resume("operator")
    h.session.advance(at(h, 900))
    assert len(entry_orders(h, after_ns=at(h, 600))) > 0


def test_circuit_breaker_trips_cools_down_and_resets(disposer: list[Harness]) -> None:
    """N distinct rejections trip the breaker: entries withdrawn, none in cooldown, then resumed."""
    from tests.strategy.harness import rejected

    h = build(minutes=900, strategy_params=params(risk={"max_rejections": 3, "cooldown_s": 600.0}))
    disposer.append(h)
    st = h.strategy
    h.session.advance(at(h, 300))
    assert len(h.orders()) > 0
    open_entries = [o for o in entry_orders(h) if o.is_open]
    assert len(open_entries) >= 3
    for order in open_entries[:3]:
        st.on_order_rejected(rejected(st, order.client_order_id, "POST_ONLY would take liquidity"))
    tripped_at = st.clock.timestamp_ns()
    snap = st.snapshot()
    assert snap.circuit_breaker_trips == 1
    assert "circuit_breaker" in snap.pause_reasons
    h.session.advance(at(h, 305))
    assert [o for o in entry_orders(h) if o.is_open] == []  # withdrawn
    h.session.advance(at(h, 308))
    assert entry_orders(h, after_ns=tripped_at) == []  # none during cooldown
    h.session.advance(at(h, 330))
    assert "circuit_breaker" not in st.snapshot().pause_reasons
    assert len(entry_orders(h, after_ns=tripped_at)) > 0
    # replaying one of the rejections changes nothing
    before = (dict(st.book.rejects_by_reason), st.risk.trips if st.risk else 0)
    st.on_order_rejected(rejected(st, open_entries[0].client_order_id, "POST_ONLY would take"))
    assert (dict(st.book.rejects_by_reason), st.risk.trips if st.risk else 0) == before


def test_drawdown_from_a_restored_peak_withdraws_entries(disposer: list[Harness]) -> None:
    """A peak restored from state above equity by more than the limit blocks every entry."""
    updates: list[object] = []
    control = build(minutes=300)
    disposer.append(control)
    control.strategy.set_sinks(state=updates.append)
    control.session.run()
    assert len(control.orders()) > 0
    assert updates, "peak equity changes are reported for persistence"
    alerts: list[tuple[str, dict[str, str]]] = []
    h = build(minutes=300, warmup=WarmupData(peak_equity=Decimal(13_000)))
    disposer.append(h)
    h.strategy.set_sinks(alert=lambda kind, details: alerts.append((kind, details)))
    h.session.advance(at(h, 200))
    snap = h.strategy.snapshot()
    assert entry_orders(h) == []
    assert snap.state is TradingState.PAUSED
    assert "drawdown" in snap.pause_reasons
    assert snap.peak_equity == Decimal(13_000)
    assert [k for k, _ in alerts] == ["drawdown"]


def test_funding_guard_scales_the_paying_side_near_funding(disposer: list[Harness]) -> None:
    """In the window before funding with a high positive rate LONG rungs shrink, SHORT do not."""
    from nautilus_trader.model.data import FundingRateUpdate

    from tests.strategy.harness import market

    instrument, bars, _ = market(600, 3)
    funding_ns = int(bars[400].ts_event)  # funding at bar 401's close
    update = FundingRateUpdate(
        instrument.id,
        Decimal("0.001"),
        int(bars[0].ts_event),
        int(bars[0].ts_event),
        interval=480,
        next_funding_ns=funding_ns,
    )
    p = params(
        grid={"base_qty": "0.004", "max_inventory_qty": "1"},
        policy={"counter_qty_scale": "1"},
        risk={"max_position_qty": "1"},
        funding={"window_s": 1800, "rate_threshold": "0.0003", "paying_side_scale": "0.5"},
    )
    h = build(p, minutes=600, funding=[update])
    disposer.append(h)
    h.session.advance(funding_ns - 45 * 60_000_000_000)
    assert len(h.orders()) > 0
    before = {(r.side, r.quantity) for r in h.strategy.ladders()}
    h.session.advance(funding_ns - 10 * 60_000_000_000)
    during = {(r.side, r.quantity) for r in h.strategy.ladders()}
    assert ("LONG", Decimal("0.004")) in before
    assert {q for s, q in during if s == "LONG"} == {Decimal("0.002")}
    assert {q for s, q in during if s == "SHORT"} == {Decimal("0.004")}
    window_start = funding_ns - 30 * 60_000_000_000
    scaled = [o for o in entry_orders(h, after_ns=window_start) if o.tags[1].startswith("LONG")]
    assert scaled
    assert all(o.quantity.as_decimal() == Decimal("0.002") for o in scaled)


def test_handler_exception_degrades_without_crashing_the_node(
    disposer: list[Harness], log_events: Any
) -> None:
    """An exception in on_bar pauses the strategy as DEGRADED, alerts once, and the run goes on."""
    alerts: list[str] = []
    h = build(minutes=400)
    disposer.append(h)
    st = h.strategy
    st.set_sinks(alert=lambda kind, details: alerts.append(kind))
    h.session.advance(at(h, 200))
    assert len(h.orders()) > 0
    assert st.grid is not None
    real = st.grid.decide

    def boom(inputs: object) -> object:
        raise RuntimeError("synthetic failure")

    st.grid.decide = boom  # type: ignore[method-assign]
    h.session.advance(at(h, 250))
    assert st.snapshot().state is TradingState.DEGRADED
    assert st.errors >= 2
    assert st.last_bar_ns == at(h, 250)  # bars kept flowing
    assert alerts == ["degraded"]
    degraded = [e for e in log_events.entries if e["event"] == "strategy.degraded"]
    assert len(degraded) == 1
    assert "synthetic failure" in degraded[0]["reason"]
    st.grid.decide = real  # type: ignore[method-assign]
    st.resume("degraded")
    assert st.snapshot().state is TradingState.RUNNING
