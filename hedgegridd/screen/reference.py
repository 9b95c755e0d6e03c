"""The Nautilus reference run used by the parity harness and the optimizer's re-runs.

Same wiring as ``hedgegrid backtest`` (``BacktestSession``: HEDGING + MARGIN venue,
fees rebuilt into the instrument, latency and fill model, funding settled from the
updates with the mark prices) and, like the optimizer's evaluator, the bars before
the window only prime the regime detector (``strategy.prime``).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from hedgegridd.backtest.engine import VenueModel
from hedgegridd.backtest.report import compute_metrics
from hedgegridd.backtest.results import BacktestResults
from hedgegridd.backtest.runner import with_fees
from hedgegridd.backtest.session import BacktestSession
from hedgegridd.errors import BacktestError
from hedgegridd.params import StrategyParams
from hedgegridd.screen.run import ScreenVenue
from hedgegridd.strategy.config import HedgeGridConfig
from hedgegridd.strategy.strategy import HedgeGridStrategy
from hedgegridd.strategy.warmup import HistoryBar, WarmupData


@dataclass(frozen=True, slots=True)
class ReferenceRun:
    """A Nautilus run's results, report metrics and engine seconds."""

    results: BacktestResults
    metrics: dict[str, Any]
    run_seconds: float


def run_nautilus(
    params: StrategyParams,
    instrument: Any,
    bars: Sequence[Any],
    funding: Sequence[Any] = (),
    marks: Sequence[tuple[int, Decimal]] = (),
    venue: ScreenVenue | None = None,
    *,
    warmup_bars: int = 0,
) -> ReferenceRun:
    """Backtest ``params`` on ``bars[warmup_bars:]`` (earlier bars prime the regime)."""
    venue = venue or ScreenVenue()
    traded = list(bars[warmup_bars:])
    if not traded:
        raise BacktestError("no bars after the warmup")
    lo, hi = traded[0].ts_event, traded[-1].ts_event
    inst = with_fees(instrument, venue.maker_fee, venue.taker_fee)
    model = VenueModel(starting_balance=venue.starting_balance, latency_ms=venue.latency_ms)
    session = BacktestSession(
        inst,
        traded,
        [u for u in funding if lo - 60_000_000_000 <= u.ts_event <= hi],
        model,
        mark_prices=[(t, p) for t, p in marks if t <= hi],
        log_level="OFF",
    )
    try:
        strategy = HedgeGridStrategy(
            HedgeGridConfig.create(
                params,
                instrument_id=str(inst.id),
                bar_type=str(session.bar_type),
                venue_oms_type="HEDGING",
            )
        )
        history = [
            HistoryBar(
                close_ns=b.ts_event,
                high=b.high.as_decimal(),
                low=b.low.as_decimal(),
                close=b.close.as_decimal(),
            )
            for b in bars[:warmup_bars]
        ]
        strategy.prime(WarmupData(bars=history))
        session.add_strategy(strategy)
        started = time.perf_counter()
        session.run(progress=False)
        seconds = time.perf_counter() - started
        if strategy.start_failure is not None:
            raise BacktestError(f"strategy did not start: {strategy.start_failure}")
        results = session.results()
    finally:
        session.dispose()
    return ReferenceRun(results, compute_metrics(results), seconds)
