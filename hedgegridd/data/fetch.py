"""``run_fetch``: Binance REST history -> validation -> catalog, resumable.

Pages are validated as they arrive (in a worker thread: no blocking work on the
event loop) and committed to the catalog every
``batch_rows`` rows, so an interrupted fetch keeps what it committed. With
``resume=True`` (the default) the fetch starts after the last timestamp already
in the catalog for that kind; in any case re-fetched rows are deduplicated by
the writer, so running the same fetch twice adds nothing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path

import anyio
import pandas as pd
import structlog
from nautilus_trader.persistence.catalog import ParquetDataCatalog

from hedgegridd.data.catalog_writer import DATA_CLASS, CatalogWriter
from hedgegridd.data.instruments import InstrumentSpec
from hedgegridd.data.pipeline import KindSummary
from hedgegridd.data.rest import BinanceHistoryClient
from hedgegridd.data.schema import MINUTE_NS, DataKind
from hedgegridd.data.validate import Validator

log = structlog.get_logger(__name__)


def resume_from_ms(catalog: str, kind: DataKind, instrument: InstrumentSpec) -> int | None:
    """First ms timestamp not yet covered for ``kind`` (None if the catalog has none)."""
    if not Path(catalog).is_dir():
        return None
    identifier = instrument.bar_type() if kind is DataKind.KLINES else instrument.instrument_id
    intervals = ParquetDataCatalog(str(Path(catalog).resolve())).get_intervals(
        DATA_CLASS[kind], identifier
    )
    if not intervals:
        return None
    last_ns = max(int(b) for _, b in intervals)
    if kind in (DataKind.KLINES, DataKind.MARK_KLINES):
        return last_ns // 1_000_000  # bar stamped at close = next bar's open
    return last_ns // 1_000_000 + 1


def _pages(
    client: BinanceHistoryClient, kind: DataKind, symbol: str, start_ms: int, end_ms: int
) -> AsyncIterator[pd.DataFrame]:
    if kind is DataKind.KLINES:
        return client.klines(symbol, start_ms, end_ms)
    if kind is DataKind.MARK_KLINES:
        return client.klines(symbol, start_ms, end_ms, mark=True)
    if kind is DataKind.AGG_TRADES:
        return client.agg_trades(symbol, start_ms, end_ms)
    return client.funding_rates(symbol, start_ms, end_ms)


class _BatchSink:
    """Synchronous side of a fetch: validate pages, stage them, commit every batch.

    Runs in a worker thread (``anyio.to_thread``) so parquet writes and commits never
    block the event loop the HTTP client runs on.
    """

    def __init__(
        self,
        kind: DataKind,
        catalog: str,
        instrument: InstrumentSpec,
        validator: Validator,
        batch_rows: int,
    ) -> None:
        self.kind, self.catalog, self.instrument = kind, catalog, instrument
        self.validator = validator
        self.batch_rows = batch_rows
        self.written = 0
        self.skipped = 0
        self._row = 1
        self._pending = 0
        self._writer = CatalogWriter(catalog, instrument)

    def add(self, page: pd.DataFrame) -> None:
        """Validate and stage one page; commit when a batch is full."""
        self._writer.write(self.kind, self.validator.process(page, self._row))
        self._row += len(page)
        self._pending += len(page)
        if self._pending >= self.batch_rows:
            self.validator.finish()
            tail = self._writer.detach_tail(self.kind)
            self._commit()
            self._writer = CatalogWriter(self.catalog, self.instrument)
            if tail is not None:
                self._writer.write(self.kind, tail)
            self._pending = 0

    def finish(self) -> None:
        """Check the reject threshold and commit the last batch."""
        self.validator.finish()
        self._commit()

    def abort(self) -> None:
        """Discard the batch in progress (committed batches stay)."""
        self._writer.abort()

    def _commit(self) -> None:
        self._writer.flush(self.kind)
        stats = self._writer.stats[self.kind]
        self.written += stats.rows_written
        self.skipped += stats.rows_skipped_existing
        self._writer.commit()


async def run_fetch(
    client: BinanceHistoryClient,
    *,
    kind: DataKind,
    catalog: str,
    instrument: InstrumentSpec,
    start_ms: int,
    end_ms: int,
    resume: bool = True,
    batch_rows: int = 200_000,
    max_reject_fraction: float = 0.001,
    on_rows: Callable[[int], object] | None = None,
) -> KindSummary:
    """Fetch ``kind`` for [start_ms, end_ms] into ``catalog``; returns the summary."""
    if resume:
        done = await anyio.to_thread.run_sync(resume_from_ms, catalog, kind, instrument)
        if done is not None and done > start_ms:
            log.info("data.fetch.resume", kind=kind.value, from_ms=done, requested_ms=start_ms)
            start_ms = done
    source = f"{client.config.base_url} {kind.value}"
    validator = Validator(
        kind,
        instrument,
        source=source,
        time_unit="ms",
        max_reject_fraction=max_reject_fraction,
        trade_gap_ns=5 * MINUTE_NS,
    )
    sink = await anyio.to_thread.run_sync(
        _BatchSink, kind, catalog, instrument, validator, batch_rows
    )
    try:
        if start_ms <= end_ms:
            async for page in _pages(client, kind, instrument.symbol, start_ms, end_ms):
                await anyio.to_thread.run_sync(sink.add, page)
                if on_rows is not None:
                    on_rows(len(page))
        await anyio.to_thread.run_sync(sink.finish)
    except BaseException:
        with anyio.CancelScope(shield=True):
            await anyio.to_thread.run_sync(sink.abort)
        raise
    rep = validator.report
    log.info(
        "data.fetch.done",
        kind=kind.value,
        rows_read=rep.rows_read,
        rows_written=sink.written,
        rows_skipped_existing=sink.skipped,
        rejected=rep.rejected,
        gaps=validator.gaps.report.gap_count,
    )
    return KindSummary(
        kind=kind,
        sources=[source],
        rows_read=rep.rows_read,
        rows_written=sink.written,
        rows_skipped_existing=sink.skipped,
        duplicates=rep.duplicates,
        rejected=rep.rejected,
        rejected_by_reason=dict(rep.rejected_by_reason),
        rejected_samples=list(rep.samples),
        gaps=validator.gaps.report,
    )
