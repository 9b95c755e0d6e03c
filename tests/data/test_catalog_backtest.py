"""Catalog output drives a real Nautilus BacktestEngine, bars arriving at their close."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from nautilus_trader.backtest.engine import BacktestEngine, BacktestEngineConfig
from nautilus_trader.common.actor import Actor
from nautilus_trader.config import ActorConfig, LoggingConfig
from nautilus_trader.model.currencies import USDT
from nautilus_trader.model.data import Bar, BarType
from nautilus_trader.model.enums import AccountType, OmsType
from nautilus_trader.model.identifiers import Venue
from nautilus_trader.model.objects import Money

from hedgegridd.data.catalog import load_bars, load_funding, open_catalog, write_synthetic_catalog
from hedgegridd.data.instruments import BTCUSDT_PERP
from hedgegridd.data.synthetic import SyntheticSpec


class BarClockConfig(ActorConfig, frozen=True):
    """Config of the probe actor."""

    bar_type: str


class BarClock(Actor):
    """Records (engine clock, bar ts_event, bar open) for every bar received."""

    def __init__(self, config: BarClockConfig) -> None:
        super().__init__(config)
        self.seen: list[tuple[int, int]] = []

    def on_start(self) -> None:
        """Subscribe to the catalog's bar type."""
        self.subscribe_bars(BarType.from_str(self.config.bar_type))

    def on_bar(self, bar: Bar) -> None:
        """Record when the bar arrived and its stamp."""
        self.seen.append((self.clock.timestamp_ns(), bar.ts_event))


@pytest.mark.filterwarnings("ignore:Timestamp.utcnow is deprecated")
def test_catalog_bars_drive_backtest_at_bar_close(tmp_path: Path) -> None:
    """Every catalog bar reaches a BacktestEngine actor exactly at its close time."""
    spec = SyntheticSpec(seed=4, minutes=300)
    write_synthetic_catalog(tmp_path, spec, include_trades=False)
    catalog = open_catalog(tmp_path)
    instrument = catalog.instruments()[0]
    bars = load_bars(tmp_path)
    assert len(bars) == 300
    engine = BacktestEngine(BacktestEngineConfig(logging=LoggingConfig(bypass_logging=True)))
    try:
        engine.add_venue(
            Venue("BINANCE"),
            oms_type=OmsType.HEDGING,
            account_type=AccountType.MARGIN,
            starting_balances=[Money(10_000, USDT)],
            base_currency=USDT,
        )
        engine.add_instrument(instrument)
        engine.add_data(bars)
        probe = BarClock(BarClockConfig(bar_type=BTCUSDT_PERP.bar_type()))
        engine.add_actor(probe)
        engine.run()
        assert len(probe.seen) == 300
        assert all(clock == ts for clock, ts in probe.seen)
        assert probe.seen[0][1] == spec.start_ms * 1_000_000 + 60_000_000_000
    finally:
        engine.dispose()
    assert instrument.price_increment.as_decimal() == Decimal("0.1")
    assert len(load_funding(tmp_path)) == 1
