"""The default evaluator: one backtest of the real ``HedgeGridStrategy`` over a time window.

Runs inside a trial process (``hedgegridd.optimize.trial_process``). It uses the
backtest package's own wiring (``BacktestSession``: HEDGING + MARGIN venue,
``use_reduce_only=False``, fees/latency/fill model, funding settled from the
funding history, results read before the engine is disposed), so a trial's
fills and round trips are those ``hedgegrid backtest`` would report for the same
window and venue settings.

Data come from ``[data.synthetic]`` (the seeded generator) or ``[data.catalog]``
(a Parquet catalog), loaded once per trial process and cached (the process is
reused for many trials). Only bars whose minute starts inside
``[start_ns, end_ns)`` are traded; the bars before the window (up to the
strategy's ``warmup_bars``) prime its indicators exactly as the daemon's warmup
does live, so the out-of-sample window does not start cold and nothing at or
after the window's start is seen early.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import cast

import numpy as np
from nautilus_trader.model.data import Bar, BarType, FundingRateUpdate
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.instruments import Instrument

from hedgegridd.backtest.engine import bars_from_arrays
from hedgegridd.backtest.runner import with_fees
from hedgegridd.backtest.session import BacktestSession
from hedgegridd.data.catalog import load_funding, load_mark_prices, open_catalog
from hedgegridd.data.instruments import BTCUSDT_PERP, InstrumentSpec, to_nautilus_instrument
from hedgegridd.data.synthetic import MINUTE_MS, SyntheticSpec, generate
from hedgegridd.errors import BacktestError, DataError
from hedgegridd.optimize.config import CatalogSource, DataSection
from hedgegridd.optimize.metrics import BacktestOutcome
from hedgegridd.optimize.trial_process import BacktestTask
from hedgegridd.params import parse_strategy_params
from hedgegridd.strategy.config import HedgeGridConfig
from hedgegridd.strategy.strategy import HedgeGridStrategy
from hedgegridd.strategy.warmup import HistoryBar, WarmupData

_MS = 1_000_000
_HOUR_NS = 3_600_000_000_000


@dataclass(frozen=True, slots=True)
class Market:
    """The whole data span in Nautilus objects, bars sorted by their close time."""

    instrument: Instrument
    bars: list[Bar]
    bar_close_ns: list[int]
    funding: list[FundingRateUpdate]
    marks: list[tuple[int, Decimal]]


_CACHE: dict[DataSection, Market] = {}


def _floats(values: np.ndarray) -> Sequence[float]:
    return cast(Sequence[float], values)  # bars_from_arrays converts with np.asarray


def _synthetic_market(spec: SyntheticSpec, inst: InstrumentSpec = BTCUSDT_PERP) -> Market:
    data = generate(spec, inst)
    instrument = to_nautilus_instrument(inst)
    b = data.bars
    close_ns = (b["open_time"].to_numpy(dtype=np.int64) + MINUTE_MS) * _MS
    bars = bars_from_arrays(
        BarType.from_str(inst.bar_type()),
        instrument,
        _floats(b["open"].to_numpy(dtype=np.float64)),
        _floats(b["high"].to_numpy(dtype=np.float64)),
        _floats(b["low"].to_numpy(dtype=np.float64)),
        _floats(b["close"].to_numpy(dtype=np.float64)),
        _floats(b["volume"].to_numpy(dtype=np.float64)),
        cast(Sequence[int], close_ns),
    )
    iid = InstrumentId.from_str(inst.instrument_id)
    hours = spec.funding_interval_hours
    funding = [
        FundingRateUpdate(
            iid,
            Decimal(repr(float(rate))).normalize(),
            int(t) * _MS,
            int(t) * _MS,
            interval=hours * 60,
            next_funding_ns=int(t) * _MS + hours * _HOUR_NS,
        )
        for t, rate in zip(
            data.funding["funding_time"].to_numpy(dtype=np.int64),
            data.funding["funding_rate"].to_numpy(dtype=np.float64),
            strict=True,
        )
    ]
    m = data.mark_bars
    mark_ns = (m["open_time"].to_numpy(dtype=np.int64) + MINUTE_MS) * _MS
    marks = [
        (int(t), Decimal(repr(float(p))))
        for t, p in zip(mark_ns, m["close"].to_numpy(dtype=np.float64), strict=True)
    ]
    return Market(instrument, bars, close_ns.tolist(), funding, marks)


def _catalog_market(source: CatalogSource) -> Market:
    try:
        catalog = open_catalog(source.path)
        iid = InstrumentId.from_str(source.instrument_id)
        found = [i for i in catalog.instruments() if i.id == iid]
        if not found:
            raise BacktestError(f"instrument {source.instrument_id} not in catalog {source.path}")
        inst = found[0]
        start_ns = int(source.start.timestamp()) * 1_000_000_000
        end_ns = int(source.end.timestamp()) * 1_000_000_000
        bar_type = f"{source.instrument_id}-1-MINUTE-LAST-EXTERNAL"
        bars: list[Bar] = catalog.bars(bar_types=[bar_type], start=start_ns, end=end_ns)
        spec = _spec_like(source.instrument_id)
        funding = [u for u in load_funding(source.path, spec) if start_ns <= u.ts_event < end_ns]
        marks = [
            (m.ts_event, m.value.as_decimal())
            for m in load_mark_prices(source.path, spec)
            if start_ns < m.ts_event <= end_ns
        ]
    except DataError as exc:
        raise BacktestError(str(exc)) from exc
    bars.sort(key=lambda b: b.ts_event)
    return Market(inst, bars, [b.ts_event for b in bars], funding, marks)


def _spec_like(instrument_id: str) -> InstrumentSpec:
    """An InstrumentSpec whose instrument id matches (the catalog helpers key on it)."""
    symbol = instrument_id.split("-")[0]
    return BTCUSDT_PERP if symbol == BTCUSDT_PERP.symbol else replace(BTCUSDT_PERP, symbol=symbol)


def market_for(data: DataSection) -> Market:
    """The market of ``data``, loaded once per process (one cached at a time)."""
    cached = _CACHE.get(data)
    if cached is not None:
        return cached
    if data.catalog is not None:
        market = _catalog_market(data.catalog)
    else:
        assert data.synthetic is not None
        market = _synthetic_market(data.synthetic)
    _CACHE.clear()  # keep memory bounded: a trial process serves one study
    _CACHE[data] = market
    return market


def _warmup(market: Market, first: int, bars_needed: int) -> WarmupData:
    history = [
        HistoryBar(
            close_ns=b.ts_event,
            high=b.high.as_decimal(),
            low=b.low.as_decimal(),
            close=b.close.as_decimal(),
        )
        for b in market.bars[max(0, first - bars_needed) : first]
    ]
    return WarmupData(bars=history)


def run_backtest(task: BacktestTask) -> BacktestOutcome:
    """Backtest ``task.params`` over ``[task.start_ns, task.end_ns)``; plain results out."""
    params = parse_strategy_params(task.params)
    market = market_for(task.data)
    # A bar whose minute opens in [start, end) closes in (start, end].
    first = bisect.bisect_right(market.bar_close_ns, task.start_ns)
    last = bisect.bisect_right(market.bar_close_ns, task.end_ns)
    if first >= last:
        raise BacktestError("no bars in the trial window")
    venue = task.venue
    instrument = with_fees(market.instrument, venue.maker_fee, venue.taker_fee)
    funding = [u for u in market.funding if task.start_ns <= u.ts_event < task.end_ns]
    marks = [(t, p) for t, p in market.marks if task.start_ns < t <= task.end_ns]
    model = venue.venue_model(seed=task.seed)
    session = BacktestSession(
        instrument,
        market.bars[first:last],
        funding,
        model,
        mark_prices=marks,
        log_level="OFF",
    )
    try:
        strategy = HedgeGridStrategy(
            HedgeGridConfig.create(
                params,
                instrument_id=str(instrument.id),
                bar_type=str(session.bar_type),
                venue_oms_type="HEDGING",
            )
        )
        strategy.prime(_warmup(market, first, params.warmup_bars))
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


def prepare(task: BacktestTask) -> None:
    """Trial-process start hook: load the market before the first trial's clock starts."""
    market_for(task.data)


__all__ = ["Market", "market_for", "prepare", "run_backtest"]
