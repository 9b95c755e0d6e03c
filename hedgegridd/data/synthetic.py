"""Seeded synthetic market data for tests, demos and the simulator.

``generate(SyntheticSpec(seed=7, minutes=1440))`` returns ``SyntheticData`` with:

- ``bars``: 1-minute klines, one row per minute, no gaps. Columns (Binance kline
  layout): ``open_time``, ``close_time`` (int64 ms; ``close_time = open_time + 59999``
  as Binance sends it), ``open``, ``high``, ``low``, ``close``, ``volume``,
  ``quote_volume``, ``count``, ``taker_buy_volume``, ``taker_buy_quote_volume``.
  Bars are aggregated from ``trades`` so OHLCV is exactly consistent with them.
- ``trades``: aggTrades. Columns (Binance aggTrades archive layout):
  ``agg_trade_id``, ``price``, ``quantity``, ``first_trade_id``, ``last_trade_id``,
  ``transact_time`` (int64 ms), ``is_buyer_maker`` (bool). At least one per minute.
- ``mark_bars``: 1-minute mark-price klines (``open_time``, ``close_time``, OHLC),
  the last price plus a small premium that funding follows.
- ``funding``: every ``funding_interval_hours`` on the UTC grid (00:00, 08:00,
  16:00 by default) within ``[start, end)``: ``funding_time`` (int64 ms),
  ``funding_rate`` (float, 8 decimals, clipped to +/-0.3 %), ``mark_price``.
- ``regimes``: int8 per minute, indices into ``REGIME_NAMES`` (range, trend up,
  trend down, volatility burst), so tests can find each kind of market.

Prices are on the instrument's tick, quantities on its step (both from the
``InstrumentSpec``, default ``BTCUSDT_PERP``). Everything is vectorized numpy; the
only Python loop runs once per regime segment (hours long). The same spec and seed
give byte-identical frames (``SyntheticData.digest()``). The path is a regime-
switching log-price: ranges are mean-reverting (OU) around their entry price,
trends drift, bursts have ~4x volatility and ~3x trade counts.

To write it to a Nautilus catalog use ``hedgegridd.data.catalog.write_synthetic_catalog``.
"""

from __future__ import annotations

import hashlib
import itertools
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated

import numpy as np
import pandas as pd
from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from hedgegridd.data.instruments import BTCUSDT_PERP, InstrumentSpec

MINUTE_MS = 60_000
HOUR_MS = 60 * MINUTE_MS

RANGE, TREND_UP, TREND_DOWN, VOL_BURST = 0, 1, 2, 3
REGIME_NAMES: tuple[str, ...] = ("range", "trend_up", "trend_down", "vol_burst")

# Mean segment length (minutes), drift per minute, volatility multiplier per regime.
_MEAN_MINUTES = np.array([360.0, 240.0, 240.0, 45.0])
_DRIFT = np.array([0.0, 1.0, -1.0, 0.0])
_VOL_MULT = np.array([0.8, 1.0, 1.0, 4.0])
_TRADE_MULT = np.array([1.0, 1.2, 1.2, 3.0])
# Next-regime probabilities (row: current regime); the diagonal is zero.
_TRANSITIONS = np.array(
    [
        [0.0, 0.4, 0.4, 0.2],
        [0.6, 0.0, 0.2, 0.2],
        [0.6, 0.2, 0.0, 0.2],
        [0.6, 0.2, 0.2, 0.0],
    ]
)
_OU_PHI = 0.995
_MAX_SEGMENT = 2_000


def _utc_minute(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("start must be timezone-aware (UTC)")
    value = value.astimezone(UTC)
    if value.second or value.microsecond:
        raise ValueError("start must be on a whole minute")
    return value


class SyntheticSpec(BaseModel):
    """What to generate. Frozen; every field is validated with its allowed range."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    seed: int = Field(default=0, ge=0, le=2**63 - 1)
    start: Annotated[datetime, AfterValidator(_utc_minute)] = datetime(2024, 1, 1, tzinfo=UTC)
    minutes: int = Field(default=1440, ge=1, le=20_000_000)
    start_price: Decimal = Field(default=Decimal(50_000), gt=0, le=Decimal(10**9))
    volatility: float = Field(default=0.0006, gt=0, le=0.05, description="1m log-return sigma")
    trend_drift: float = Field(
        default=0.00012, ge=0, le=0.01, description="|log drift| per minute in a trend"
    )
    trades_per_minute: float = Field(default=12.0, ge=1, le=2_000)
    mean_trade_qty: float = Field(default=0.03, gt=0, le=1_000)
    funding_interval_hours: int = Field(default=8, ge=1, le=24)
    base_funding_rate: float = Field(default=0.0001, ge=-0.003, le=0.003)

    @property
    def start_ms(self) -> int:
        """Open time of the first bar, ms since the epoch."""
        return int(self.start.timestamp()) * 1000

    @property
    def end_ms(self) -> int:
        """Exclusive end: close of the last bar + 1 ms (= open of the next minute)."""
        return self.start_ms + self.minutes * MINUTE_MS


@dataclass(frozen=True)
class SyntheticData:
    """Generated frames (see module docstring for columns); treat them as read-only."""

    spec: SyntheticSpec
    instrument: InstrumentSpec
    bars: pd.DataFrame
    trades: pd.DataFrame
    mark_bars: pd.DataFrame
    funding: pd.DataFrame
    regimes: np.ndarray

    def digest(self) -> str:
        """SHA-256 over every column's bytes: equal digests mean byte-identical data."""
        h = hashlib.sha256()
        for frame in (self.bars, self.trades, self.mark_bars, self.funding):
            for name in frame.columns:
                h.update(name.encode())
                h.update(np.ascontiguousarray(frame[name].to_numpy()).tobytes())
        h.update(self.regimes.tobytes())
        return h.hexdigest()


def _regime_path(rng: np.random.Generator, minutes: int) -> np.ndarray:
    regimes = np.empty(minutes, dtype=np.int8)
    pos, state = 0, RANGE
    while pos < minutes:
        length = int(min(_MAX_SEGMENT, max(5, rng.exponential(_MEAN_MINUTES[state]))))
        regimes[pos : pos + length] = state
        pos += length
        state = int(rng.choice(4, p=_TRANSITIONS[state]))
    return regimes


def _log_returns(rng: np.random.Generator, spec: SyntheticSpec, regimes: np.ndarray) -> np.ndarray:
    z = rng.standard_normal(regimes.size)
    sigma = spec.volatility * _VOL_MULT[regimes]
    returns = _DRIFT[regimes] * spec.trend_drift + sigma * z
    # Ranges: replace the random walk by an OU deviation around the segment's entry.
    change = np.flatnonzero(np.diff(regimes, prepend=-1))
    bounds = np.append(change, regimes.size)
    for lo, hi in itertools.pairwise(bounds.tolist()):
        if regimes[lo] != RANGE:
            continue
        eps = sigma[lo:hi] * z[lo:hi]
        k = np.arange(hi - lo, dtype=np.float64)
        dev = _OU_PHI**k * np.cumsum(eps * _OU_PHI**-k)
        returns[lo:hi] = np.diff(dev, prepend=0.0)
    result: np.ndarray = returns
    return result


def _round_to(values: np.ndarray, increment: float, decimals: int) -> np.ndarray:
    return np.round(np.round(values / increment) * increment, decimals)


def _trade_prices(
    rng: np.random.Generator,
    spec: SyntheticSpec,
    regimes: np.ndarray,
    counts: np.ndarray,
    starts: np.ndarray,
    minute_of: np.ndarray,
    open_path: np.ndarray,
    close_path: np.ndarray,
) -> np.ndarray:
    """Brownian bridge from each minute's open to its close (temporaries freed on return)."""
    total = minute_of.size
    k = np.arange(total) - np.repeat(starts, counts)
    c = np.repeat(counts, counts)
    frac = np.where(c > 1, k / np.maximum(c - 1, 1), 1.0)
    del k, c
    o, cl = open_path[minute_of], close_path[minute_of]
    bridge = np.sqrt(frac * (1.0 - frac))
    noise = rng.standard_normal(total) * spec.volatility * _VOL_MULT[regimes][minute_of] * bridge
    del bridge
    result: np.ndarray = o + (cl - o) * frac + cl * noise
    return result


def _trade_times(
    rng: np.random.Generator, spec: SyntheticSpec, minute_of: np.ndarray
) -> np.ndarray:
    """Sorted uniform ms offsets inside each trade's minute."""
    offsets = np.sort(minute_of + rng.random(minute_of.size)) - minute_of
    times: np.ndarray = spec.start_ms + minute_of.astype(np.int64) * MINUTE_MS
    times += np.minimum((offsets * MINUTE_MS).astype(np.int64), MINUTE_MS - 1)
    return times


def generate(spec: SyntheticSpec, instrument: InstrumentSpec = BTCUSDT_PERP) -> SyntheticData:
    """Generate bars, trades, mark bars and funding for ``spec`` (deterministic per seed)."""
    rng = np.random.default_rng(spec.seed)
    n = spec.minutes
    tick, step = float(instrument.tick_size), float(instrument.step_size)
    pp, sp = instrument.price_precision, instrument.size_precision

    regimes = _regime_path(rng, n)
    log_price = np.log(float(spec.start_price)) + np.cumsum(_log_returns(rng, spec, regimes))
    floor = tick * 100
    close_path = np.maximum(np.exp(log_price), floor)
    open_path = np.concatenate(([float(spec.start_price)], close_path[:-1]))

    # Trades: 1 + Poisson per minute; first trade at the open, last at the close.
    counts = 1 + rng.poisson((spec.trades_per_minute - 1) * _TRADE_MULT[regimes])
    total = int(counts.sum())
    starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
    minute_of = np.repeat(np.arange(n), counts)
    price = _trade_prices(rng, spec, regimes, counts, starts, minute_of, open_path, close_path)
    price = _round_to(np.maximum(price, floor), tick, pp)
    times = _trade_times(rng, spec, minute_of)
    del minute_of
    qty = rng.lognormal(np.log(spec.mean_trade_qty), 1.0, total)
    qty = _round_to(np.clip(qty, step, float(instrument.market_max_qty)), step, sp)
    qty = np.maximum(qty, step)
    move = np.diff(price, prepend=price[0])
    buyer_maker = np.where(move == 0, rng.random(total) < 0.5, move < 0)
    fills = 1 + rng.poisson(1.5, total)
    last_ids = 5_000_000_000 + np.cumsum(fills)
    del move
    trades = pd.DataFrame(
        {
            "agg_trade_id": np.arange(total, dtype=np.int64) + 2_000_000_000,
            "price": price,
            "quantity": qty,
            "first_trade_id": (last_ids - fills + 1).astype(np.int64),
            "last_trade_id": last_ids.astype(np.int64),
            "transact_time": times.astype(np.int64),
            "is_buyer_maker": buyer_maker.astype(bool),
        }
    )
    del times

    ends = starts + counts - 1
    open_time = spec.start_ms + np.arange(n, dtype=np.int64) * MINUTE_MS
    notional = price * qty
    taker_buy = np.where(buyer_maker, 0.0, qty)
    bars = pd.DataFrame(
        {
            "open_time": open_time,
            "open": price[starts],
            "high": np.maximum.reduceat(price, starts),
            "low": np.minimum.reduceat(price, starts),
            "close": price[ends],
            "volume": np.round(np.add.reduceat(qty, starts), sp),
            "close_time": open_time + MINUTE_MS - 1,
            "quote_volume": np.round(np.add.reduceat(notional, starts), 4),
            "count": np.add.reduceat(fills, starts).astype(np.int64),
            "taker_buy_volume": np.round(np.add.reduceat(taker_buy, starts), sp),
            "taker_buy_quote_volume": np.round(np.add.reduceat(taker_buy * price, starts), 4),
        }
    )

    # Premium of mark over last: follows the trend (longs pay in up-trends).
    trend_sign = _DRIFT[regimes]
    premium = 0.0002 * trend_sign + 0.00005 * rng.standard_normal(n)
    mark = {
        col: _round_to(bars[col].to_numpy() * (1.0 + premium), tick, pp)
        for col in ("open", "high", "low", "close")
    }
    mark["high"] = np.maximum.reduce([mark["open"], mark["high"], mark["low"], mark["close"]])
    mark["low"] = np.minimum.reduce([mark["open"], mark["high"], mark["low"], mark["close"]])
    mark_bars = pd.DataFrame(
        {"open_time": open_time, **mark, "close_time": open_time + MINUTE_MS - 1}
    )

    funding = _funding(spec, premium, mark["close"], tick, pp)
    return SyntheticData(spec, instrument, bars, trades, mark_bars, funding, regimes)


def _funding(
    spec: SyntheticSpec,
    premium: np.ndarray,
    mark_close: np.ndarray,
    tick: float,
    pp: int,
) -> pd.DataFrame:
    interval = spec.funding_interval_hours * HOUR_MS
    first = -(-spec.start_ms // interval) * interval
    times = np.arange(first, spec.end_ms, interval, dtype=np.int64)
    # Index of the last bar that closed at or before each funding time.
    idx = (times - spec.start_ms) // MINUTE_MS - 1
    window = spec.funding_interval_hours * 60
    lo = np.maximum(idx - window + 1, 0)
    cum = np.concatenate(([0.0], np.cumsum(premium)))
    safe_idx = np.maximum(idx, 0)
    mean_premium = (cum[safe_idx + 1] - cum[lo]) / np.maximum(safe_idx + 1 - lo, 1)
    rate = np.where(idx >= 0, spec.base_funding_rate + mean_premium, spec.base_funding_rate)
    rate = np.round(np.clip(rate, -0.003, 0.003), 8)
    mark = np.where(
        idx >= 0,
        mark_close[safe_idx],
        _round_to(np.array([float(spec.start_price)]), tick, pp)[0],
    )
    return pd.DataFrame(
        {"funding_time": times, "funding_rate": rate, "mark_price": mark.astype(np.float64)}
    )
