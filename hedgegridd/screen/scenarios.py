"""Market regimes for the parity harness, built from ``hedgegridd.data.synthetic``.

Each scenario is the seeded synthetic market (range-dominated, no drift) reshaped by a
deterministic log-price overlay applied to every OHLC price of a bar (so each bar stays
consistent: low <= open, close <= high), rounded to the tick:

* ``range``: the synthetic path with no trend drift;
* ``trend_up`` / ``trend_down``: +/- 40 % over the run (log-linear);
* ``crash``: flat, then -35 % over 3 % of the run starting at its middle, then flat.

Volume is generous (``mean_trade_qty``) so the Nautilus engine fills orders completely,
as the screening kernel assumes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import numpy as np
from nautilus_trader.model.data import BarType, FundingRateUpdate
from nautilus_trader.model.identifiers import InstrumentId

from hedgegridd.backtest.engine import bars_from_arrays
from hedgegridd.data.instruments import BTCUSDT_PERP, to_nautilus_instrument
from hedgegridd.data.synthetic import MINUTE_MS, SyntheticSpec, generate

SCENARIOS = ("trend_up", "trend_down", "range", "crash")
_MS = 1_000_000
_HOUR_NS = 3_600_000_000_000


def _overlay(kind: str, n: int) -> np.ndarray:
    t = np.arange(n, dtype=np.float64) / max(1, n - 1)
    out: np.ndarray = np.zeros(n)
    if kind == "trend_up":
        out = t * float(np.log(1.4))
    elif kind == "trend_down":
        out = t * float(np.log(0.6))
    elif kind == "crash":
        lo, width = 0.5, 0.03
        out = np.clip((t - lo) / width, 0.0, 1.0) * float(np.log(0.65))
    return out


def scenario_market(kind: str, minutes: int, seed: int) -> dict[str, Any]:
    """Instrument, Nautilus bars, funding updates and marks of one scenario."""
    spec = SyntheticSpec(
        seed=seed,
        minutes=minutes,
        start=datetime(2024, 1, 1, tzinfo=UTC),
        trend_drift=0.0,
        mean_trade_qty=50.0,
    )
    data = generate(spec, BTCUSDT_PERP)
    b = data.bars
    factor = np.exp(_overlay(kind, len(b)))
    tick = float(BTCUSDT_PERP.tick_size)

    def shaped(col: str) -> np.ndarray:
        out: np.ndarray = np.rint(b[col].to_numpy(dtype=np.float64) * factor / tick) * tick
        return np.round(out, 1)

    o, h, lo, c = shaped("open"), shaped("high"), shaped("low"), shaped("close")
    h = np.maximum.reduce([h, o, c])
    lo = np.minimum.reduce([lo, o, c])
    close_ns = (b["open_time"].to_numpy(dtype=np.int64) + MINUTE_MS) * _MS
    instrument = to_nautilus_instrument(BTCUSDT_PERP)
    bars = bars_from_arrays(
        BarType.from_str(BTCUSDT_PERP.bar_type()),
        instrument,
        o.tolist(),
        h.tolist(),
        lo.tolist(),
        c.tolist(),
        b["volume"].to_numpy(dtype=np.float64).tolist(),
        close_ns.tolist(),
    )
    iid = InstrumentId.from_str(BTCUSDT_PERP.instrument_id)
    hours = spec.funding_interval_hours
    funding = [
        FundingRateUpdate(
            iid,
            Decimal(repr(float(rate))).normalize(),
            int(t) * _MS,
            int(t) * _MS,
            interval=hours * 60,
            next_funding_ns=int(t) * _MS + hours * _HOUR_NS,
        )
        for t, rate in zip(
            data.funding["funding_time"].to_numpy(dtype=np.int64),
            data.funding["funding_rate"].to_numpy(dtype=np.float64),
            strict=True,
        )
    ]
    m = data.mark_bars
    mark_ns = (m["open_time"].to_numpy(dtype=np.int64) + MINUTE_MS) * _MS
    mark_factor = factor[: len(m)]
    marks = [
        (int(t), Decimal(repr(round(float(p) * float(f), 1))))
        for t, p, f in zip(mark_ns, m["close"].to_numpy(dtype=np.float64), mark_factor, strict=True)
    ]
    return {"instrument": instrument, "bars": bars, "funding": funding, "marks": marks}
