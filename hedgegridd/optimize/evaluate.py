"""The default evaluator: one backtest of the real ``HedgeGridStrategy`` over a time window.

Runs inside a trial process (``hedgegridd.optimize.trial_process``). It uses the
backtest package's own wiring (``BacktestSession``: HEDGING + MARGIN venue,
``use_reduce_only=False``, fees/latency/fill model, funding settled from the
funding history, results read before the engine is disposed), so a trial's
numbers are those ``hedgegrid backtest`` would report for the same window.

Data are the seeded synthetic market of ``[data.synthetic]``, generated once
per trial process and cached (the process is reused for many trials). Only bars
whose minute starts inside ``[start_ns, end_ns)`` are traded; the bars before
the window (up to the strategy's ``warmup_bars``) prime its indicators exactly
as the daemon's warmup does live, so the out-of-sample window does not start
cold and nothing after the window's start is ever seen early.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, cast

import numpy as np

from hedgegridd.backtest.engine import VenueModel, bars_from_arrays
from hedgegridd.backtest.runner import with_fees
from hedgegridd.backtest.session import BacktestSession
from hedgegridd.data.instruments import BTCUSDT_PERP, to_nautilus_instrument
from hedgegridd.data.synthetic import MINUTE_MS, SyntheticSpec, generate
from hedgegridd.errors import BacktestError
from hedgegridd.optimize.metrics import BacktestOutcome
from hedgegridd.optimize.trial_process import BacktestTask
from hedgegridd.params import parse_strategy_params
from hedgegridd.strategy.config import HedgeGridConfig
from hedgegridd.strategy.strategy import HedgeGridStrategy
from hedgegridd.strategy.warmup import HistoryBar, WarmupData

_MS = 1_000_000


@dataclass(frozen=True, slots=True)
class _Market:
    """Synthetic data as arrays (bar open times in ms) plus Nautilus funding updates."""

    open_ms: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    mark_close_ns: np.ndarray
    mark_close: np.ndarray
    funding: list[Any]


_CACHE: dict[SyntheticSpec, _Market] = {}


def _market(spec: SyntheticSpec) -> _Market:
    cached = _CACHE.get(spec)
    if cached is not None:
        return cached
    data = generate(spec)
    bars, marks = data.bars, data.mark_bars
    from nautilus_trader.model.data import FundingRateUpdate
    from nautilus_trader.model.identifiers import InstrumentId

    iid = InstrumentId.from_str(BTCUSDT_PERP.instrument_id)
    interval_ns = spec.funding_interval_hours * 3_600_000_000_000
    funding = [
        FundingRateUpdate(
            iid,
            Decimal(repr(float(rate))).normalize(),
            int(t) * _MS,
            int(t) * _MS,
            interval=spec.funding_interval_hours * 60,
            next_funding_ns=int(t) * _MS + interval_ns,
        )
        for t, rate in zip(
            data.funding["funding_time"].to_numpy(dtype=np.int64),
            data.funding["funding_rate"].to_numpy(dtype=np.float64),
            strict=True,
        )
    ]
    market = _Market(
        open_ms=bars["open_time"].to_numpy(dtype=np.int64),
        open=bars["open"].to_numpy(dtype=np.float64),
        high=bars["high"].to_numpy(dtype=np.float64),
        low=bars["low"].to_numpy(dtype=np.float64),
        close=bars["close"].to_numpy(dtype=np.float64),
        volume=bars["volume"].to_numpy(dtype=np.float64),
        mark_close_ns=(marks["open_time"].to_numpy(dtype=np.int64) + MINUTE_MS) * _MS,
        mark_close=marks["close"].to_numpy(dtype=np.float64),
        funding=funding,
    )
    _CACHE.clear()  # one market per process is enough; keeps memory bounded
    _CACHE[spec] = market
    return market


def _floats(values: np.ndarray) -> Sequence[float]:
    return cast(Sequence[float], values)  # bars_from_arrays converts with np.asarray


def _warmup(m: _Market, first: int, bars_needed: int) -> WarmupData:
    lo = max(0, first - bars_needed)
    history = [
        HistoryBar(
            close_ns=int(m.open_ms[i] + MINUTE_MS) * _MS,
            high=Decimal(repr(float(m.high[i]))),
            low=Decimal(repr(float(m.low[i]))),
            close=Decimal(repr(float(m.close[i]))),
        )
        for i in range(lo, first)
    ]
    return WarmupData(bars=history)


def run_backtest(task: BacktestTask) -> BacktestOutcome:
    """Backtest ``task.params`` over ``[task.start_ns, task.end_ns)``; plain results out."""
    params = parse_strategy_params(task.params)
    m = _market(task.data)
    open_ns = m.open_ms * _MS
    window = np.flatnonzero((open_ns >= task.start_ns) & (open_ns < task.end_ns))
    if window.size == 0:
        raise BacktestError("no bars in the trial window")
    first, last = int(window[0]), int(window[-1]) + 1
    venue = task.venue
    instrument = with_fees(to_nautilus_instrument(BTCUSDT_PERP), venue.maker_fee, venue.taker_fee)
    bar_type = BTCUSDT_PERP.bar_type()
    from nautilus_trader.model.data import BarType

    cut = slice(first, last)
    bars = bars_from_arrays(
        BarType.from_str(bar_type),
        instrument,
        _floats(m.open[cut]),
        _floats(m.high[cut]),
        _floats(m.low[cut]),
        _floats(m.close[cut]),
        _floats(m.volume[cut]),
        cast(Sequence[int], (m.open_ms[cut] + MINUTE_MS) * _MS),
    )
    funding = [u for u in m.funding if task.start_ns <= u.ts_event < task.end_ns]
    in_window = (m.mark_close_ns > task.start_ns) & (m.mark_close_ns <= task.end_ns)
    marks = [
        (int(t), Decimal(repr(float(p))))
        for t, p in zip(m.mark_close_ns[in_window], m.mark_close[in_window], strict=True)
    ]
    model = VenueModel(
        starting_balance=venue.starting_balance,
        leverage=venue.leverage,
        latency_ms=venue.latency_ms,
        prob_fill_on_limit=venue.prob_fill_on_limit,
        prob_slippage=venue.prob_slippage,
        seed=task.seed,
    )
    session = BacktestSession(instrument, bars, funding, model, mark_prices=marks, log_level="OFF")
    try:
        strategy = HedgeGridStrategy(
            HedgeGridConfig.create(
                params,
                instrument_id=str(instrument.id),
                bar_type=str(session.bar_type),
                venue_oms_type="HEDGING",
            )
        )
        strategy.prime(_warmup(m, first, params.warmup_bars))
        session.add_strategy(strategy)
        session.run(progress=False)
        if strategy.start_failure is not None:
            raise BacktestError(f"strategy did not start: {strategy.start_failure}")
        if strategy.degraded_reason is not None:
            raise BacktestError(f"strategy degraded: {strategy.degraded_reason}")
        results = session.results()  # read BEFORE the engine is disposed
    finally:
        session.dispose()
    return BacktestOutcome(
        start_ns=task.start_ns,
        end_ns=task.end_ns,
        starting_balance=results.starting_balance,
        fills=results.fills,
        equity_ts_ns=tuple(results.ts),
        equity=tuple(results.equity),
        orders=results.orders,
    )
