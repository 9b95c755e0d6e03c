"""Funding settlement for backtests: a Nautilus ``SimulationModule``.

Nautilus does not simulate perpetual funding. This module settles each funding
event of the history at its funding time, on the engine clock, exactly like
Binance: every open position pays ``quantity * mark_price * rate`` when the rate
is positive and it is long (shorts receive it), the reverse when the rate is
negative. The payment is booked with ``exchange.adjust_account(Money)``, so the
account balance, the portfolio and the report all see it.

Events are settled once (a cursor walks the sorted schedule), so a module that
is processed twice at the same timestamp changes nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from nautilus_trader.backtest.config import SimulationModuleConfig
from nautilus_trader.backtest.modules import SimulationModule
from nautilus_trader.model.enums import PositionSide
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.objects import Currency, Money

from hedgegridd.errors import BacktestError


@dataclass(frozen=True, slots=True)
class FundingEvent:
    """One funding settlement: when (engine ns), the rate, the mark price used."""

    ts_ns: int
    rate: Decimal
    mark_price: Decimal


@dataclass(frozen=True, slots=True)
class FundingPayment:
    """One settled payment of one position side (positive = received)."""

    ts_ns: int
    side: str  # "LONG" | "SHORT"
    quantity: Decimal
    rate: Decimal
    mark_price: Decimal
    amount: Decimal


class FundingSettlementModule(SimulationModule):  # type: ignore[misc]
    """Settle funding payments from history at funding times (HEDGING positions)."""

    def __init__(
        self,
        instrument_id: InstrumentId,
        settlement_currency: Currency,
        events: Sequence[FundingEvent],
    ) -> None:
        super().__init__(SimulationModuleConfig())
        times = [e.ts_ns for e in events]
        if times != sorted(times):
            raise BacktestError("funding events must be sorted by time")
        self._instrument_id = instrument_id
        self._currency = settlement_currency
        self._events = tuple(events)
        self._cursor = 0
        self.payments: list[FundingPayment] = []

    @property
    def paid(self) -> Decimal:
        """Total funding paid (a positive number)."""
        return -sum((p.amount for p in self.payments if p.amount < 0), Decimal(0))

    @property
    def received(self) -> Decimal:
        """Total funding received."""
        return sum((p.amount for p in self.payments if p.amount > 0), Decimal(0))

    def process(self, ts_now: int) -> None:
        """Settle every funding event due at or before ``ts_now`` exactly once."""
        events = self._events
        while self._cursor < len(events) and events[self._cursor].ts_ns <= ts_now:
            self._settle(events[self._cursor])
            self._cursor += 1

    def _settle(self, event: FundingEvent) -> None:
        positions = self.exchange.cache.positions_open(instrument_id=self._instrument_id)
        for position in positions:
            qty = position.quantity.as_decimal()
            if qty == 0:
                continue
            notional = qty * event.mark_price * event.rate
            is_long = position.side == PositionSide.LONG
            amount = -notional if is_long else notional
            amount = amount.quantize(Decimal("0.00000001"))
            if amount == 0:
                continue
            self.exchange.adjust_account(Money(amount, self._currency))
            self.payments.append(
                FundingPayment(
                    ts_ns=event.ts_ns,
                    side="LONG" if is_long else "SHORT",
                    quantity=qty,
                    rate=event.rate,
                    mark_price=event.mark_price,
                    amount=amount,
                )
            )

    def pre_process(self, data: object) -> None:
        """Nothing to do per data point: the schedule is known up front."""

    def log_diagnostics(self, logger: object) -> None:
        """Nautilus calls this at the end of a run; totals are read from the report."""

    def reset(self) -> None:
        """Forget settled payments (engine reset)."""
        self._cursor = 0
        self.payments = []
