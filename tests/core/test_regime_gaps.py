"""Regime detector (EMA spread, ADX, ATR, hysteresis, warmup, reset) and bar-gap checks."""

from __future__ import annotations

from decimal import Decimal

import pytest

from hedgegridd.core import (
    BarSequence,
    Regime,
    RegimeDetector,
    RegimeSpec,
    check_bar_sequence,
)
from hedgegridd.errors import DomainError

SPEC = RegimeSpec(ema_fast=5, ema_slow=20, adx_period=7, atr_period=7, confirm_bars=2)


def _feed(det: RegimeDetector, closes: list[float]) -> list[Regime]:
    return [det.update(c + 0.5, c - 0.5, c) for c in closes]


def _trend(start: float, step: float, n: int) -> list[float]:
    return [start + step * i for i in range(n)]


def _chop(center: float, n: int) -> list[float]:
    return [center + (1.0 if i % 2 else -1.0) for i in range(n)]


def test_warmup_length_exposed_and_respected() -> None:
    """The detector reports WARMUP for exactly warmup_bars - 1 bars."""
    det = RegimeDetector(SPEC)
    assert det.warmup_bars == SPEC.warmup_bars == 21
    out = _feed(det, _trend(100, 1, 30))
    assert set(out[: det.warmup_bars - 1]) == {Regime.WARMUP}
    assert out[-1] is not Regime.WARMUP
    assert det.is_warm


def test_uptrend_downtrend_and_sideways_detected() -> None:
    """A steady rise reads UP, a steady fall DOWN, a tight chop SIDEWAYS."""
    up = RegimeDetector(SPEC)
    assert _feed(up, _trend(100, 2, 60))[-1] is Regime.UP
    down = RegimeDetector(SPEC)
    assert _feed(down, _trend(300, -2, 60))[-1] is Regime.DOWN
    side = RegimeDetector(SPEC)
    assert _feed(side, _chop(100, 60))[-1] is Regime.SIDEWAYS
    reading = up.reading()
    assert reading.adx is not None
    assert reading.adx > SPEC.adx_threshold
    assert reading.spread_atr is not None
    assert reading.spread_atr > 0


def test_transition_needs_confirm_bars() -> None:
    """A new regime is adopted only after it holds confirm_bars consecutive bars."""
    det = RegimeDetector(
        RegimeSpec(ema_fast=5, ema_slow=20, adx_period=7, atr_period=7, confirm_bars=4)
    )
    out = _feed(det, _chop(100, 30) + _trend(100, 3, 40))
    first_up = out.index(Regime.UP)
    assert out[first_up - 1] is Regime.SIDEWAYS
    tight = RegimeDetector(
        RegimeSpec(ema_fast=5, ema_slow=20, adx_period=7, atr_period=7, confirm_bars=1)
    )
    out_tight = _feed(tight, _chop(100, 30) + _trend(100, 3, 40))
    assert out_tight.index(Regime.UP) == first_up - 3


def _zigzag(start: float, up: float, down: float, n: int) -> list[float]:
    closes, c = [], start
    for i in range(n):
        c += up if i % 2 == 0 else down
        closes.append(c)
    return closes


def test_hysteresis_band_on_adx() -> None:
    """ADX between threshold - hysteresis and threshold holds a trend but never enters one."""
    spec = RegimeSpec(
        ema_fast=5,
        ema_slow=20,
        adx_period=7,
        atr_period=7,
        adx_threshold=40.0,
        adx_hysteresis=15.0,
        confirm_bars=2,
    )
    weak = _zigzag(0.0, 3.0, -1.5, 120)  # ADX settles near 33: inside the band
    held = RegimeDetector(spec)
    strong = _zigzag(100.0, 3.0, -1.0, 80)  # ADX near 49: enters UP
    _feed(held, strong)
    assert held.regime is Regime.UP
    out = _feed(held, [strong[-1] + x for x in weak])
    assert set(out[-40:]) == {Regime.UP}
    fresh = RegimeDetector(spec)
    assert Regime.UP not in _feed(fresh, [100.0 + x for x in weak])
    no_band = RegimeDetector(
        RegimeSpec(
            ema_fast=5,
            ema_slow=20,
            adx_period=7,
            atr_period=7,
            adx_threshold=40.0,
            adx_hysteresis=0.0,
            confirm_bars=2,
        )
    )
    _feed(no_band, strong)
    assert _feed(no_band, [strong[-1] + x for x in weak])[-1] is Regime.SIDEWAYS


def _zigzag_up(n: int) -> list[float]:
    closes, c = [], 100.0
    for i in range(n):
        c += 3.0 if i % 2 == 0 else -1.0
        closes.append(c)
    return closes


def test_adx_threshold_is_configurable() -> None:
    """The same choppy rise (ADX about 49) is UP at threshold 40 and SIDEWAYS at 60."""
    low = RegimeDetector(
        RegimeSpec(ema_fast=5, ema_slow=20, adx_period=7, atr_period=7, adx_threshold=40.0)
    )
    assert _feed(low, _zigzag_up(80))[-1] is Regime.UP
    high = RegimeDetector(
        RegimeSpec(ema_fast=5, ema_slow=20, adx_period=7, atr_period=7, adx_threshold=60.0)
    )
    assert Regime.UP not in _feed(high, _zigzag_up(80))


def test_reset_rewarms() -> None:
    """reset() forgets indicators: the detector is back in WARMUP for warmup_bars."""
    det = RegimeDetector(SPEC)
    _feed(det, _trend(100, 2, 60))
    det.reset()
    assert det.regime is Regime.WARMUP
    assert _feed(det, _trend(100, 2, 5))[-1] is Regime.WARMUP


def test_flat_prices_never_divide_by_zero() -> None:
    """Constant prices (ATR 0, DI sums 0) read SIDEWAYS without ZeroDivisionError."""
    det = RegimeDetector(SPEC)
    out = [det.update(Decimal(100), Decimal(100), Decimal(100)) for _ in range(50)]
    assert out[-1] is Regime.SIDEWAYS


M = 60_000_000_000


def test_bar_sequence_classification() -> None:
    """First, continuous, gap (with missed count), duplicate and out-of-order bars."""
    assert check_bar_sequence(None, M, M).kind is BarSequence.FIRST
    assert check_bar_sequence(M, 2 * M, M).kind is BarSequence.CONTINUOUS
    gap = check_bar_sequence(M, 5 * M, M)
    assert gap.kind is BarSequence.GAP
    assert gap.missed == 3
    assert gap.usable
    assert not check_bar_sequence(2 * M, 2 * M, M).usable
    assert check_bar_sequence(3 * M, 2 * M, M).kind is BarSequence.OUT_OF_ORDER
    with pytest.raises(DomainError):
        check_bar_sequence(0, M, 0)
