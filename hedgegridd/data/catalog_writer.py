"""Staged, idempotent writes of normalized frames into a Nautilus ParquetDataCatalog.

Layout written (what ``ParquetDataCatalog`` expects):

- ``data/bar/<instrument>-1-MINUTE-LAST-EXTERNAL/<start>_<end>.parquet`` (klines)
- ``data/trade_tick/<instrument>/...`` (aggTrades; trade_id = agg trade id)
- ``data/mark_price_update/<instrument>/...`` (mark klines: the close, at the close)
- ``data/funding_rate_update/<instrument>/...``
- ``data/crypto_perpetual/<instrument>/...`` (the instrument definition, once)

Idempotence: each file covers a closed interval [first ts, last ts]. Rows whose
timestamp falls inside an interval already in the catalog (or written earlier in
this import) are skipped and counted, so re-importing a range adds nothing and
intervals stay disjoint (Nautilus refuses overlapping files). Rows sharing the last
timestamp of a chunk are carried into the next chunk so one instant never spans
two files (each chunk is held until the next one arrives or ``flush``).

Atomicity: files go to ``<catalog>/.staging-<id>/`` first; ``commit()`` moves them
into place, ``abort()`` (or an exception inside ``with``) deletes them. An import
that fails validation therefore leaves the catalog as it was.
"""

from __future__ import annotations

import itertools
import os
import shutil
import uuid
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import structlog
from nautilus_trader.model.data import Bar, FundingRateUpdate, MarkPriceUpdate, TradeTick
from nautilus_trader.model.identifiers import InstrumentId
from nautilus_trader.persistence.catalog import ParquetDataCatalog
from nautilus_trader.persistence.catalog.parquet import _timestamps_to_filename
from nautilus_trader.persistence.funcs import class_to_filename, urisafe_identifier

from hedgegridd.data import arrow_encode
from hedgegridd.data.columns import Columns
from hedgegridd.data.instruments import InstrumentSpec, to_nautilus_instrument
from hedgegridd.data.schema import DataKind
from hedgegridd.errors import DataError

log = structlog.get_logger(__name__)

ROW_GROUP_SIZE = 256_000
MAX_IN_FLIGHT = 2
DATA_CLASS: dict[DataKind, type] = {
    DataKind.KLINES: Bar,
    DataKind.MARK_KLINES: MarkPriceUpdate,
    DataKind.AGG_TRADES: TradeTick,
    DataKind.FUNDING: FundingRateUpdate,
}


@dataclass
class WriteStats:
    """Rows written, rows skipped because already in the catalog, files written."""

    rows_written: int = 0
    rows_skipped_existing: int = 0
    files: int = 0


class CatalogWriter:
    """Write normalized frames of one instrument into a catalog, staged until ``commit``."""

    def __init__(
        self, path: str | Path, instrument: InstrumentSpec, *, mark_precision: int | None = None
    ) -> None:
        self.root = Path(path).resolve()
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise DataError(f"catalog: cannot create {self.root}: {exc}") from exc
        self.instrument = instrument
        self.mark_precision = (
            instrument.price_precision if mark_precision is None else mark_precision
        )
        self.catalog = ParquetDataCatalog(str(self.root))
        self.staging = self.root / f".staging-{uuid.uuid4().hex}"
        self.stats: dict[DataKind, WriteStats] = {kind: WriteStats() for kind in DataKind}
        self._intervals: dict[DataKind, list[tuple[int, int]]] = {}
        self._carry: dict[DataKind, Columns] = {}
        self._staged: list[Path] = []
        # Encoding + parquet writing run on one worker thread (pyarrow and numpy release
        # the GIL), overlapping with validation of the next chunk.
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="catalog-writer")
        self._pending: deque[Future[None]] = deque()
        self._closed = False

    def __enter__(self) -> CatalogWriter:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.abort()

    def identifier(self, kind: DataKind) -> str:
        """Catalog identifier: the bar type for klines, else the instrument id."""
        if kind is DataKind.KLINES:
            return self.instrument.bar_type()
        return self.instrument.instrument_id

    def write(self, kind: DataKind, frame: Columns) -> None:
        """Stage a normalized, time-ordered frame (see module docstring for dedupe rules)."""
        if self._closed:
            raise DataError("catalog writer already committed or aborted")
        if len(frame) == 0:
            return
        held = self._carry.pop(kind, None)
        if held is not None:
            held_ts = held["ts_ns"]
            if int(frame["ts_ns"][0]) == int(held_ts[-1]):
                # The instant spans the chunk edge: keep its rows together in the next file.
                tail = int(np.searchsorted(held_ts, held_ts[-1], side="left"))
                frame = Columns.concat([held.take(slice(tail, None)), frame])
                held = held.take(slice(0, tail))
            if len(held):
                self._write_rows(kind, held)
        self._carry[kind] = frame

    def detach_tail(self, kind: DataKind) -> Columns | None:
        """Stage held rows before their last instant; return the rows AT that instant.

        For committing in batches while a source is still streaming: hand the returned
        rows to the next writer, so an instant that continues in the next page is never
        split across two files (the second half would be skipped as already stored).
        """
        held = self._carry.pop(kind, None)
        if held is None or len(held) == 0:
            return None
        ts = held["ts_ns"]
        tail = int(np.searchsorted(ts, ts[-1], side="left"))
        if tail:
            self._write_rows(kind, held.take(slice(0, tail)))
        return held.take(slice(tail, None))

    def flush(self, kind: DataKind) -> None:
        """Stage the rows carried over for ``kind`` (call once its source is exhausted)."""
        rows = self._carry.pop(kind, None)
        if rows is not None and len(rows):
            self._write_rows(kind, rows)

    def commit(self) -> dict[DataKind, WriteStats]:
        """Flush carried rows, add the instrument if missing, move staged files into place."""
        for kind in list(self._carry):
            self.flush(kind)
        self._closed = True
        try:
            self._drain()
            self._ensure_instrument()
            for staged in self._staged:
                dest = self.root / staged.relative_to(self.staging)
                dest.parent.mkdir(parents=True, exist_ok=True)
                os.replace(staged, dest)
        except OSError as exc:
            raise DataError(f"catalog: cannot commit files into {self.root}: {exc}") from exc
        finally:
            shutil.rmtree(self.staging, ignore_errors=True)
        log.info(
            "data.catalog.committed",
            path=str(self.root),
            files=len(self._staged),
            rows={k.value: s.rows_written for k, s in self.stats.items() if s.rows_written},
        )
        return self.stats

    def abort(self) -> None:
        """Drop everything staged; the catalog is left as it was."""
        self._closed = True
        self._carry.clear()
        try:
            self._drain()
        except DataError as exc:
            log.warning("data.catalog.abort_write_failed", error=str(exc))
        shutil.rmtree(self.staging, ignore_errors=True)
        log.info("data.catalog.aborted", path=str(self.root), files=len(self._staged))

    # -- internals ----------------------------------------------------------

    def _ensure_instrument(self) -> None:
        iid = self.instrument.instrument_id
        if not self.catalog.instruments(instrument_ids=[iid]):
            self.catalog.write_data([to_nautilus_instrument(self.instrument)])

    def _existing(self, kind: DataKind) -> list[tuple[int, int]]:
        if kind not in self._intervals:
            found = self.catalog.get_intervals(DATA_CLASS[kind], self.identifier(kind))
            self._intervals[kind] = sorted((int(a), int(b)) for a, b in found)
        return self._intervals[kind]

    def _write_rows(self, kind: DataKind, frame: Columns) -> None:
        stats = self.stats[kind]
        intervals = self._existing(kind)
        ts = np.asarray(frame["ts_ns"], dtype=np.int64)
        if intervals:
            starts = np.array([a for a, _ in intervals], dtype=np.int64)
            ends = np.array([b for _, b in intervals], dtype=np.int64)
            slot = np.searchsorted(starts, ts, side="right")
            inside = (slot > 0) & (ts <= ends[np.maximum(slot - 1, 0)])
            stats.rows_skipped_existing += int(inside.sum())
            keep = ~inside
            frame, ts, slot = frame.take(keep), ts[keep], slot[keep]
            cuts = (np.flatnonzero(np.diff(slot)) + 1).tolist()
        else:
            cuts = []
        bounds = [0, *cuts, len(frame)]
        for lo, hi in itertools.pairwise(bounds):
            if hi > lo:
                self._write_file(kind, frame.take(slice(lo, hi)), int(ts[lo]), int(ts[hi - 1]))

    def _table(self, kind: DataKind, frame: Columns) -> pa.Table:
        spec = self.instrument
        iid = spec.instrument_id
        if kind is DataKind.KLINES:
            return arrow_encode.bars_table(
                frame, spec.bar_type(), spec.price_precision, spec.size_precision
            )
        if kind is DataKind.AGG_TRADES:
            return arrow_encode.trades_table(frame, iid, spec.price_precision, spec.size_precision)
        if kind is DataKind.MARK_KLINES:
            return arrow_encode.mark_prices_table(frame, iid, self.mark_precision)
        return arrow_encode.funding_table(frame, iid)

    def _write_file(self, kind: DataKind, frame: Columns, start: int, end: int) -> None:
        """Encode and write one file on the background thread (at most 2 in flight)."""
        directory = (
            self.staging
            / "data"
            / class_to_filename(DATA_CLASS[kind])
            / urisafe_identifier(self.identifier(kind))
        )
        path = directory / _timestamps_to_filename(start, end)
        while len(self._pending) >= MAX_IN_FLIGHT:
            self._pending.popleft().result()
        self._pending.append(self._pool.submit(self._encode_and_write, kind, frame, path))
        self._staged.append(path)
        self._intervals[kind] = sorted([*self._existing(kind), (start, end)])
        stats = self.stats[kind]
        stats.rows_written += len(frame)
        stats.files += 1

    def _encode_and_write(self, kind: DataKind, frame: Columns, path: Path) -> None:
        table = self._table(kind, frame)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(table, path, row_group_size=ROW_GROUP_SIZE, use_dictionary=False)
        except OSError as exc:
            raise DataError(f"catalog: cannot write {path}: {exc}") from exc

    def _drain(self) -> None:
        """Wait for every background write; the first failure is raised."""
        try:
            while self._pending:
                self._pending.popleft().result()
        finally:
            self._pool.shutdown(wait=True, cancel_futures=True)


def instrument_id_of(spec: InstrumentSpec) -> InstrumentId:
    """Nautilus ``InstrumentId`` of ``spec``."""
    return InstrumentId.from_str(spec.instrument_id)
