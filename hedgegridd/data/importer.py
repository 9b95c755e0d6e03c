"""``run_import``: files (Binance archives or mapped CSV) -> validated -> catalog.

One call imports one data kind from many files (sorted by name, which is time
order for Binance's ``SYMBOL-KIND-YYYY-MM[-DD]`` names) in a single staged
catalog transaction: if any file has a unit mismatch, is unreadable, or the
rejected rows exceed the threshold, nothing is written.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import structlog
from tqdm import tqdm

from hedgegridd.data.archive import read_archive
from hedgegridd.data.catalog_writer import CatalogWriter
from hedgegridd.data.csv_source import CsvMapping, read_mapped_csv
from hedgegridd.data.instruments import InstrumentSpec
from hedgegridd.data.pipeline import ImportSummary, import_chunks, summarize
from hedgegridd.data.schema import DataKind, TimeUnit
from hedgegridd.data.validate import Validator
from hedgegridd.errors import DataError

log = structlog.get_logger(__name__)

DATA_SUFFIXES = (".zip", ".csv")


def collect_files(paths: Iterable[str | Path]) -> list[Path]:
    """Expand directories to their .zip/.csv files; sorted by name; DataError if none."""
    files: list[Path] = []
    for raw in paths:
        p = Path(raw)
        if p.is_dir():
            files.extend(f for f in p.iterdir() if f.suffix.lower() in DATA_SUFFIXES)
        elif p.is_file():
            files.append(p)
        else:
            raise DataError(f"{p}: no such file or directory")
    if not files:
        raise DataError("no .zip or .csv files to import")
    return sorted(files, key=lambda f: f.name)


def progress_bar(total: int | None, desc: str, *, enabled: bool) -> Any:
    """A rows progress bar, shown only when asked and stderr is a terminal."""
    return tqdm(
        total=total,
        desc=desc,
        unit="rows",
        unit_scale=True,
        disable=not (enabled and sys.stderr.isatty()),
        leave=False,
    )


def run_import(
    paths: Iterable[str | Path],
    *,
    kind: DataKind,
    catalog: str | Path,
    instrument: InstrumentSpec,
    time_unit: TimeUnit,
    mapping: CsvMapping | None = None,
    max_reject_fraction: float = 0.001,
    chunk_rows: int = 1_000_000,
    mark_precision: int | None = None,
    progress: bool = False,
) -> ImportSummary:
    """Import ``paths`` of one ``kind``; raises ``DataError`` (and writes nothing) on failure."""
    files = collect_files(paths)
    if mapping is not None and mapping.kind is not kind:
        raise DataError(f"column mapping is for {mapping.kind.value}, not {kind.value}")
    summary = ImportSummary(str(catalog))
    validator = Validator(
        kind,
        instrument,
        source=str(files[0]),
        time_unit=mapping.time_unit if mapping else time_unit,
        max_reject_fraction=max_reject_fraction,
    )
    with (
        CatalogWriter(catalog, instrument, mark_precision=mark_precision) as writer,
        progress_bar(None, f"import {kind.value}", enabled=progress) as bar,
    ):

        def chunks() -> Iterator[tuple[pd.DataFrame, int]]:
            for f in files:
                validator.source = str(f)
                if mapping is None:
                    yield from read_archive(f, kind, chunk_rows=chunk_rows)
                else:
                    yield from read_mapped_csv(f, mapping, chunk_rows=chunk_rows)

        import_chunks(writer, validator, chunks(), on_rows=bar.update)
        kind_summary = summarize(writer, validator, [str(f) for f in files])
        summary.kinds.append(kind_summary)
    log.info(
        "data.import.done",
        kind=kind.value,
        files=len(files),
        rows_read=kind_summary.rows_read,
        rows_written=kind_summary.rows_written,
        rows_skipped_existing=kind_summary.rows_skipped_existing,
        rejected=kind_summary.rejected,
        gaps=kind_summary.gaps.gap_count,
    )
    return summary
