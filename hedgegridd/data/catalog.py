"""Nautilus ParquetDataCatalog: one-call writers and the readers backtests use.

Write synthetic data (tests, demo)::

    from hedgegridd.data.catalog import write_synthetic_catalog
    from hedgegridd.data.synthetic import SyntheticSpec
    summary = write_synthetic_catalog(tmp_path / "catalog", SyntheticSpec(seed=1, minutes=1440))

Read it back (what a backtest needs)::

    from hedgegridd.data.catalog import load_bars, load_funding
    bars = load_bars(path)        # list[Bar], bar type BTCUSDT-PERP.BINANCE-1-MINUTE-LAST-EXTERNAL
    funding = load_funding(path)  # list[FundingRateUpdate] (read without chunking)

or point a ``BacktestDataConfig`` at the catalog path with ``data_cls=Bar`` and
``bar_types=[BTCUSDT_PERP.bar_type()]``. The instrument is in the catalog too
(``open_catalog(path).instruments()``).

Time stamps: a bar's ``ts_event = ts_init = open_time + 1 minute`` (its close).
Binance reports ``close_time = open_time + 59_999 ms``; we stamp at the next whole
minute so a bar is only seen once its minute is over (no look-ahead) and bar times
stay on the minute grid. Trades, mark prices and funding are stamped at their own
event time. Mark-price updates are the mark klines' closes (also at bar close).
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pandas as pd
from nautilus_trader.model.data import Bar, FundingRateUpdate, MarkPriceUpdate, TradeTick
from nautilus_trader.persistence.catalog import ParquetDataCatalog

from hedgegridd.data.catalog_writer import CatalogWriter, WriteStats
from hedgegridd.data.instruments import BTCUSDT_PERP, InstrumentSpec
from hedgegridd.data.pipeline import ImportSummary, import_chunks, summarize
from hedgegridd.data.schema import DataKind
from hedgegridd.data.synthetic import SyntheticData, SyntheticSpec, generate
from hedgegridd.data.validate import Validator
from hedgegridd.errors import DataError

__all__ = [
    "CatalogWriter",
    "WriteStats",
    "load_bars",
    "load_funding",
    "load_mark_prices",
    "load_trades",
    "open_catalog",
    "synthetic_frames",
    "write_synthetic_catalog",
]


def open_catalog(path: str | Path) -> ParquetDataCatalog:
    """Open an existing catalog (``DataError`` if the directory does not exist)."""
    root = Path(path)
    if not root.is_dir():
        raise DataError(f"catalog: {root} is not a directory")
    return ParquetDataCatalog(str(root.resolve()))


def load_bars(
    path: str | Path,
    instrument: InstrumentSpec = BTCUSDT_PERP,
    *,
    start_ns: int | None = None,
    end_ns: int | None = None,
) -> list[Bar]:
    """1-minute bars of ``instrument`` (stamped at close), optionally within [start, end]."""
    bars: list[Bar] = open_catalog(path).bars(
        bar_types=[instrument.bar_type()], start=start_ns, end=end_ns
    )
    return bars


def load_trades(path: str | Path, instrument: InstrumentSpec = BTCUSDT_PERP) -> list[TradeTick]:
    """Trade ticks (one per aggTrade) of ``instrument``."""
    ticks: list[TradeTick] = open_catalog(path).trade_ticks(
        instrument_ids=[instrument.instrument_id]
    )
    return ticks


def load_mark_prices(
    path: str | Path, instrument: InstrumentSpec = BTCUSDT_PERP
) -> list[MarkPriceUpdate]:
    """Mark-price updates (closes of the mark klines) of ``instrument``."""
    marks: list[MarkPriceUpdate] = open_catalog(path).query(
        MarkPriceUpdate, identifiers=[instrument.instrument_id]
    )
    return marks


def load_funding(
    path: str | Path, instrument: InstrumentSpec = BTCUSDT_PERP
) -> list[FundingRateUpdate]:
    """Funding rate updates of ``instrument`` with ``rate`` as a Decimal.

    Read without chunking (Nautilus 1.231 cannot stream this type). Nautilus's
    catalog deserializes ``rate`` as a *string*; this helper rebuilds the updates
    with ``Decimal`` rates. Code reading the catalog another way (a BacktestNode)
    should do ``Decimal(str(update.rate))``.
    """
    raw = open_catalog(path).funding_rates(instrument_ids=[instrument.instrument_id])
    return [
        FundingRateUpdate(
            u.instrument_id,
            Decimal(str(u.rate)),
            u.ts_event,
            u.ts_init,
            interval=u.interval,
            next_funding_ns=u.next_funding_ns,
        )
        for u in raw
    ]


def synthetic_frames(data: SyntheticData) -> dict[DataKind, pd.DataFrame]:
    """The synthetic frames in the pipeline's canonical layouts (times in ms)."""
    funding = data.funding.assign(interval_hours=data.spec.funding_interval_hours)
    return {
        DataKind.KLINES: data.bars,
        DataKind.MARK_KLINES: data.mark_bars,
        DataKind.AGG_TRADES: data.trades,
        DataKind.FUNDING: funding,
    }


def write_synthetic_catalog(
    path: str | Path,
    spec: SyntheticSpec,
    instrument: InstrumentSpec = BTCUSDT_PERP,
    *,
    include_trades: bool = True,
    chunk_rows: int = 1_000_000,
) -> ImportSummary:
    """Generate ``spec`` and write bars, mark prices, funding (and trades) into ``path``.

    Goes through the same validation as real imports; idempotent (a second call
    with the same spec writes nothing new).
    """
    data = generate(spec, instrument)
    summary = ImportSummary(str(Path(path)))
    source = f"synthetic(seed={spec.seed})"
    with CatalogWriter(path, instrument) as writer:
        for kind, frame in synthetic_frames(data).items():
            if kind is DataKind.AGG_TRADES and not include_trades:
                continue
            validator = Validator(kind, instrument, source=source, time_unit="ms")
            chunks = (
                (frame.iloc[i : i + chunk_rows], i + 1) for i in range(0, len(frame), chunk_rows)
            )
            import_chunks(writer, validator, chunks)
            summary.kinds.append(summarize(writer, validator, [source]))
    return summary
