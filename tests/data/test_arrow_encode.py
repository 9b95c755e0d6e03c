"""Direct Arrow encoding matches Nautilus's own serializer exactly."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pandas as pd
import pyarrow as pa
from hypothesis import given, settings
from hypothesis import strategies as st
from nautilus_trader.model.data import Bar, BarType, MarkPriceUpdate, TradeTick
from nautilus_trader.model.enums import AggressorSide
from nautilus_trader.model.identifiers import InstrumentId, TradeId
from nautilus_trader.model.objects import Price, Quantity
from nautilus_trader.serialization.arrow.serializer import ArrowSerializer

from hedgegridd.data.arrow_encode import bars_table, fixed128, mark_prices_table, trades_table

IID = "BTCUSDT-PERP.BINANCE"


def _nautilus_table(objs: list, cls: type) -> pa.Table:
    batch = ArrowSerializer.serialize_batch(objs, data_cls=cls)
    return pa.Table.from_batches([batch]) if isinstance(batch, pa.RecordBatch) else batch


@settings(max_examples=60, deadline=None)
@given(
    st.integers(min_value=0, max_value=10**13),
    st.integers(min_value=0, max_value=9),
)
def test_fixed128_equals_nautilus_price_raw(units: int, precision: int) -> None:
    """Any non-negative decimal encodes to the same 16 bytes as Nautilus's Price."""
    value = Decimal(units).scaleb(-precision)
    ours = fixed128(np.array([float(value)]), precision)
    if float(value) * 10**precision != units:  # beyond float precision: not a real price
        return
    theirs = _nautilus_table(
        [MarkPriceUpdate(InstrumentId.from_str(IID), Price(value, precision), 0, 0)],
        MarkPriceUpdate,
    ).column("value")
    assert ours.to_pylist() == theirs.to_pylist()


def test_trades_table_equals_serializer_output() -> None:
    """A trades frame encodes to exactly the table Nautilus builds from TradeTick objects."""
    frame = pd.DataFrame(
        {
            "ts_ns": np.array([1, 2, 2, 5], dtype=np.int64) * 1_000_000 + 1_700_000_000 * 10**9,
            "agg_trade_id": np.array([10, 11, 12, 13], dtype=np.int64),
            "price": [43000.1, 43000.0, 99999.9, 0.1],
            "quantity": [0.001, 12.5, 1000.0, 0.123],
            "is_buyer_maker": [True, False, True, False],
        }
    )
    ticks = [
        TradeTick(
            InstrumentId.from_str(IID),
            Price(p, 1),
            Quantity(q, 3),
            AggressorSide.SELLER if m else AggressorSide.BUYER,
            TradeId(str(i)),
            t,
            t,
        )
        for t, i, p, q, m in frame.itertuples(index=False)
    ]
    assert trades_table(frame, IID, 1, 3).equals(_nautilus_table(ticks, TradeTick), True)


def test_bars_and_mark_tables_equal_serializer_output() -> None:
    """Bars and mark prices encode like Nautilus, including schema metadata."""
    bt = "BTCUSDT-PERP.BINANCE-1-MINUTE-LAST-EXTERNAL"
    frame = pd.DataFrame(
        {
            "ts_ns": np.array([60, 120], dtype=np.int64) * 10**9 + 1_700_000_040 * 10**9,
            "open": [100.1, 101.0],
            "high": [102.5, 101.0],
            "low": [99.9, 100.0],
            "close": [101.0, 100.2],
            "volume": [12.345, 0.0],
        }
    )
    bars = [
        Bar(
            BarType.from_str(bt),
            Price(o, 1),
            Price(h, 1),
            Price(lo, 1),
            Price(c, 1),
            Quantity(v, 3),
            t,
            t,
        )
        for t, o, h, lo, c, v in frame.itertuples(index=False)
    ]
    assert bars_table(frame, bt, 1, 3).equals(_nautilus_table(bars, Bar), True)
    marks = [
        MarkPriceUpdate(InstrumentId.from_str(IID), Price(c, 2), t, t)
        for t, c in zip(frame.ts_ns, frame.close, strict=True)
    ]
    assert mark_prices_table(frame, IID, 2).equals(_nautilus_table(marks, MarkPriceUpdate), True)
