"""Determinism, idempotent handlers, PnL agreement, start failures, stop policy, bar gaps."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from hedgegridd.strategy.handle import TradingState
from tests.strategy.harness import Harness, at, build, entry_orders, market


def _fills(h: Harness) -> list[tuple[Any, ...]]:
    return [
        (f.client_order_id.value, f.trade_id.value, str(f.last_px), str(f.last_qty), f.ts_event)
        for f in h.fills()
    ]


def test_two_runs_of_the_same_config_produce_identical_fills(disposer: list[Harness]) -> None:
    """Same bars and config: identical fill ids, prices, quantities and times."""
    runs = []
    for _ in range(2):
        h = build(minutes=1200, seed=5)
        disposer.append(h)
        h.session.run()
        runs.append(_fills(h))
    assert len(runs[0]) > 0
    assert runs[0] == runs[1]


def test_replayed_fill_changes_nothing(disposer: list[Harness]) -> None:
    """Delivering a fill to the strategy twice leaves PnL, fills, fees and orders unchanged."""
    h = build(minutes=600)
    disposer.append(h)
    h.session.advance(at(h, 500))
    fills = h.fills()
    assert len(fills) > 0
    st = h.strategy
    before = (st.book.realized_pnl, st.book.fills, st.book.fees, len(h.orders()), st.errors)
    for event in fills:
        st.on_order_filled(event)
    after = (st.book.realized_pnl, st.book.fills, st.book.fees, len(h.orders()), st.errors)
    assert after == before


def test_replayed_rejection_changes_nothing(disposer: list[Harness]) -> None:
    """A rejection seen twice is counted once (reject counters and breaker unchanged)."""
    from tests.strategy.harness import rejected

    h = build(minutes=400)
    disposer.append(h)
    h.session.advance(at(h, 300))
    st = h.strategy
    order = next(o for o in entry_orders(h) if o.is_open)
    event = rejected(st, order.client_order_id, "POST_ONLY would take liquidity")
    assert st.risk is not None
    start = st.book.rejects_by_reason["POST_ONLY"]
    st.on_order_rejected(event)
    once = (dict(st.book.rejects_by_reason), st.risk.rejections_in_window(st.clock.timestamp_ns()))
    assert once[0]["POST_ONLY"] == start + 1
    st.on_order_rejected(event)
    twice = (dict(st.book.rejects_by_reason), st.risk.rejections_in_window(st.clock.timestamp_ns()))
    assert twice == once


def test_strategy_pnl_agrees_with_the_engine_account(disposer: list[Harness]) -> None:
    """Realized PnL booked by the strategy equals the account's balance change net of funding."""
    h = build(minutes=1500, seed=3)
    disposer.append(h)
    h.session.run()
    res = h.session.results()
    assert len(res.fills) > 0
    assert abs(h.strategy.book.realized_pnl - res.account_realized_pnl) < Decimal("0.000001")
    assert h.strategy.book.fills == len(res.fills)


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"params_json": "{not json"}, "strategy params invalid"),
        ({"instrument_id": "ETHUSDT-PERP.BINANCE"}, "not found"),
        ({"venue_oms_type": "NETTING"}, "HEDGING"),
        ({"stop_policy": "shrug"}, "stop_policy"),
    ],
)
def test_start_fails_closed_with_the_reason(
    config: dict[str, str], expected: str, disposer: list[Harness], log_events: Any
) -> None:
    """Bad config, missing instrument or a netting venue: stopped with the reason, no orders."""
    h = build(minutes=120, config=config)
    disposer.append(h)
    h.session.advance(at(h, 60))
    st = h.strategy
    assert st.start_failure is not None
    assert expected in st.start_failure
    assert st.snapshot().state is TradingState.STOPPED
    assert h.orders() == []
    failed = [e for e in log_events.entries if e["event"] == "strategy.start_failed"]
    assert len(failed) == 1
    assert expected in failed[0]["reason"]


@pytest.mark.parametrize(
    ("policy", "entries_left"), [("cancel_entries", False), ("keep_all", True)]
)
def test_stop_policy_decides_what_stays_resting(
    policy: str, entries_left: bool, disposer: list[Harness]
) -> None:
    """Default stop cancels entries and keeps exits protecting positions; keep_all keeps all."""
    h = build(minutes=700, seed=3, config={"stop_policy": policy})
    disposer.append(h)
    h.session.advance(at(h, 690))
    assert len(h.fills()) > 0
    h.session.finish()
    cache = h.session.engine.cache
    open_orders = [o for o in cache.orders_open() if o.tags]
    live_entries = [
        o for o in open_orders if o.tags[0] == "entry" and o.status_string() != "PENDING_CANCEL"
    ]
    exits = [
        o
        for o in open_orders
        if o.tags[0] in ("tp", "sl") and o.status_string() != "PENDING_CANCEL"
    ]
    assert bool(live_entries) is entries_left
    long_pos = cache.position(h.strategy.long_pid)
    short_pos = cache.position(h.strategy.short_pid)
    held = any(p is not None and p.is_open for p in (long_pos, short_pos))
    assert held
    assert exits  # positions stay protected after stop


def test_gap_in_bars_is_reported_and_indicators_rewarm(
    disposer: list[Harness], log_events: Any
) -> None:
    """Missing minutes are detected, counted in the snapshot, logged, and the regime re-warms."""
    _, bars, _ = market(600, 3)
    gapped = bars[:300] + bars[400:]
    h = build(minutes=600, bars=gapped)
    disposer.append(h)
    h.session.advance(at(h, 300))  # the last bar before the gap
    assert len(h.orders()) > 0
    detector = h.strategy.regime
    assert detector is not None
    assert detector.is_warm
    h.session.advance(at(h, 301))  # the first bar after 100 missing minutes
    assert not detector.is_warm  # indicators restart instead of bridging the gap
    assert h.strategy.snapshot().regime == "WARMUP"
    h.session.run()
    assert len(h.orders()) > 0
    assert detector.is_warm
    assert h.strategy.snapshot().bar_gaps == 1
    gaps = [e for e in log_events.entries if e["event"] == "bar.gap"]
    assert len(gaps) == 1
    assert gaps[0]["missed"] == 100


def test_exit_refusal_retries_on_the_timer_not_in_a_loop(
    disposer: list[Harness], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A refused TP/SL is re-placed by the retry timer, never by an immediate re-sync."""
    from hedgegridd.strategy.events import RETRY_TIMER
    from tests.strategy.harness import rejected

    h = build(minutes=600)
    disposer.append(h)
    exit_order = None
    for minute in range(30, 600):
        h.session.advance(at(h, minute))
        exit_order = next(
            (o for o in h.orders() if o.is_open and o.tags and o.tags[0] in ("tp", "sl")), None
        )
        if exit_order is not None:
            break
    assert exit_order is not None
    assert len(h.fills()) > 0
    st = h.strategy
    syncs: list[str] = []
    monkeypatch.setattr(st, "_sync", lambda source, **kw: syncs.append(source))
    st.on_order_rejected(rejected(st, exit_order.client_order_id, "Margin is insufficient."))
    assert syncs == []
    assert RETRY_TIMER in st.clock.timer_names
