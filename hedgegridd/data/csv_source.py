"""Generic CSV files with a column mapping onto the canonical layouts.

``CsvMapping(kind=..., time_unit="ms", columns={"transact_time": "ts", "price": "px", ...})``
maps canonical names (keys) to the file's header names (values). Required keys:

- klines / mark_klines: open_time, open, high, low, close (+ volume for klines;
  close_time optional);
- agg_trades: transact_time, price, quantity (agg_trade_id optional: the file line
  number is used; is_buyer_maker optional: false);
- funding: funding_time, funding_rate (mark_price, interval_hours optional).

The file must have a header row; the timestamp unit is declared, never guessed.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator

from hedgegridd.data.schema import DataKind, TimeUnit
from hedgegridd.errors import ConfigError, DataError

REQUIRED: dict[DataKind, tuple[str, ...]] = {
    DataKind.KLINES: ("open_time", "open", "high", "low", "close", "volume"),
    DataKind.MARK_KLINES: ("open_time", "open", "high", "low", "close"),
    DataKind.AGG_TRADES: ("transact_time", "price", "quantity"),
    DataKind.FUNDING: ("funding_time", "funding_rate"),
}
OPTIONAL: dict[DataKind, tuple[str, ...]] = {
    DataKind.KLINES: ("close_time",),
    DataKind.MARK_KLINES: ("close_time", "volume"),
    DataKind.AGG_TRADES: ("agg_trade_id", "is_buyer_maker"),
    DataKind.FUNDING: ("mark_price", "interval_hours"),
}


class CsvMapping(BaseModel):
    """How a generic CSV maps onto one data kind. Frozen, validated once."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: DataKind
    time_unit: TimeUnit
    columns: dict[str, str] = Field(min_length=1)
    delimiter: str = Field(default=",", min_length=1, max_length=1)

    @model_validator(mode="after")
    def _check_columns(self) -> CsvMapping:
        allowed = set(REQUIRED[self.kind]) | set(OPTIONAL[self.kind])
        unknown = set(self.columns) - allowed
        if unknown:
            raise ValueError(
                f"columns: unknown canonical names {sorted(unknown)} for {self.kind.value}; "
                f"allowed: {sorted(allowed)}"
            )
        missing = [c for c in REQUIRED[self.kind] if c not in self.columns]
        if missing:
            raise ValueError(f"columns: {self.kind.value} needs a mapping for {missing}")
        return self


def parse_column_map(text: str) -> dict[str, str]:
    """``"transact_time=ts,price=px"`` -> ``{"transact_time": "ts", "price": "px"}``."""
    result: dict[str, str] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, sep, source = part.partition("=")
        if not sep or not name.strip() or not source.strip():
            raise ConfigError(f"--columns: expected canonical=source pairs, got {part!r}")
        result[name.strip()] = source.strip()
    return result


def read_mapped_csv(
    path: str | Path, mapping: CsvMapping, *, chunk_rows: int = 1_000_000
) -> Iterator[tuple[pd.DataFrame, int]]:
    """Yield ``(chunk in canonical layout, line number of its first row)``."""
    path = Path(path)
    rename = {src: canon for canon, src in mapping.columns.items()}
    try:
        header = pd.read_csv(path, nrows=0, sep=mapping.delimiter, encoding="utf-8-sig").columns
        absent = [src for src in rename if src not in header]
        if absent:
            raise DataError(f"{path}: header has no column(s) {absent} (has {list(header)})")
        reader = pd.read_csv(
            path,
            sep=mapping.delimiter,
            usecols=list(rename),
            chunksize=chunk_rows,
            engine="c",
            encoding="utf-8-sig",
            low_memory=False,
        )
        line = 2
        for chunk in reader:
            frame = chunk.rename(columns=rename)
            if mapping.kind is DataKind.AGG_TRADES:
                if "agg_trade_id" not in frame:
                    frame["agg_trade_id"] = np.arange(line, line + len(frame), dtype=np.int64)
                if "is_buyer_maker" not in frame:
                    frame["is_buyer_maker"] = False
            yield frame, line
            line += len(chunk)
    except (OSError, pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise DataError(f"{path}: cannot read CSV: {exc}") from exc
