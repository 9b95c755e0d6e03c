"""The daemon's metrics registry rendered with every optional reading present."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from pathlib import Path

from hedgegridd.ops.alerts import AlertManager
from hedgegridd.ops.config import AlertsConfig, KillSwitchConfig, MetricsConfig
from hedgegridd.ops.killswitch import KillSwitch
from hedgegridd.ops.metrics import MetricsServer
from hedgegridd.strategy.handle import StrategySnapshot
from hedgegridd.supervisor.state import AsyncStateStore
from tests.ops.fake_strategy import FakeBook


class FullBook(FakeBook):
    """The fake book with the optional readings a live daemon has (peak, funding, mark)."""

    def snapshot(self) -> StrategySnapshot:
        return dataclasses.replace(
            super().snapshot(),
            peak_equity=Decimal(10000),
            next_funding_ns=1_700_000_000_000_000_000,
            mark_price=Decimal(50000),
            mark_ns=1_700_000_000_000_000_000,
        )


async def render_every_family(tmp_path: Path) -> str:
    """One render of the registry with a strategy, a restored kill switch and alerts."""
    store = await AsyncStateStore.open(tmp_path / "state.db")
    try:
        book = FullBook()
        ks = KillSwitch(KillSwitchConfig(), strategy=book, store=store)
        await ks.restore()
        server = MetricsServer(
            MetricsConfig(port=0),
            strategy=lambda: book,
            killswitch=ks,
            alerts=AlertManager(AlertsConfig()),
        )
        return server.render().decode()
    finally:
        await store.aclose()
