"""The replayed price path: 1-minute bars and the intra-bar points the matcher walks.

Bars come from ``hedgegridd.data.synthetic`` (deterministic per seed), from a Nautilus
catalog (``hedgegridd.data.catalog``), or are given explicitly (tests design paths
that cross their orders). Each bar is walked open -> low -> high -> close when it
closes up and open -> high -> low -> close otherwise, with extra points
interpolated when ``steps_per_bar`` > 4. Jumps and scripted moves are not applied
here but per point by the clock (``hedgegridd.sim.shaper``). All prices are
Decimal on the tick grid.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import structlog

from hedgegridd.data.instruments import InstrumentSpec
from hedgegridd.errors import ConfigError, DataError

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class SimBar:
    """One 1-minute OHLCV bar of the replayed path (Decimal prices)."""

    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal = Decimal("10")

    def __post_init__(self) -> None:
        if not (self.low <= min(self.open, self.close) <= max(self.open, self.close) <= self.high):
            raise DataError(f"bar is not consistent: {self}")
        if self.low <= 0:
            raise DataError(f"bar has a non-positive price: {self}")


def round_to_tick(value: Decimal, tick: Decimal) -> Decimal:
    """Nearest multiple of ``tick`` (half up), never below one tick."""
    steps = (value / tick).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return max(steps, Decimal(1)) * tick


def intra_bar_points(bar: SimBar, steps: int, tick: Decimal) -> list[Decimal]:
    """The ``steps`` prices a bar is walked through, ending at its close."""
    if bar.close >= bar.open:
        corners = [bar.open, bar.low, bar.high, bar.close]
    else:
        corners = [bar.open, bar.high, bar.low, bar.close]
    if steps <= 4:
        return corners
    # Spread the extra points over the three legs, interpolating linearly.
    points: list[Decimal] = [corners[0]]
    legs = 3
    extra = steps - 4
    for leg in range(legs):
        start, end = corners[leg], corners[leg + 1]
        n_inner = extra // legs + (1 if leg < extra % legs else 0)
        for j in range(1, n_inner + 1):
            frac = Decimal(j) / Decimal(n_inner + 1)
            points.append(round_to_tick(start + (end - start) * frac, tick))
        points.append(end)
    return points


class PricePath:
    """A replayable sequence of bars, continuous across wrap-arounds."""

    def __init__(self, bars: Sequence[SimBar], tick: Decimal) -> None:
        if not bars:
            raise DataError("the price path has no bars")
        self._bars = list(bars)
        self._tick = tick
        self._wrap_offset = Decimal(0)

    def __len__(self) -> int:
        return len(self._bars)

    @property
    def offset(self) -> Decimal:
        """Shift applied to the recorded prices by wrap-arounds."""
        return self._wrap_offset

    def bar(self, index: int) -> SimBar:
        """Bar ``index`` (wrapping around the recorded data), shifted by the wrap offset."""
        n = len(self._bars)
        if index > 0 and index % n == 0:
            # Keep the path continuous when it wraps: next open continues the last close.
            self._wrap_offset += self._bars[-1].close - self._bars[0].open
        raw = self._bars[index % n]
        shift = self.offset
        low = max(raw.low + shift, self._tick)
        return SimBar(
            open=max(raw.open + shift, low),
            high=max(raw.high + shift, low),
            low=low,
            close=max(raw.close + shift, low),
            volume=raw.volume,
        )

    def points(self, bar: SimBar, steps: int) -> list[Decimal]:
        """Intra-bar points of ``bar`` on the tick grid."""
        return [round_to_tick(p, self._tick) for p in intra_bar_points(bar, steps, self._tick)]


@dataclass(frozen=True, slots=True)
class MarketData:
    """What the simulator replays: bars and, when the source has them, funding rates."""

    bars: list[SimBar]
    funding_rates: list[Decimal]


def _bars_from_columns(opens: Any, highs: Any, lows: Any, closes: Any, vols: Any) -> list[SimBar]:
    return [
        SimBar(Decimal(str(o)), Decimal(str(h)), Decimal(str(lo)), Decimal(str(c)), Decimal(str(v)))
        for o, h, lo, c, v in zip(opens, highs, lows, closes, vols, strict=True)
    ]


def data_from_synthetic(
    seed: int, minutes: int, start_price: Decimal, instrument: InstrumentSpec
) -> MarketData:
    """Bars and funding rates from ``hedgegridd.data.synthetic`` (deterministic per seed)."""
    from hedgegridd.data import synthetic

    spec = synthetic.SyntheticSpec(seed=seed, minutes=minutes, start_price=start_price)
    data = synthetic.generate(spec, instrument)
    bars = data.bars
    rates = [Decimal(str(r)) for r in data.funding["funding_rate"]]
    return MarketData(
        _bars_from_columns(bars["open"], bars["high"], bars["low"], bars["close"], bars["volume"]),
        rates,
    )


def data_from_catalog(path: Path, instrument: InstrumentSpec, limit: int) -> MarketData:
    """Up to ``limit`` 1-minute bars (and the funding rates) from a Nautilus catalog."""
    if not path.is_dir():
        raise ConfigError(f"catalog: path {path} is not a directory")
    from hedgegridd.data import catalog

    bars = catalog.load_bars(path, instrument)[:limit]
    if not bars:
        raise DataError(f"catalog {path}: no bars of {instrument.bar_type()}")
    try:
        rates = [Decimal(str(u.rate)) for u in catalog.load_funding(path, instrument)]
    except (DataError, OSError, ValueError, RuntimeError) as exc:
        log.info("sim.catalog_without_funding", path=str(path), error=str(exc))
        rates = []
    return MarketData(
        _bars_from_columns(
            [b.open for b in bars],
            [b.high for b in bars],
            [b.low for b in bars],
            [b.close for b in bars],
            [b.volume for b in bars],
        ),
        rates,
    )
