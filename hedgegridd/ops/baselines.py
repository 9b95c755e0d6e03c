"""``Baselines``: what the kill switch measures losses against, persisted.

The drawdown basis (highest account equity seen, or the configured starting
balance), the session PnL basis (at the first check of this run) and the daily PnL
basis (at the first check of each UTC day). Peak and daily basis survive restarts
(state store keys below); a failing store is alerted once and checking goes on with
the values in memory.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import structlog

from hedgegridd.errors import HedgegridError
from hedgegridd.ops.alert_model import AlertKey, AlertSink
from hedgegridd.ops.config import KillSwitchConfig, Severity
from hedgegridd.ops.killswitch_rules import total_pnl
from hedgegridd.ops.latch import KillSwitchStore
from hedgegridd.strategy.handle import StrategySnapshot

log = structlog.get_logger(__name__)

# State-store keys owned by the kill switch.
KEY_PEAK = "killswitch.peak_equity"
KEY_DAILY_BASIS = "killswitch.daily_basis_pnl"
KEY_DAILY_DAY = "killswitch.daily_basis_day"  # yyyymmdd (UTC) as a Decimal


class Baselines:
    """Peak equity, session and daily PnL bases of the kill switch."""

    def __init__(self, store: KillSwitchStore, alerts: AlertSink) -> None:
        self._store = store
        self._alerts = alerts
        self.peak: Decimal | None = None
        self.session: Decimal | None = None
        self.daily: Decimal | None = None
        self._day: int | None = None
        self._persist_failed = False

    def equity_basis(self, config: KillSwitchConfig) -> Decimal | None:
        """The equity drawdown is measured against under ``config``."""
        if config.drawdown_basis == "starting_balance":
            return config.starting_balance
        return self.peak

    async def restore(self) -> None:
        """Load the persisted peak and daily basis (raises StateStoreError)."""
        self.peak = await self._store.get_decimal(KEY_PEAK)
        self.daily = await self._store.get_decimal(KEY_DAILY_BASIS)
        day = await self._store.get_decimal(KEY_DAILY_DAY)
        self._day = None if day is None else int(day)

    async def update(self, snap: StrategySnapshot, now_ns: int) -> None:
        """Raise the peak, seed the session basis, roll the daily basis at 00:00 UTC."""
        writes: list[tuple[str, Decimal]] = []
        if snap.equity is not None and (self.peak is None or snap.equity > self.peak):
            self.peak = snap.equity
            writes.append((KEY_PEAK, snap.equity))
        pnl = total_pnl(snap)
        if self.session is None:
            self.session = pnl
        day = int(datetime.fromtimestamp(now_ns / 1e9, tz=UTC).strftime("%Y%m%d"))
        if self._day != day or self.daily is None:
            self._day = day
            self.daily = pnl
            writes += [(KEY_DAILY_BASIS, pnl), (KEY_DAILY_DAY, Decimal(day))]
        await self._persist(writes)

    async def rebase(self, snap: StrategySnapshot | None) -> None:
        """Operator reset: every basis starts again from ``snap`` (None: on the next check)."""
        if snap is None:
            self.peak = self.session = self.daily = None
            return
        self.peak = snap.equity
        if snap.equity is not None:
            await self._store.set_decimal(KEY_PEAK, snap.equity)
        pnl = total_pnl(snap)
        self.session = self.daily = pnl
        await self._store.set_decimal(KEY_DAILY_BASIS, pnl)

    async def _persist(self, writes: list[tuple[str, Decimal]]) -> None:
        try:
            for key, value in writes:
                await self._store.set_decimal(key, value)
        except HedgegridError as exc:
            if not self._persist_failed:
                log.error("killswitch.persist_failed", error=type(exc).__name__, exc_info=True)
                self._alerts.notify(
                    AlertKey.STATE_STORE_FAILED,
                    Severity.CRITICAL,
                    "kill switch cannot persist its baselines (state store failing)",
                    fields={"error": type(exc).__name__},
                )
            self._persist_failed = True
        else:
            self._persist_failed = False
