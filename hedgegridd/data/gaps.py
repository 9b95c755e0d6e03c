"""Gap reports per data type, computed vectorized chunk by chunk.

- klines / mark klines: missing minutes between consecutive bars;
- funding: missing funding times (a step longer than 1.5 x the funding interval);
- agg trades: quiet periods longer than ``trade_gap_ns`` (default 5 minutes) with
  no trade at all, which on BTCUSDT means missing data, not a quiet market.

``GapTracker.update(frame)`` takes normalized frames (``ts_ns`` column) in time
order and carries the last timestamp across chunks.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from hedgegridd.data.columns import Columns
from hedgegridd.data.schema import HOUR_NS, MINUTE_NS, DataKind

MAX_LISTED_GAPS = 200


@dataclass(frozen=True)
class Gap:
    """Data missing strictly between ``after_ns`` and ``before_ns``."""

    after_ns: int
    before_ns: int
    missing: int  # missing bars / funding times; for trades, whole quiet minutes


@dataclass
class GapReport:
    """Gap summary of one data type: first/last timestamps and the gaps found."""

    kind: DataKind
    first_ns: int | None = None
    last_ns: int | None = None
    gap_count: int = 0
    missing_total: int = 0
    gaps: list[Gap] = field(default_factory=list)


class GapTracker:
    """Accumulate a ``GapReport`` over the chunks of one source."""

    def __init__(self, kind: DataKind, *, trade_gap_ns: int = 5 * MINUTE_NS) -> None:
        self.report = GapReport(kind)
        self._trade_gap_ns = trade_gap_ns

    def update(self, frame: Columns | pd.DataFrame) -> None:
        """Add one normalized chunk (sorted, deduplicated) to the report."""
        if len(frame) == 0:
            return
        ts = np.asarray(frame["ts_ns"], dtype=np.int64)
        rep = self.report
        if rep.first_ns is None:
            rep.first_ns = int(ts[0])
            series = ts
        else:
            assert rep.last_ns is not None
            series = np.concatenate(([rep.last_ns], ts))
        rep.last_ns = int(ts[-1])
        steps = np.diff(series)
        kind = rep.kind
        if kind in (DataKind.KLINES, DataKind.MARK_KLINES):
            where = np.flatnonzero(steps > MINUTE_NS)
            missing = steps[where] // MINUTE_NS - 1
        elif kind is DataKind.FUNDING:
            hours = np.asarray(frame["interval_hours"], dtype=np.int64)
            interval = hours * HOUR_NS
            if series.size != ts.size:
                interval = np.concatenate(([interval[0]], interval))
            interval = interval[1:]
            where = np.flatnonzero(steps * 2 > interval * 3)
            missing = np.rint(steps[where] / interval[where]).astype(np.int64) - 1
        else:
            where = np.flatnonzero(steps > self._trade_gap_ns)
            missing = steps[where] // MINUTE_NS
        if where.size == 0:
            return
        rep.gap_count += int(where.size)
        rep.missing_total += int(missing.sum())
        room = MAX_LISTED_GAPS - len(rep.gaps)
        for i, m in zip(where[:room].tolist(), missing[:room].tolist(), strict=True):
            rep.gaps.append(Gap(int(series[i]), int(series[i + 1]), int(m)))
