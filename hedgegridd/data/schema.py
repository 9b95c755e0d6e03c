"""Canonical column layouts, data kinds and explicit timestamp units.

Every source (Binance archive, REST, generic CSV, synthetic) produces pandas
frames in these layouts; validation, gap reports and the catalog writer only
know these. Time columns hold integers in the unit the source DECLARES
(``TimeUnit``); ``to_ns`` converts them and refuses values that cannot be
timestamps in that unit (never guessing the unit from magnitude).
"""

from __future__ import annotations

import numpy as np

from hedgegridd.data.kinds import (
    DEFAULT_TIME_UNIT,
    TIME_UNITS,
    DataKind,
    TimestampUnitError,
    TimeUnit,
)
from hedgegridd.errors import DataError

__all__ = [
    "AGG_TRADE_COLUMNS",
    "COLUMNS",
    "DEFAULT_TIME_UNIT",
    "FUNDING_ARCHIVE_COLUMNS",
    "FUNDING_COLUMNS",
    "HOUR_NS",
    "KLINE_COLUMNS",
    "MAX_SANE_NS",
    "MINUTE_NS",
    "MIN_SANE_NS",
    "TIME_COLUMN",
    "TIME_UNITS",
    "DataKind",
    "TimeUnit",
    "TimestampUnitError",
    "ns_per",
    "outside_unit_range",
    "to_ns",
    "unit_error",
]

_NS_PER: dict[str, int] = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}

# Sane window for market timestamps: Binance futures launched in 2019; anything
# before 2017 or after 2100 means the declared unit does not match the data.
MIN_SANE_NS = 1_483_228_800 * 1_000_000_000  # 2017-01-01T00:00:00Z
MAX_SANE_NS = 4_102_444_800 * 1_000_000_000  # 2100-01-01T00:00:00Z

MINUTE_NS = 60 * 1_000_000_000
HOUR_NS = 60 * MINUTE_NS


# Canonical columns per kind (the Binance archive order).
KLINE_COLUMNS: tuple[str, ...] = (
    "open_time",
    "open",
    "high",
    "low",
    "close",
    "volume",
    "close_time",
    "quote_volume",
    "count",
    "taker_buy_volume",
    "taker_buy_quote_volume",
    "ignore",
)
AGG_TRADE_COLUMNS: tuple[str, ...] = (
    "agg_trade_id",
    "price",
    "quantity",
    "first_trade_id",
    "last_trade_id",
    "transact_time",
    "is_buyer_maker",
)
# Binance fundingRate archive: calc_time,funding_interval_hours,last_funding_rate.
FUNDING_ARCHIVE_COLUMNS: tuple[str, ...] = (
    "calc_time",
    "funding_interval_hours",
    "last_funding_rate",
)
FUNDING_COLUMNS: tuple[str, ...] = ("funding_time", "funding_rate", "mark_price")

COLUMNS: dict[DataKind, tuple[str, ...]] = {
    DataKind.KLINES: KLINE_COLUMNS,
    DataKind.MARK_KLINES: KLINE_COLUMNS,
    DataKind.AGG_TRADES: AGG_TRADE_COLUMNS,
    DataKind.FUNDING: FUNDING_COLUMNS,
}
TIME_COLUMN: dict[DataKind, str] = {
    DataKind.KLINES: "open_time",
    DataKind.MARK_KLINES: "open_time",
    DataKind.AGG_TRADES: "transact_time",
    DataKind.FUNDING: "funding_time",
}


def outside_unit_range(values: np.ndarray, unit: TimeUnit) -> np.ndarray:
    """Mask of integer timestamps that cannot be 2017..2100 instants in ``unit``."""
    factor = _NS_PER[unit]
    ints = np.asarray(values, dtype=np.int64)
    mask: np.ndarray = (ints < MIN_SANE_NS // factor) | (ints >= MAX_SANE_NS // factor)
    return mask


def unit_error(source: str, row: int, value: int, unit: TimeUnit) -> TimestampUnitError:
    """The error for a timestamp that does not fit its declared unit, naming file and row."""
    return TimestampUnitError(
        f"{source}: row {row}: timestamp {value} is not a {unit} timestamp between 2017 "
        f"and 2100 (declared unit {unit!r} does not match the data; pass the right --time-unit)"
    )


def to_ns(values: np.ndarray, unit: TimeUnit, *, source: str, first_row: int = 1) -> np.ndarray:
    """Convert integer timestamps in the declared ``unit`` to int64 nanoseconds.

    Raises ``DataError`` naming ``source`` and the file row (``first_row`` is the
    row number of ``values[0]``) of the first value outside 2017..2100 in that
    unit: such a value means the declared unit is wrong (or the row is corrupt).
    """
    if unit not in _NS_PER:
        raise DataError(f"{source}: unknown time unit {unit!r} (allowed: s, ms, us, ns)")
    ints = np.asarray(values, dtype=np.int64)
    bad = outside_unit_range(ints, unit)
    if bad.any():
        idx = int(np.flatnonzero(bad)[0])
        raise unit_error(source, first_row + idx, int(ints[idx]), unit)
    result: np.ndarray = ints * _NS_PER[unit]
    return result


def ns_per(unit: TimeUnit) -> int:
    """Nanoseconds in one ``unit``."""
    return _NS_PER[unit]
