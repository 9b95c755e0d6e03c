"""Live funding feed, quiet logging, and reset on a real engine."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from nautilus_trader.adapters.binance.futures.types import BinanceFuturesMarkPriceUpdate
from nautilus_trader.model.objects import Price

from tests.strategy.harness import Harness, at, build


def test_binance_mark_price_update_drives_the_funding_guard_state(disposer: list[Harness]) -> None:
    """A live mark-price update sets the funding rate and next funding time the guard uses."""
    h = build(minutes=60, config={"funding_source": "binance_mark_price"})
    disposer.append(h)
    h.session.advance(at(h, 30))
    st = h.strategy
    assert len(h.orders()) > 0
    now = st.clock.timestamp_ns()
    update = BinanceFuturesMarkPriceUpdate(
        instrument_id=st.instrument_id,
        mark=Price.from_str("50000.0"),
        index=Price.from_str("50001.0"),
        estimated_settle=Price.from_str("50000.0"),
        funding_rate=Decimal("0.00042"),
        next_funding_ns=now + 3_600_000_000_000,
        ts_event=now,
        ts_init=now,
    )
    st.on_data(update)
    snap = st.snapshot()
    assert snap.funding_rate == Decimal("0.00042")
    assert snap.next_funding_ns == now + 3_600_000_000_000
    st.on_data(update)  # replay: same state, no error
    assert st.errors == 0


def test_info_logs_only_when_something_changes(disposer: list[Harness], log_events: Any) -> None:
    """No INFO event is emitted per bar: INFO lines are far fewer than bars on a quiet grid."""
    h = build(minutes=600, seed=3)
    disposer.append(h)
    h.session.advance(at(h, 600))
    assert len(h.orders()) > 0
    info = [e for e in log_events.entries if e["log_level"] == "info"]
    synced = [e for e in info if e["event"] == "grid.synced"]
    assert synced
    assert len(info) < 600 / 2
    assert all("source" in e and "entries_placed" in e for e in synced)


def test_reset_then_rerun_reproduces_the_first_run(disposer: list[Harness]) -> None:
    """on_reset clears the strategy's state: an engine reset and rerun gives identical fills."""
    h = build(minutes=400, seed=5)
    disposer.append(h)
    h.session.run()
    first = [(f.client_order_id.value, str(f.last_px), f.ts_event) for f in h.fills()]
    assert len(first) > 0
    engine = h.session.engine
    engine.reset()
    engine.run()
    second = [(f.client_order_id.value, str(f.last_px), f.ts_event) for f in h.fills()]
    assert second == first
    assert h.strategy.book.fills == len(first)


def test_warm_start_restores_state_before_the_first_bar(disposer: list[Harness]) -> None:
    """History warms the regime, and restored throttle, pause, PnL and funding apply at start."""
    from hedgegridd.strategy.warmup import HistoryBar, WarmupData
    from tests.strategy.harness import market

    _, history, _ = market(200, 9)
    warm = WarmupData(
        bars=tuple(
            HistoryBar(
                close_ns=int(b.ts_event) - 200 * 60_000_000_000,
                high=b.high.as_decimal(),
                low=b.low.as_decimal(),
                close=b.close.as_decimal(),
            )
            for b in history
        ),
        funding_rate=Decimal("0.0001"),
        next_funding_ns=2_000_000_000_000_000_000,
        realized_pnl=Decimal("12.5"),
        throttle=Decimal("0.7"),
        pause_reasons=("operator",),
    )
    h = build(minutes=120, warmup=warm)
    disposer.append(h)
    h.session.advance(at(h, 1))
    snap = h.strategy.snapshot()
    assert snap.regime != "WARMUP"
    assert snap.throttle == Decimal("0.7")
    assert snap.realized_pnl == Decimal("12.5")
    assert snap.funding_rate == Decimal("0.0001")
    assert "operator" in snap.pause_reasons
    assert h.orders() == []  # paused: nothing placed, not even at start
    h.strategy.resume("operator")
    h.session.advance(at(h, 60))
    assert len(h.orders()) > 0
