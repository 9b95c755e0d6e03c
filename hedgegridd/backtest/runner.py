"""``run_backtest(config)``: catalog -> engine -> HedgeGridStrategy -> report.

Order of operations (each one a guarantee):

1. the catalog exists, or is generated from ``[backtest.synthetic]`` (so the
   shipped example runs on data the project makes itself);
2. bars, funding rates and mark prices are read for ``[start, end)``;
3. the venue is HEDGING + MARGIN, ``use_reduce_only=False``, fees from the config
   (the instrument is rebuilt with them), latency and fill model from the config;
4. funding is settled from the funding history by ``FundingSettlementModule``;
5. results are copied out of the engine, THEN the engine is disposed;
6. ``report.json`` and ``report.html`` are written to the output folder.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import structlog
from nautilus_trader.model.data import FundingRateUpdate, MarkPriceUpdate
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.model.instruments import CryptoPerpetual, Instrument

from hedgegridd.backtest.config import BacktestConfig
from hedgegridd.backtest.html import write_html
from hedgegridd.backtest.report import compute_metrics, run_record, write_json
from hedgegridd.backtest.results import BacktestResults
from hedgegridd.backtest.session import BacktestSession
from hedgegridd.data.catalog import open_catalog, write_synthetic_catalog
from hedgegridd.data.synthetic import SyntheticSpec
from hedgegridd.errors import BacktestError, DataError
from hedgegridd.strategy.config import HedgeGridConfig
from hedgegridd.strategy.handle import StrategySnapshot
from hedgegridd.strategy.strategy import HedgeGridStrategy

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class BacktestOutcome:
    """What a run produced: metrics, the plain results, the strategy's last snapshot, files."""

    metrics: dict[str, Any]
    results: BacktestResults
    snapshot: StrategySnapshot
    report_json: Path | None
    report_html: Path | None


def ensure_catalog(cfg: BacktestConfig) -> None:
    """Generate the synthetic catalog when it is missing and ``[backtest.synthetic]`` is set."""
    if cfg.catalog.is_dir() and any(cfg.catalog.iterdir()):
        return
    if cfg.synthetic is None:
        raise BacktestError(
            f"catalog {cfg.catalog} does not exist; import data or set [backtest.synthetic]"
        )
    syn = cfg.synthetic
    spec = SyntheticSpec(
        seed=syn.seed,
        start=cfg.start,
        minutes=syn.minutes,
        start_price=syn.start_price,
        volatility=syn.volatility,
    )
    log.info("backtest.generating_catalog", path=str(cfg.catalog), minutes=syn.minutes)
    write_synthetic_catalog(cfg.catalog, spec, include_trades=False)


def with_fees(instrument: Instrument, maker: Decimal, taker: Decimal) -> Instrument:
    """The instrument with the configured maker/taker fees (the fee model reads them)."""
    if not isinstance(instrument, CryptoPerpetual):
        raise BacktestError(f"{instrument.id} is not a perpetual: {type(instrument).__name__}")
    doc = CryptoPerpetual.to_dict(instrument)
    doc["maker_fee"] = str(maker)
    doc["taker_fee"] = str(taker)
    rebuilt: Instrument = CryptoPerpetual.from_dict(doc)
    return rebuilt


def _load(cfg: BacktestConfig) -> tuple[Instrument, list[Any], list[Any], list[Any]]:
    try:
        catalog = open_catalog(cfg.catalog)
    except DataError as exc:
        raise BacktestError(str(exc)) from exc
    iid = InstrumentId.from_str(cfg.instrument_id)
    instruments = [i for i in catalog.instruments() if i.id == iid]
    if not instruments:
        raise BacktestError(f"instrument {cfg.instrument_id} not in catalog {cfg.catalog}")
    bar_type = f"{cfg.instrument_id}-1-MINUTE-LAST-EXTERNAL"
    end = cfg.end_ns - 1  # end is exclusive
    bars = catalog.bars(bar_types=[bar_type], start=cfg.start_ns, end=end)
    raw_funding = catalog.funding_rates(instrument_ids=[cfg.instrument_id])
    funding = [
        FundingRateUpdate(
            u.instrument_id,
            Decimal(str(u.rate)),
            u.ts_event,
            u.ts_init,
            interval=u.interval,
            next_funding_ns=u.next_funding_ns,
        )
        for u in raw_funding
        if cfg.start_ns <= u.ts_event <= end
    ]
    marks = [
        (m.ts_event, m.value.as_decimal())
        for m in catalog.query(MarkPriceUpdate, identifiers=[cfg.instrument_id])
        if cfg.start_ns <= m.ts_event <= end
    ]
    return instruments[0], bars, funding, marks


def run_backtest(
    cfg: BacktestConfig, *, out_dir: Path | None = None, progress: bool = False
) -> BacktestOutcome:
    """Run one backtest and write its report (``out_dir`` overrides ``cfg.out_dir``)."""
    ensure_catalog(cfg)
    instrument, bars, funding, marks = _load(cfg)
    if not bars:
        raise BacktestError(
            f"no bars for {cfg.instrument_id} in [{cfg.start.isoformat()}, {cfg.end.isoformat()})"
        )
    venue = cfg.venue
    instrument = with_fees(instrument, venue.maker_fee, venue.taker_fee)
    model = venue.venue_model(seed=venue.seed)
    session = BacktestSession(
        instrument, bars, funding, model, mark_prices=marks, log_level=cfg.log_level
    )
    try:
        strategy = HedgeGridStrategy(
            HedgeGridConfig.create(
                cfg.strategy,
                instrument_id=cfg.instrument_id,
                bar_type=str(session.bar_type),
                venue_oms_type="HEDGING",
            )
        )
        session.add_strategy(strategy)
        session.run(progress=progress, chunk_minutes=cfg.chunk_minutes)
        if strategy.start_failure is not None:
            raise BacktestError(f"strategy did not start: {strategy.start_failure}")
        results = session.results()  # read BEFORE the engine is disposed
        snapshot = strategy.snapshot()
    finally:
        session.dispose()
    metrics = compute_metrics(results)
    metrics["strategy"] = {
        "realized_pnl": str(snapshot.realized_pnl.quantize(Decimal("0.0001"))),
        "circuit_breaker_trips": snapshot.circuit_breaker_trips,
        "bar_gaps": snapshot.bar_gaps,
        "rejects_by_reason": dict(snapshot.rejects_by_reason),
        "final_state": snapshot.state.value,
        "degraded": strategy.degraded_reason,
    }
    metrics["run"] = run_record(
        params=cfg.strategy.model_dump(mode="json"),
        catalog=cfg.catalog,
        instrument_id=cfg.instrument_id,
        start=cfg.start,
        end=cfg.end,
        bars=len(bars),
    )
    target = out_dir or cfg.out_dir
    target.mkdir(parents=True, exist_ok=True)
    json_path = write_json(metrics, target)
    html_path = write_html(results, metrics, target)
    log.info("backtest.done", out=str(target), fills=metrics["fills"], net_pnl=metrics["net_pnl"])
    return BacktestOutcome(metrics, results, snapshot, json_path, html_path)
