"""``BacktestSession``: one engine, one instrument, bars + funding, any strategy.

The catalog runner, the tests and the benchmark all build their engine here::

    session = BacktestSession(instrument, bars, funding_updates, VenueModel())
    session.add_strategy(strategy)
    session.run(progress=True)          # chunked, with a tqdm bar
    results = session.results()         # read BEFORE dispose
    session.dispose()

Funding: ``FundingRateUpdate`` objects go to the data stream (the strategy's
funding guard sees them on the engine clock) and, as ``FundingEvent``s with the
mark price at that time, to the settlement module that books the payments.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from decimal import Decimal

import pandas as pd
from nautilus_trader.model.data import Bar, FundingRateUpdate
from nautilus_trader.model.instruments import Instrument
from nautilus_trader.trading.strategy import Strategy
from tqdm import tqdm

from hedgegridd.backtest.engine import VENUE, VenueModel, add_hedging_venue, create_engine
from hedgegridd.backtest.funding import FundingEvent, FundingSettlementModule
from hedgegridd.backtest.recorder import EquityRecorder, EquityRecorderConfig
from hedgegridd.backtest.results import BacktestResults, extract_results
from hedgegridd.errors import BacktestError

_MINUTE_NS = 60_000_000_000


def funding_events(
    updates: Sequence[FundingRateUpdate],
    bars: Sequence[Bar],
    mark_prices: Sequence[tuple[int, Decimal]] = (),
) -> list[FundingEvent]:
    """Settlement events: rate at ``ts_event`` and the mark (else last close) at or before it."""
    marks = sorted(mark_prices)
    mark_ts = [t for t, _ in marks]
    bar_ts = [b.ts_event for b in bars]
    events: list[FundingEvent] = []
    for u in sorted(updates, key=lambda u: u.ts_event):
        ts = u.ts_event
        i = bisect.bisect_right(mark_ts, ts) - 1
        if i >= 0:
            mark = marks[i][1]
        else:
            j = bisect.bisect_right(bar_ts, ts) - 1
            if j < 0:
                continue  # before any price: nothing can be open yet
            mark = bars[j].close.as_decimal()
        events.append(FundingEvent(ts_ns=ts, rate=Decimal(str(u.rate)), mark_price=mark))
    return events


class BacktestSession:
    """Owns one BacktestEngine set up for the hedge-mode BINANCE venue."""

    def __init__(
        self,
        instrument: Instrument,
        bars: Sequence[Bar],
        funding_updates: Sequence[FundingRateUpdate] = (),
        model: VenueModel | None = None,
        *,
        mark_prices: Sequence[tuple[int, Decimal]] = (),
        log_level: str = "ERROR",
    ) -> None:
        if not bars:
            raise BacktestError("no bars to backtest: check the catalog and the start/end window")
        self.model = model or VenueModel()
        self.instrument = instrument
        self.bars = list(bars)
        self.engine = create_engine(log_level=log_level)
        self.funding = FundingSettlementModule(
            instrument.id,
            instrument.settlement_currency,
            funding_events(funding_updates, self.bars, mark_prices),
        )
        add_hedging_venue(self.engine, instrument, self.model, modules=[self.funding])
        self.engine.add_data(self.bars)
        if funding_updates:
            self.engine.add_data(list(funding_updates))
        self.bar_type = self.bars[0].bar_type
        self.recorder = EquityRecorder(
            EquityRecorderConfig(bar_type=str(self.bar_type), instrument_id=str(instrument.id))
        )
        self.engine.add_actor(self.recorder)
        self._disposed = False
        self._ended = False
        self._cursor_ns = self.bars[0].ts_event - 1

    def add_strategy(self, strategy: Strategy) -> None:
        """Register the strategy under test (before ``run``)."""
        self.engine.add_strategy(strategy)

    def advance(self, until_ns: int) -> None:
        """Run every event up to and including ``until_ns`` (state kept; call ``finish`` last)."""
        if self._disposed or self._ended:
            raise BacktestError("session already finished")
        if until_ns <= self._cursor_ns:
            return
        self.engine.run(
            start=pd.Timestamp(self._cursor_ns + 1, unit="ns", tz="UTC"),
            end=pd.Timestamp(until_ns, unit="ns", tz="UTC"),
            streaming=True,
        )
        self._cursor_ns = until_ns

    def finish(self) -> None:
        """End the run: strategies stop (their stop policy applies), results are final."""
        if not self._ended:
            self.engine.end()
            self._ended = True

    def run(self, *, progress: bool = False, chunk_minutes: int = 1440) -> None:
        """Run over all bars in time chunks (state kept between chunks), then end the run."""
        last = self.bars[-1].ts_event
        step = chunk_minutes * _MINUTE_NS
        with tqdm(
            total=len(self.bars), disable=not progress, unit="bar", desc="backtest"
        ) as bar_progress:
            done = _count_le(self.bars, self._cursor_ns)
            while self._cursor_ns < last:
                self.advance(min(self._cursor_ns + step, last))
                now_done = _count_le(self.bars, self._cursor_ns)
                bar_progress.update(now_done - done)
                done = now_done
        self.finish()

    def results(self) -> BacktestResults:
        """Plain copy of the run (fills, orders, curves, funding); call before ``dispose``."""
        if self._disposed:
            raise BacktestError("results must be read before the engine is disposed")
        return extract_results(
            self.engine,
            instrument_id=str(self.instrument.id),
            venue=VENUE,
            starting_balance=self.model.starting_balance,
            recorder=self.recorder,
            funding=self.funding,
        )

    def dispose(self) -> None:
        """Release the engine (idempotent)."""
        if not self._disposed:
            self.finish()
            self.engine.dispose()
            self._disposed = True


def _count_le(bars: Sequence[Bar], ts: int) -> int:
    lo, hi = 0, len(bars)
    while lo < hi:
        mid = (lo + hi) // 2
        if bars[mid].ts_event <= ts:
            lo = mid + 1
        else:
            hi = mid
    return lo
