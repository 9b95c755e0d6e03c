"""Regime detector: EMA fast/slow spread in ATR units plus ADX, with hysteresis.

Indicators are floats (they decide a label, never a price or quantity). Rules once
warm (``RegimeSpec.warmup_bars`` bars):

* enter a trend (from SIDEWAYS, or flip UP <-> DOWN): ADX >= ``adx_threshold`` and
  |ema_fast - ema_slow| / ATR >= ``spread_enter_atr``; the sign picks UP or DOWN;
* stay in a trend while ADX >= ``adx_threshold - adx_hysteresis`` and the spread keeps
  its sign with magnitude >= ``spread_exit_atr``; otherwise the candidate is SIDEWAYS;
* every transition needs the candidate to hold ``confirm_bars`` consecutive bars.

After a gap in the bar stream call ``reset()``: the detector re-warms instead of
feeding indicators as if the series were continuous.
"""

from __future__ import annotations

from dataclasses import dataclass

from hedgegridd.core.specs import RegimeSpec
from hedgegridd.core.types import Regime


class _Wilder:
    """Wilder's running average: mean of the first ``n`` values, then (prev*(n-1)+x)/n."""

    __slots__ = ("_count", "_n", "_seed", "value")

    def __init__(self, n: int) -> None:
        self._n = n
        self._seed = 0.0
        self._count = 0
        self.value: float | None = None

    def update(self, x: float) -> float | None:
        if self.value is None:
            self._seed += x
            self._count += 1
            if self._count == self._n:
                self.value = self._seed / self._n
            return self.value
        self.value = (self.value * (self._n - 1) + x) / self._n
        return self.value


class _Ema:
    __slots__ = ("_alpha", "value")

    def __init__(self, n: int) -> None:
        self._alpha = 2.0 / (n + 1)
        self.value: float | None = None

    def update(self, x: float) -> float:
        self.value = x if self.value is None else self.value + self._alpha * (x - self.value)
        return self.value


@dataclass(frozen=True, slots=True)
class RegimeReading:
    """The detector's state after a bar (indicator values are None until available)."""

    regime: Regime
    bars: int
    ema_fast: float | None
    ema_slow: float | None
    atr: float | None
    adx: float | None
    spread_atr: float | None


class RegimeDetector:
    """Stateful detector fed one bar (high, low, close) at a time."""

    def __init__(self, spec: RegimeSpec) -> None:
        self.spec = spec
        self.reset()

    @property
    def warmup_bars(self) -> int:
        """Bars needed after construction or ``reset()`` before a regime is reported."""
        return self.spec.warmup_bars

    @property
    def regime(self) -> Regime:
        """Current regime (WARMUP until warm)."""
        return self._regime

    @property
    def is_warm(self) -> bool:
        """True once enough bars were seen."""
        return self._bars >= self.spec.warmup_bars

    def reset(self) -> None:
        """Forget every indicator and re-warm (after a gap or a restart)."""
        s = self.spec
        self._ema_fast = _Ema(s.ema_fast)
        self._ema_slow = _Ema(s.ema_slow)
        self._atr = _Wilder(s.atr_period)
        self._tr_adx = _Wilder(s.adx_period)
        self._pdm = _Wilder(s.adx_period)
        self._mdm = _Wilder(s.adx_period)
        self._adx = _Wilder(s.adx_period)
        self._prev: tuple[float, float, float] | None = None
        self._bars = 0
        self._regime = Regime.WARMUP
        self._candidate: Regime | None = None
        self._candidate_bars = 0
        self._spread: float | None = None

    def update(self, high: object, low: object, close: object) -> Regime:
        """Feed one completed bar (Decimal, float or int prices); returns the regime."""
        h, lo, c = float(str(high)), float(str(low)), float(str(close))
        fast = self._ema_fast.update(c)
        slow = self._ema_slow.update(c)
        if self._prev is not None:
            ph, pl, pc = self._prev
            tr = max(h - lo, abs(h - pc), abs(lo - pc))
            up, down = h - ph, pl - lo
            pdm = up if up > down and up > 0 else 0.0
            mdm = down if down > up and down > 0 else 0.0
            self._atr.update(tr)
            str_ = self._tr_adx.update(tr)
            spdm = self._pdm.update(pdm)
            smdm = self._mdm.update(mdm)
            if str_ is not None and spdm is not None and smdm is not None:
                dx = 0.0
                if str_ > 0:
                    pdi, mdi = 100.0 * spdm / str_, 100.0 * smdm / str_
                    if pdi + mdi > 0:
                        dx = 100.0 * abs(pdi - mdi) / (pdi + mdi)
                self._adx.update(dx)
        self._prev = (h, lo, c)
        self._bars += 1
        atr = self._atr.value
        self._spread = (fast - slow) / atr if atr is not None and atr > 0 else 0.0
        if not self.is_warm or self._adx.value is None:
            return self._regime
        if self._regime is Regime.WARMUP:
            self._regime = Regime.SIDEWAYS
        self._step(self._classify(self._adx.value, self._spread))
        return self._regime

    def _classify(self, adx: float, spread: float) -> Regime:
        s = self.spec
        direction = Regime.UP if spread > 0 else Regime.DOWN
        entering = adx >= s.adx_threshold and abs(spread) >= s.spread_enter_atr
        if self._regime in (Regime.UP, Regime.DOWN):
            holding = (
                direction is self._regime
                and adx >= s.adx_threshold - s.adx_hysteresis
                and abs(spread) >= s.spread_exit_atr
            )
            if holding:
                return self._regime
            if entering and direction is not self._regime:
                return direction
            return Regime.SIDEWAYS
        return direction if entering else Regime.SIDEWAYS

    def _step(self, candidate: Regime) -> None:
        if candidate is self._regime:
            self._candidate, self._candidate_bars = None, 0
            return
        if candidate is self._candidate:
            self._candidate_bars += 1
        else:
            self._candidate, self._candidate_bars = candidate, 1
        if self._candidate_bars >= self.spec.confirm_bars:
            self._regime = candidate
            self._candidate, self._candidate_bars = None, 0

    def reading(self) -> RegimeReading:
        """Current regime and indicator values."""
        return RegimeReading(
            regime=self._regime,
            bars=self._bars,
            ema_fast=self._ema_fast.value,
            ema_slow=self._ema_slow.value,
            atr=self._atr.value,
            adx=self._adx.value,
            spread_atr=self._spread,
        )
