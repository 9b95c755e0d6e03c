"""Tests of the default strategy factory (HedgeGridStrategy from settings, warmup and state)."""

from __future__ import annotations

from decimal import Decimal

from hedgegridd.data.instruments import BTCUSDT_PERP
from hedgegridd.strategy.handle import StrategyHandle
from hedgegridd.supervisor.inputs import RestoredState, StrategyInputs
from hedgegridd.supervisor.settings import load_settings
from hedgegridd.supervisor.state import Latch
from hedgegridd.supervisor.strategy_factory import build_hedgegrid_strategy, warmup_data
from hedgegridd.supervisor.warmup import WarmupBar, WarmupResult

BAR = WarmupBar(
    open_time_ms=1_700_000_000_000,
    close_time_ms=1_700_000_059_999,
    open=Decimal("100"),
    high=Decimal("110"),
    low=Decimal("90"),
    close=Decimal("105"),
    volume=Decimal("1"),
)


def _inputs(restored: RestoredState) -> StrategyInputs:
    warm = WarmupResult(
        spec=BTCUSDT_PERP,
        hedge_mode=True,
        clock_skew_ms=0.0,
        bars=(BAR,),
        funding_rate=Decimal("0.0001"),
        next_funding_ms=1_700_028_800_000,
        mark_price=Decimal("105"),
    )
    return StrategyInputs(settings=load_settings(None), warmup=warm, restored=restored)


def test_warmup_data_carries_history_funding_and_restored_state() -> None:
    """Bars are stamped at their close; funding in ns; peak/PnL/throttle/pause/latch restored."""
    restored = RestoredState(
        peak_equity=Decimal("10500"),
        realized_pnl=Decimal("12.5"),
        throttle=Decimal("0.4"),
        paused=True,
        latch=Latch(reason="drawdown", details={}, fired_at_ns=1),
    )
    data = warmup_data(_inputs(restored))
    assert data.bars[0].close_ns == 1_700_000_060_000 * 1_000_000
    assert data.bars[0].close == Decimal("105")
    assert data.next_funding_ns == 1_700_028_800_000 * 1_000_000
    assert data.peak_equity == Decimal("10500")
    assert data.realized_pnl == Decimal("12.5")
    assert data.throttle == Decimal("0.4")
    assert data.pause_reasons == ("operator",)
    assert data.halted_reason == "drawdown"


def test_factory_builds_a_hedging_strategy_handle() -> None:
    """The default factory returns HedgeGridStrategy: HEDGING, a StrategyHandle, primed."""
    restored = RestoredState(None, None, None, paused=False, latch=None)
    strategy = build_hedgegrid_strategy(_inputs(restored))
    assert isinstance(strategy, StrategyHandle)
    assert strategy.oms_type.name == "HEDGING"
    assert strategy.config.stop_policy == "cancel_entries"
    assert strategy.config.funding_source == "binance_mark_price"
    assert strategy.config.subscribe_quotes is True  # paper: the sandbox fills on quotes
