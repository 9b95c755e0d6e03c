"""Normalized frames -> Arrow tables in Nautilus's own catalog schemas, vectorized.

Building one Python object per trade and letting Nautilus serialize them runs at
~170k rows/s; encoding the columns directly is an order of magnitude faster.
Nautilus 1.231 stores prices and sizes as 128-bit fixed-point integers scaled by
10**FIXED_PRECISION (16), little-endian in ``fixed_size_binary(16)`` columns. The
schema (with its metadata: instrument id / bar type and precisions) is taken from
Nautilus's serializer on one sample object, so the files are exactly what
``ParquetDataCatalog`` writes itself (tests compare both encodings row for row).

Prices are encoded at the instrument's precisions (from its tick/step), never a
hard-coded number of decimals.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import numpy as np
import pyarrow as pa
from nautilus_trader.model.data import (
    Bar,
    BarType,
    FundingRateUpdate,
    MarkPriceUpdate,
    TradeTick,
)
from nautilus_trader.model.enums import AggressorSide
from nautilus_trader.model.identifiers import InstrumentId, TradeId
from nautilus_trader.model.objects import FIXED_PRECISION, Price, Quantity
from nautilus_trader.serialization.arrow.serializer import ArrowSerializer

from hedgegridd.data.columns import Columns
from hedgegridd.data.schema import HOUR_NS

_U32 = np.uint64(0xFFFFFFFF)
_S32 = np.uint64(32)


def fixed128(values: np.ndarray, precision: int) -> pa.FixedSizeBinaryArray:
    """Non-negative decimals (rounded to ``precision`` places) as Nautilus i128 raw values."""
    if not 0 <= precision <= FIXED_PRECISION:
        raise ValueError(f"precision {precision} outside 0..{FIXED_PRECISION}")
    ints = np.rint(np.asarray(values, dtype=np.float64) * 10.0**precision).astype(np.uint64)
    mult = 10 ** (FIXED_PRECISION - precision)  # < 2**54
    m_lo, m_hi = np.uint64(mult & 0xFFFFFFFF), np.uint64(mult >> 32)
    words = np.empty((ints.size, 2), dtype="<u8")
    low, high = words[:, 0], words[:, 1]
    if ints.size and int(ints.max()) >= 2**32:
        a_lo, a_hi = ints & _U32, ints >> _S32
        lo_lo = a_lo * m_lo
        mid = a_hi * m_lo + a_lo * m_hi  # < 2**64: a_hi < 2**32, m_hi < 2**22
        np.add(lo_lo, mid << _S32, out=low)
        np.add(a_hi * m_hi + (mid >> _S32), low < lo_lo, out=high, casting="unsafe")
    else:  # fast path: every value < 2**32 units (all realistic prices and sizes)
        lo_lo = ints * m_lo
        mid = ints * m_hi  # < 2**54
        np.left_shift(mid, _S32, out=low)
        low += lo_lo
        np.add(mid >> _S32, low < lo_lo, out=high, casting="unsafe")
    buf = pa.py_buffer(words)
    return pa.FixedSizeBinaryArray.from_buffers(pa.binary(16), ints.size, [None, buf])


def _schema(sample: Any, cls: type) -> pa.Schema:
    batch = ArrowSerializer.serialize_batch([sample], data_cls=cls)
    schema: pa.Schema = batch.schema
    return schema


def _u64(values: np.ndarray) -> pa.Array:
    return pa.array(np.asarray(values, dtype=np.int64).astype(np.uint64), type=pa.uint64())


def trades_table(
    frame: Columns, instrument_id: str, price_precision: int, size_precision: int
) -> pa.Table:
    """TradeTick table: price, size, aggressor_side, trade_id (agg trade id), ts_event, ts_init."""
    sample = TradeTick(
        InstrumentId.from_str(instrument_id),
        Price(1, price_precision),
        Quantity(1, size_precision),
        AggressorSide.BUYER,
        TradeId("1"),
        0,
        0,
    )
    ts = _u64(frame["ts_ns"])
    aggressor = np.where(np.asarray(frame["is_buyer_maker"], dtype=bool), 2, 1).astype(np.uint8)
    ids = pa.array(np.asarray(frame["agg_trade_id"], dtype=np.int64)).cast(pa.string())
    arrays = [
        fixed128(frame["price"], price_precision),
        fixed128(frame["quantity"], size_precision),
        pa.array(aggressor, type=pa.uint8()),
        ids,
        ts,
        ts,
    ]
    return pa.Table.from_arrays(arrays, schema=_schema(sample, TradeTick))


def bars_table(
    frame: Columns, bar_type: str, price_precision: int, size_precision: int
) -> pa.Table:
    """Bar table; ``ts_event = ts_init = ts_ns`` (the bar's close: open + 1 minute)."""
    sample = Bar(
        BarType.from_str(bar_type),
        Price(1, price_precision),
        Price(1, price_precision),
        Price(1, price_precision),
        Price(1, price_precision),
        Quantity(1, size_precision),
        0,
        0,
    )
    ts = _u64(frame["ts_ns"])
    arrays = [
        *(fixed128(frame[c], price_precision) for c in ("open", "high", "low", "close")),
        fixed128(frame["volume"], size_precision),
        ts,
        ts,
    ]
    return pa.Table.from_arrays(arrays, schema=_schema(sample, Bar))


def mark_prices_table(frame: Columns, instrument_id: str, precision: int) -> pa.Table:
    """MarkPriceUpdate table from mark klines: the close, stamped at the bar close."""
    sample = MarkPriceUpdate(InstrumentId.from_str(instrument_id), Price(1, precision), 0, 0)
    ts = _u64(frame["ts_ns"])
    arrays = [fixed128(frame["close"], precision), ts, ts]
    return pa.Table.from_arrays(arrays, schema=_schema(sample, MarkPriceUpdate))


def funding_updates(frame: Columns, instrument_id: str) -> list[FundingRateUpdate]:
    """FundingRateUpdate objects (few rows: 3 a day), rate as the exact decimal string."""
    iid = InstrumentId.from_str(instrument_id)
    out: list[FundingRateUpdate] = []
    ts_all = np.asarray(frame["ts_ns"], dtype=np.int64).tolist()
    rates = np.asarray(frame["funding_rate"], dtype=np.float64).tolist()
    hours = np.asarray(frame["interval_hours"], dtype=np.int64).tolist()
    for ts, rate, h in zip(ts_all, rates, hours, strict=True):
        out.append(
            FundingRateUpdate(
                iid,
                Decimal(repr(rate)).normalize(),
                ts,
                ts,
                interval=h * 60,
                next_funding_ns=ts + h * HOUR_NS,
            )
        )
    return out


def funding_table(frame: Columns, instrument_id: str) -> pa.Table:
    """FundingRateUpdate table through Nautilus's own serializer."""
    table = ArrowSerializer.serialize_batch(
        funding_updates(frame, instrument_id), data_cls=FundingRateUpdate
    )
    if isinstance(table, pa.RecordBatch):
        return pa.Table.from_batches([table])
    result: pa.Table = table
    return result
