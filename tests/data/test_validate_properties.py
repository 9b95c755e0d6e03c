"""Property tests: validation accounts for every row and keeps only valid, ordered rows."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from hedgegridd.data.instruments import BTCUSDT_PERP
from hedgegridd.data.schema import MINUTE_NS, DataKind
from hedgegridd.data.validate import Validator

START_MS = 1_704_067_200_000

row = st.fixed_dictionaries(
    {
        "minute": st.integers(min_value=0, max_value=60),
        "open": st.integers(min_value=-5, max_value=1_000_000),
        "spread": st.integers(min_value=-3, max_value=500),
        "volume": st.sampled_from([0.0, 1.5, -1.0, 12.345]),
    }
)


def _frame(rows: list[dict]) -> pd.DataFrame:
    minute = np.array([r["minute"] for r in rows], dtype=np.int64)
    open_ticks = np.array([r["open"] for r in rows], dtype=np.int64)
    spread = np.array([r["spread"] for r in rows], dtype=np.int64)
    open_time = START_MS + minute * 60_000
    return pd.DataFrame(
        {
            "open_time": open_time,
            "open": open_ticks / 10,
            "high": (open_ticks + spread) / 10,
            "low": (open_ticks - np.abs(spread)) / 10,
            "close": open_ticks / 10,
            "volume": [r["volume"] for r in rows],
            "close_time": open_time + 59_999,
        }
    )


@settings(max_examples=80, deadline=None)
@given(st.lists(row, min_size=1, max_size=60), st.integers(min_value=1, max_value=60))
def test_every_row_accounted_and_kept_rows_valid(rows: list[dict], chunk: int) -> None:
    """kept + rejected + duplicates == read; kept bars are valid and strictly increasing."""
    frame = _frame(rows)
    v = Validator(
        DataKind.KLINES, BTCUSDT_PERP, source="p", time_unit="ms", max_reject_fraction=1.0
    )
    parts = [v.process(frame.iloc[i : i + chunk], i + 1) for i in range(0, len(frame), chunk)]
    rep = v.finish()
    kept = sum(len(p) for p in parts)
    assert kept + rep.rejected + rep.duplicates == rep.rows_read == len(frame)
    assert kept == rep.rows_kept
    if kept:
        ts = np.concatenate([p.ts_ns for p in parts])
        assert (np.diff(ts) > 0).all()
        assert (ts % MINUTE_NS == 0).all()
        o = np.concatenate([p.open for p in parts])
        h = np.concatenate([p.high for p in parts])
        lo = np.concatenate([p.low for p in parts])
        vol = np.concatenate([p.volume for p in parts])
        assert (lo > 0).all()
        assert (h >= o).all()
        assert (lo <= o).all()
        assert (vol >= 0).all()
    assert all(1 <= r <= len(frame) for r, _ in rep.samples)
