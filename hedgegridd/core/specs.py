"""The core's own frozen parameter dataclasses (built from ``hedgegridd.params``).

They re-check only the invariants the core's arithmetic depends on (no division by
zero, no non-positive prices); the user-facing validation with field names and
ranges lives in the pydantic ``StrategyParams``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from decimal import Decimal

from hedgegridd.core.types import BPS, ONE, ZERO
from hedgegridd.errors import DomainError


class Spacing(enum.StrEnum):
    """How rung prices step away from the center."""

    ARITHMETIC = "arithmetic"  # price_i = center * (1 -/+ i * step)
    GEOMETRIC = "geometric"  # price_i = center * (1 -/+ step) ** i


class PolicyKind(enum.StrEnum):
    """How the counter-trend side is thinned in a trending regime."""

    THROTTLED_COUNTER = "throttled_counter"  # counter side: all levels, qty * counter_qty_scale
    CORE_AND_SCALP = "core_and_scalp"  # counter side: only the counter_levels nearest levels


def _require(cond: bool, message: str) -> None:
    if not cond:
        raise DomainError(message)


@dataclass(frozen=True, slots=True)
class LadderSpec:
    """Grid geometry: step, levels, per-level quantity scaling, inventory cap, recenter."""

    step_bps: Decimal
    levels_per_side: int
    base_qty: Decimal
    qty_scale: Decimal = ONE  # qty of level i = base_qty * qty_scale ** (i - 1)
    spacing: Spacing = Spacing.ARITHMETIC
    max_inventory_qty: Decimal = Decimal("1e9")  # per side: position + resting entries
    recenter_bps: Decimal = Decimal(100)

    def __post_init__(self) -> None:
        _require(ZERO < self.step_bps < BPS, "LadderSpec.step_bps must be in (0, 10000)")
        _require(self.levels_per_side >= 0, "LadderSpec.levels_per_side must be >= 0")
        _require(self.base_qty > 0, "LadderSpec.base_qty must be > 0")
        _require(self.qty_scale > 0, "LadderSpec.qty_scale must be > 0")
        _require(self.max_inventory_qty > 0, "LadderSpec.max_inventory_qty must be > 0")
        _require(self.recenter_bps > 0, "LadderSpec.recenter_bps must be > 0")


@dataclass(frozen=True, slots=True)
class ExitSpec:
    """Take-profit and stop-loss distances from the side's average entry price."""

    tp_bps: Decimal
    sl_bps: Decimal

    def __post_init__(self) -> None:
        _require(ZERO < self.tp_bps < BPS, "ExitSpec.tp_bps must be in (0, 10000)")
        _require(ZERO < self.sl_bps < BPS, "ExitSpec.sl_bps must be in (0, 10000)")


@dataclass(frozen=True, slots=True)
class RegimeSpec:
    """Regime detector: EMA fast/slow spread in ATR units, ADX trend strength, hysteresis."""

    ema_fast: int = 12
    ema_slow: int = 48
    adx_period: int = 14
    atr_period: int = 14
    adx_threshold: float = 25.0  # trend needs ADX >= threshold to enter
    adx_hysteresis: float = 5.0  # ... and leaves below threshold - hysteresis
    spread_enter_atr: float = 0.5  # |ema_fast - ema_slow| / ATR to enter a trend
    spread_exit_atr: float = 0.25  # ... and below this to leave it
    confirm_bars: int = 2  # a new regime must hold this many bars before it is adopted

    def __post_init__(self) -> None:
        _require(1 <= self.ema_fast < self.ema_slow, "RegimeSpec needs 1 <= ema_fast < ema_slow")
        _require(self.adx_period >= 1, "RegimeSpec.adx_period must be >= 1")
        _require(self.atr_period >= 1, "RegimeSpec.atr_period must be >= 1")
        _require(self.adx_hysteresis >= 0, "RegimeSpec.adx_hysteresis must be >= 0")
        _require(
            0 <= self.spread_exit_atr <= self.spread_enter_atr,
            "RegimeSpec needs 0 <= spread_exit_atr <= spread_enter_atr",
        )
        _require(self.confirm_bars >= 1, "RegimeSpec.confirm_bars must be >= 1")

    @property
    def warmup_bars(self) -> int:
        """Bars needed before the detector reports anything but WARMUP."""
        return max(self.ema_slow, 2 * self.adx_period, self.atr_period) + 1


@dataclass(frozen=True, slots=True)
class PolicySpec:
    """Placement policy for the counter-trend side."""

    kind: PolicyKind = PolicyKind.THROTTLED_COUNTER
    counter_levels: int = 3
    counter_qty_scale: Decimal = Decimal("0.5")

    def __post_init__(self) -> None:
        _require(self.counter_levels >= 0, "PolicySpec.counter_levels must be >= 0")
        _require(
            ZERO <= self.counter_qty_scale <= ONE, "PolicySpec.counter_qty_scale must be in [0, 1]"
        )


@dataclass(frozen=True, slots=True)
class FundingSpec:
    """Funding guard: inside ``window_ns`` before funding, scale the paying side."""

    enabled: bool = True
    window_ns: int = 30 * 60 * 1_000_000_000
    rate_threshold: Decimal = Decimal("0.0003")  # |rate| at or above which the guard acts
    paying_side_scale: Decimal = Decimal("0.5")

    def __post_init__(self) -> None:
        _require(self.window_ns >= 0, "FundingSpec.window_ns must be >= 0")
        _require(self.rate_threshold >= 0, "FundingSpec.rate_threshold must be >= 0")
        _require(
            ZERO <= self.paying_side_scale <= ONE,
            "FundingSpec.paying_side_scale must be in [0, 1]",
        )


@dataclass(frozen=True, slots=True)
class DiffSpec:
    """Tolerances under which a live entry is considered equal to its desired rung."""

    price_tolerance_bps: Decimal = ZERO
    qty_tolerance_pct: Decimal = ZERO

    def __post_init__(self) -> None:
        _require(self.price_tolerance_bps >= 0, "DiffSpec.price_tolerance_bps must be >= 0")
        _require(self.qty_tolerance_pct >= 0, "DiffSpec.qty_tolerance_pct must be >= 0")


@dataclass(frozen=True, slots=True)
class RiskSpec:
    """Risk gate limits. The breaker trips at ``max_rejections`` within ``rejection_window_ns``."""

    max_drawdown_pct: Decimal = Decimal(20)
    max_rejections: int = 5
    rejection_window_ns: int = 60 * 1_000_000_000
    cooldown_ns: int = 300 * 1_000_000_000
    max_position_qty: Decimal = Decimal("1e9")  # per side: existing + pending + new
    stale_after_ns: int = 180 * 1_000_000_000

    def __post_init__(self) -> None:
        _require(
            ZERO < self.max_drawdown_pct <= Decimal(100),
            "RiskSpec.max_drawdown_pct must be in (0, 100]",
        )
        _require(self.max_rejections >= 1, "RiskSpec.max_rejections must be >= 1")
        _require(self.rejection_window_ns > 0, "RiskSpec.rejection_window_ns must be > 0")
        _require(self.cooldown_ns > 0, "RiskSpec.cooldown_ns must be > 0")
        _require(self.max_position_qty > 0, "RiskSpec.max_position_qty must be > 0")
        _require(self.stale_after_ns > 0, "RiskSpec.stale_after_ns must be > 0")


@dataclass(frozen=True, slots=True)
class GridParams:
    """Every core spec in one bundle (what ``StrategyParams.to_core()`` returns)."""

    ladder: LadderSpec
    exits: ExitSpec
    regime: RegimeSpec = RegimeSpec()
    policy: PolicySpec = PolicySpec()
    funding: FundingSpec = FundingSpec()
    diff: DiffSpec = DiffSpec()
    risk: RiskSpec = RiskSpec()
