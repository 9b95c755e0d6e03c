"""Import orchestration: chunks -> Validator -> CatalogWriter, with a summary.

``import_chunks(writer, validator, chunks)`` feeds ``(frame, first_row)`` chunks of
one kind through validation into the (staged) writer and returns a
``KindSummary``; the threshold check runs at the end, so the caller's
``with CatalogWriter(...)`` block aborts the whole import if it raises.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from hedgegridd.data.catalog_writer import CatalogWriter
from hedgegridd.data.gaps import GapReport
from hedgegridd.data.schema import DataKind
from hedgegridd.data.validate import Validator


def iso(ns: int | None) -> str | None:
    """ISO-8601 UTC of a ns timestamp (None stays None)."""
    if ns is None:
        return None
    return datetime.fromtimestamp(ns / 1e9, tz=UTC).isoformat().replace("+00:00", "Z")


@dataclass
class KindSummary:
    """What one import did for one data kind."""

    kind: DataKind
    sources: list[str]
    rows_read: int
    rows_written: int
    rows_skipped_existing: int
    duplicates: int
    rejected: int
    rejected_by_reason: dict[str, int]
    rejected_samples: list[tuple[int, str]]
    gaps: GapReport

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view (times as ISO strings)."""
        g = self.gaps
        return {
            "kind": self.kind.value,
            "sources": self.sources,
            "rows_read": self.rows_read,
            "rows_written": self.rows_written,
            "rows_skipped_existing": self.rows_skipped_existing,
            "duplicates": self.duplicates,
            "rejected": self.rejected,
            "rejected_by_reason": self.rejected_by_reason,
            "rejected_samples": [{"row": r, "reason": why} for r, why in self.rejected_samples],
            "first": iso(g.first_ns),
            "last": iso(g.last_ns),
            "gap_count": g.gap_count,
            "missing_total": g.missing_total,
            "gaps": [
                {"after": iso(x.after_ns), "before": iso(x.before_ns), "missing": x.missing}
                for x in g.gaps[:20]
            ],
        }


@dataclass
class ImportSummary:
    """Summary of a whole import (one entry per kind)."""

    catalog: str
    kinds: list[KindSummary] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view."""
        return {"catalog": self.catalog, "kinds": [k.to_dict() for k in self.kinds]}


def import_chunks(
    writer: CatalogWriter,
    validator: Validator,
    chunks: Iterable[tuple[pd.DataFrame, int]],
    *,
    on_rows: Callable[[int], object] | None = None,
) -> None:
    """Validate and stage every chunk (``(frame, file row of its first line)``)."""
    for frame, first_row in chunks:
        clean = validator.process(frame, first_row)
        writer.write(validator.kind, clean)
        if on_rows is not None:
            on_rows(len(frame))


def summarize(writer: CatalogWriter, validator: Validator, sources: list[str]) -> KindSummary:
    """Check the reject threshold (raises) and build the kind's summary."""
    rep = validator.finish()
    writer.flush(validator.kind)
    stats = writer.stats[validator.kind]
    return KindSummary(
        kind=validator.kind,
        sources=sources,
        rows_read=rep.rows_read,
        rows_written=stats.rows_written,
        rows_skipped_existing=stats.rows_skipped_existing,
        duplicates=rep.duplicates,
        rejected=rep.rejected,
        rejected_by_reason=dict(rep.rejected_by_reason),
        rejected_samples=list(rep.samples),
        gaps=validator.gaps.report,
    )
