"""``inspect_catalog(path)``: what a catalog holds per data kind, with gap reports.

Reads only file metadata (row counts) and the ``ts_init`` column of each file,
so inspecting years of trades stays cheap in memory and time.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from nautilus_trader.persistence.funcs import class_to_filename

from hedgegridd.data.catalog import open_catalog
from hedgegridd.data.catalog_writer import DATA_CLASS
from hedgegridd.data.gaps import GapReport, GapTracker
from hedgegridd.data.pipeline import iso
from hedgegridd.data.schema import DataKind
from hedgegridd.errors import DataError


@dataclass
class SeriesInfo:
    """One stored series (data kind + identifier)."""

    kind: DataKind
    identifier: str
    files: int
    rows: int
    gaps: GapReport

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready view."""
        g = self.gaps
        return {
            "kind": self.kind.value,
            "identifier": self.identifier,
            "files": self.files,
            "rows": self.rows,
            "first": iso(g.first_ns),
            "last": iso(g.last_ns),
            "gap_count": g.gap_count,
            "missing_total": g.missing_total,
            "gaps": [
                {"after": iso(x.after_ns), "before": iso(x.before_ns), "missing": x.missing}
                for x in g.gaps[:20]
            ],
        }


def inspect_catalog(path: str | Path) -> tuple[list[str], list[SeriesInfo]]:
    """Instrument ids and per-series info of the catalog at ``path``."""
    catalog = open_catalog(path)
    instruments = sorted(str(i.id) for i in catalog.instruments())
    root = Path(catalog.path)
    series: list[SeriesInfo] = []
    for kind, cls in DATA_CLASS.items():
        base = root / "data" / class_to_filename(cls)
        if not base.is_dir():
            continue
        for ident_dir in sorted(p for p in base.iterdir() if p.is_dir()):
            files = sorted(ident_dir.glob("*.parquet"))
            tracker = GapTracker(kind)
            rows = 0
            try:
                tables = [pq.read_table(f, columns=["ts_init"]) for f in files]
            except OSError as exc:
                raise DataError(f"catalog: cannot read {ident_dir}: {exc}") from exc
            parts = [t.column("ts_init").to_numpy().astype(np.int64) for t in tables]
            rows = sum(len(p) for p in parts)
            if parts:
                ts = np.sort(np.concatenate(parts))
                frame = pd.DataFrame({"ts_ns": ts})
                if kind is DataKind.FUNDING:
                    hours = pq.read_table(files[0], columns=["interval"]).column("interval")
                    first = hours[0].as_py() if len(hours) else None
                    frame["interval_hours"] = int(first // 60) if first else 8
                tracker.update(frame)
            series.append(SeriesInfo(kind, ident_dir.name, len(files), rows, tracker.report))
    return instruments, series
