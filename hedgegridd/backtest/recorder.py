"""``EquityRecorder``: a Nautilus actor sampling equity, price and positions every bar.

It reads the engine's own account and positions (not the strategy's bookkeeping),
so the report's equity curve is the venue's truth: balance (fees and funding
included) plus unrealized PnL of both hedge sides at the bar close.
"""

from __future__ import annotations

from nautilus_trader.common.actor import Actor
from nautilus_trader.config import ActorConfig
from nautilus_trader.model.data import Bar, BarType
from nautilus_trader.model.identifiers import InstrumentId, PositionId, Venue


class EquityRecorderConfig(ActorConfig, frozen=True):
    """What to sample: the bar type, instrument and the venue of the account."""

    bar_type: str
    instrument_id: str
    venue: str = "BINANCE"


class EquityRecorder(Actor):  # type: ignore[misc]
    """Append (ts, close, equity, long qty, short qty) on every bar (floats, for plots)."""

    def __init__(self, config: EquityRecorderConfig) -> None:
        super().__init__(config)
        self._bar_type = BarType.from_str(config.bar_type)
        instrument_id = InstrumentId.from_str(config.instrument_id)
        self._long_id = PositionId(f"{instrument_id}-LONG")
        self._short_id = PositionId(f"{instrument_id}-SHORT")
        self._venue = Venue(config.venue)
        self.ts: list[int] = []
        self.close: list[float] = []
        self.equity: list[float] = []
        self.long_qty: list[float] = []
        self.short_qty: list[float] = []

    def on_start(self) -> None:
        self.subscribe_bars(self._bar_type)

    def on_bar(self, bar: Bar) -> None:
        account = self.cache.account_for_venue(self._venue)
        if account is None:
            return
        balance = 0.0
        for money in account.balances_total().values():
            balance += money.as_double()
        unrealized = 0.0
        long_q = short_q = 0.0
        for pid in (self._long_id, self._short_id):
            position = self.cache.position(pid)
            if position is None or position.is_closed:
                continue
            unrealized += position.unrealized_pnl(bar.close).as_double()
            if pid is self._long_id:
                long_q = position.quantity.as_double()
            else:
                short_q = position.quantity.as_double()
        self.ts.append(bar.ts_event)
        self.close.append(bar.close.as_double())
        self.equity.append(balance + unrealized)
        self.long_qty.append(long_q)
        self.short_qty.append(short_q)
