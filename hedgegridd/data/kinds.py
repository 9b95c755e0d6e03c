"""Data kinds, timestamp units and the data-specific errors (stdlib only).

Kept free of numpy/pandas so ``hedgegrid --help`` (which imports every tool's CLI
module) stays fast; ``schema`` and ``validate`` re-export these names.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from hedgegridd.errors import DataError

TimeUnit = Literal["s", "ms", "us", "ns"]
TIME_UNITS: tuple[TimeUnit, ...] = ("s", "ms", "us", "ns")


class DataKind(StrEnum):
    """The four data types of the pipeline."""

    KLINES = "klines"
    MARK_KLINES = "mark_klines"
    AGG_TRADES = "agg_trades"
    FUNDING = "funding"


# Binance USD-M futures archives use ms for every kind (spot moved to us in 2025).
DEFAULT_TIME_UNIT: dict[DataKind, TimeUnit] = {kind: "ms" for kind in DataKind}


class TimestampUnitError(DataError):
    """A timestamp is not an instant in its declared unit (wrong --time-unit or corrupt)."""


class RejectThresholdError(DataError):
    """More rows were rejected than the allowed fraction; nothing was committed."""
