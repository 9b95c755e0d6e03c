"""Bar arrays for the screening kernel: from synthetic data or from the Nautilus objects
the backtest loads (so both engines read the very same bars, funding and marks)."""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np
import numpy.typing as npt

from hedgegridd.core.types import InstrumentRules
from hedgegridd.data.instruments import BTCUSDT_PERP, InstrumentSpec
from hedgegridd.data.synthetic import MINUTE_MS, SyntheticSpec, generate
from hedgegridd.errors import BacktestError

_MS = 1_000_000
_HOUR_NS = 3_600_000_000_000
F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]


@dataclass(frozen=True, slots=True, eq=False)
class BarArrays:
    """One instrument's 1-minute bars (close-stamped), funding updates and settlements."""

    rules: InstrumentRules
    open: F64
    high: F64
    low: F64
    close: F64
    close_ns: I64
    funding_ns: I64  # publication times of the funding updates
    funding_rate: F64
    funding_next_ns: I64  # the funding time each update announces
    settle_ns: I64  # settlement events (the same updates) with the mark price used
    settle_rate: F64
    settle_mark: F64
    interval_ns: int = 60_000_000_000

    def __len__(self) -> int:
        return int(self.close_ns.size)

    def window(self, first: int, last: int) -> BarArrays:
        """Bars ``[first, last)`` with the funding events inside their time span."""
        lo = int(self.close_ns[first]) if last > first else 0
        hi = int(self.close_ns[last - 1]) if last > first else -1
        fu = (self.funding_ns >= lo - self.interval_ns) & (self.funding_ns <= hi)
        fs = (self.settle_ns >= lo - self.interval_ns) & (self.settle_ns <= hi)
        return BarArrays(
            self.rules,
            self.open[first:last],
            self.high[first:last],
            self.low[first:last],
            self.close[first:last],
            self.close_ns[first:last],
            self.funding_ns[fu],
            self.funding_rate[fu],
            self.funding_next_ns[fu],
            self.settle_ns[fs],
            self.settle_rate[fs],
            self.settle_mark[fs],
            self.interval_ns,
        )


def rules_of(spec: InstrumentSpec) -> InstrumentRules:
    """The core's instrument rules of an ``InstrumentSpec``."""
    return InstrumentRules(
        tick=spec.tick_size,
        step=spec.step_size,
        min_qty=spec.min_qty,
        max_qty=spec.max_qty,
        min_notional=spec.min_notional,
    )


def rules_of_instrument(instrument: Any) -> InstrumentRules:
    """The rules ``HedgeGridStrategy`` derives from a Nautilus instrument (startup.py)."""
    step = instrument.size_increment.as_decimal()
    return InstrumentRules(
        tick=instrument.price_increment.as_decimal(),
        step=step,
        min_qty=instrument.min_quantity.as_decimal() if instrument.min_quantity else step,
        max_qty=(
            instrument.max_quantity.as_decimal() if instrument.max_quantity else Decimal(10**9)
        ),
        min_notional=(
            instrument.min_notional.as_decimal() if instrument.min_notional else Decimal(0)
        ),
    )


def _settlements(
    funding_ns: I64,
    rates: F64,
    mark_ns: Sequence[int],
    marks: Sequence[float],
    close_ns: I64,
    close: F64,
) -> tuple[I64, F64, F64]:
    """Like ``backtest.session.funding_events``: mark at or before, else the last close."""
    ts_out: list[int] = []
    rate_out: list[float] = []
    mark_out: list[float] = []
    for t, r in zip(funding_ns.tolist(), rates.tolist(), strict=True):
        i = bisect.bisect_right(mark_ns, t) - 1
        if i >= 0:
            mark = float(marks[i])
        else:
            j = int(np.searchsorted(close_ns, t, side="right")) - 1
            if j < 0:
                continue
            mark = float(close[j])
        ts_out.append(t)
        rate_out.append(r)
        mark_out.append(mark)
    return (
        np.asarray(ts_out, dtype=np.int64),
        np.asarray(rate_out, dtype=np.float64),
        np.asarray(mark_out, dtype=np.float64),
    )


def bars_from_synthetic(spec: SyntheticSpec, inst: InstrumentSpec = BTCUSDT_PERP) -> BarArrays:
    """The seeded synthetic market (``hedgegridd.data.synthetic``) as arrays."""
    data = generate(spec, inst)
    b = data.bars
    close_ns = (b["open_time"].to_numpy(dtype=np.int64) + MINUTE_MS) * _MS
    f = data.funding
    f_ns = f["funding_time"].to_numpy(dtype=np.int64) * _MS
    rates = f["funding_rate"].to_numpy(dtype=np.float64)
    m = data.mark_bars
    mark_ns = ((m["open_time"].to_numpy(dtype=np.int64) + MINUTE_MS) * _MS).tolist()
    marks = m["close"].to_numpy(dtype=np.float64).tolist()
    close = b["close"].to_numpy(dtype=np.float64)
    s_ns, s_rate, s_mark = _settlements(f_ns, rates, mark_ns, marks, close_ns, close)
    return BarArrays(
        rules_of(inst),
        b["open"].to_numpy(dtype=np.float64),
        b["high"].to_numpy(dtype=np.float64),
        b["low"].to_numpy(dtype=np.float64),
        close,
        close_ns,
        f_ns,
        rates,
        f_ns + spec.funding_interval_hours * _HOUR_NS,
        s_ns,
        s_rate,
        s_mark,
    )


def from_nautilus(
    instrument: Any,
    bars: Sequence[Any],
    funding: Sequence[Any] = (),
    marks: Sequence[tuple[int, Decimal]] = (),
    *,
    funding_interval_minutes: int = 480,
) -> BarArrays:
    """Arrays of the Nautilus bars/funding updates/marks a backtest session would get."""
    if not bars:
        raise BacktestError("no bars to screen")
    close_ns = np.fromiter((b.ts_event for b in bars), dtype=np.int64, count=len(bars))
    close = np.fromiter((b.close.as_double() for b in bars), dtype=np.float64, count=len(bars))
    ups = sorted(funding, key=lambda u: u.ts_event)
    f_ns = np.asarray([u.ts_event for u in ups], dtype=np.int64)
    rates = np.asarray([float(u.rate) for u in ups], dtype=np.float64)
    nxt = np.asarray(
        [
            u.next_funding_ns
            if u.next_funding_ns
            else u.ts_event + int(u.interval or funding_interval_minutes) * 60_000_000_000
            for u in ups
        ],
        dtype=np.int64,
    )
    ms = sorted(marks)
    s_ns, s_rate, s_mark = _settlements(
        f_ns, rates, [t for t, _ in ms], [float(p) for _, p in ms], close_ns, close
    )
    interval = int(bars[0].bar_type.spec.timedelta.total_seconds() * 1_000_000_000)
    return BarArrays(
        rules_of_instrument(instrument),
        np.fromiter((b.open.as_double() for b in bars), dtype=np.float64, count=len(bars)),
        np.fromiter((b.high.as_double() for b in bars), dtype=np.float64, count=len(bars)),
        np.fromiter((b.low.as_double() for b in bars), dtype=np.float64, count=len(bars)),
        close,
        close_ns,
        f_ns,
        rates,
        nxt,
        s_ns,
        s_rate,
        s_mark,
        interval,
    )


__all__ = ["BarArrays", "bars_from_synthetic", "from_nautilus", "rules_of", "rules_of_instrument"]
