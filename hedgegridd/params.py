"""Grid strategy parameters: frozen pydantic models validated once at the edge.

``StrategyParams`` is what the strategy adapter, backtest, daemon and optimizer load;
``to_core()`` converts it to the pure core's frozen dataclasses (``GridParams``).

TOML layout (``load_strategy_params``): either a file whose top level has a
``[strategy]`` table (so it can share a file with other sections) or a bare file
whose top level *is* the strategy; sub-tables ``grid``, ``exits``, ``regime``,
``policy``, ``funding``, ``orders``, ``risk``. ``grid``, ``exits`` and ``risk`` are
required (``risk.max_position_qty`` has no default: the position limit is always
explicit); the other sections are optional. ``dump_strategy_params_toml`` writes the
bare form.

Errors are ``ConfigError`` whose message names the field (dotted path) and its
allowed range, e.g. ``strategy.grid.step_bps: Input should be greater than 0
(allowed range: > 0 and <= 1000); got 0``.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import annotated_types
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from hedgegridd.configfile import read_toml
from hedgegridd.core.specs import (
    DiffSpec,
    ExitSpec,
    FundingSpec,
    GridParams,
    LadderSpec,
    PolicyKind,
    PolicySpec,
    RegimeSpec,
    RiskSpec,
    Spacing,
)
from hedgegridd.errors import ConfigError

_NS = 1_000_000_000


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class GridSection(_Frozen):
    """Ladder geometry."""

    step_bps: Decimal = Field(gt=0, le=1000, description="distance between rungs, bps of center")
    levels_per_side: int = Field(ge=1, le=200, description="rungs per side")
    base_qty: Decimal = Field(gt=0, description="quantity of level 1, base asset")
    qty_scale: Decimal = Field(default=Decimal(1), ge=Decimal("0.1"), le=5)
    spacing: Literal["arithmetic", "geometric"] = "arithmetic"
    max_inventory_qty: Decimal = Field(gt=0, description="per side: position + resting entries")
    recenter_bps: Decimal = Field(default=Decimal(100), gt=0, le=5000)

    @model_validator(mode="after")
    def _check(self) -> GridSection:
        if self.spacing == "arithmetic" and self.step_bps * self.levels_per_side >= 10_000:
            raise ValueError(
                "grid.step_bps * grid.levels_per_side must be < 10000 with arithmetic spacing "
                f"(the deepest LONG rung would be at or below zero); got "
                f"{self.step_bps} * {self.levels_per_side}"
            )
        if self.max_inventory_qty < self.base_qty:
            raise ValueError(
                f"grid.max_inventory_qty ({self.max_inventory_qty}) must be >= grid.base_qty "
                f"({self.base_qty})"
            )
        return self


class ExitsSection(_Frozen):
    """Take-profit and stop-loss distances from the side's average entry price."""

    tp_bps: Decimal = Field(gt=0, le=5000)
    sl_bps: Decimal = Field(gt=0, le=5000)


class RegimeSection(_Frozen):
    """Regime detector settings."""

    ema_fast: int = Field(default=12, ge=2, le=500)
    ema_slow: int = Field(default=48, ge=3, le=2000)
    adx_period: int = Field(default=14, ge=2, le=200)
    atr_period: int = Field(default=14, ge=2, le=200)
    adx_threshold: float = Field(default=25.0, gt=0, le=100)
    adx_hysteresis: float = Field(default=5.0, ge=0, le=50)
    spread_enter_atr: float = Field(default=0.5, ge=0, le=20)
    spread_exit_atr: float = Field(default=0.25, ge=0, le=20)
    confirm_bars: int = Field(default=2, ge=1, le=100)

    @model_validator(mode="after")
    def _check(self) -> RegimeSection:
        if self.ema_fast >= self.ema_slow:
            raise ValueError(
                f"regime.ema_fast ({self.ema_fast}) must be < regime.ema_slow ({self.ema_slow})"
            )
        if self.spread_exit_atr > self.spread_enter_atr:
            raise ValueError(
                f"regime.spread_exit_atr ({self.spread_exit_atr}) must be <= "
                f"regime.spread_enter_atr ({self.spread_enter_atr})"
            )
        if self.adx_hysteresis >= self.adx_threshold:
            raise ValueError(
                f"regime.adx_hysteresis ({self.adx_hysteresis}) must be < "
                f"regime.adx_threshold ({self.adx_threshold})"
            )
        return self


class PolicySection(_Frozen):
    """Counter-trend placement policy."""

    kind: Literal["throttled_counter", "core_and_scalp"] = "throttled_counter"
    counter_levels: int = Field(default=3, ge=0, le=200)
    counter_qty_scale: Decimal = Field(default=Decimal("0.5"), ge=0, le=1)


class FundingSection(_Frozen):
    """Funding guard."""

    enabled: bool = True
    window_s: int = Field(default=1800, ge=0, le=8 * 3600)
    rate_threshold: Decimal = Field(default=Decimal("0.0003"), ge=0, le=Decimal("0.05"))
    paying_side_scale: Decimal = Field(default=Decimal("0.5"), ge=0, le=1)


class OrdersSection(_Frozen):
    """Order diff tolerances."""

    price_tolerance_bps: Decimal = Field(default=Decimal(0), ge=0, le=100)
    qty_tolerance_pct: Decimal = Field(default=Decimal(0), ge=0, le=50)


class RiskSection(_Frozen):
    """Risk gate limits."""

    max_drawdown_pct: Decimal = Field(default=Decimal(20), gt=0, le=100)
    max_rejections: int = Field(default=5, ge=1, le=1000)
    rejection_window_s: float = Field(default=60.0, gt=0, le=86_400)
    cooldown_s: float = Field(default=300.0, gt=0, le=86_400)
    max_position_qty: Decimal = Field(gt=0, description="per side: existing + pending + new")
    stale_after_s: float = Field(default=180.0, gt=0, le=86_400)


class StrategyParams(_Frozen):
    """All grid strategy parameters. Construct via ``parse_strategy_params``/``load_...``."""

    grid: GridSection
    exits: ExitsSection
    regime: RegimeSection = RegimeSection()
    policy: PolicySection = PolicySection()
    funding: FundingSection = FundingSection()
    orders: OrdersSection = OrdersSection()
    risk: RiskSection

    @model_validator(mode="after")
    def _check(self) -> StrategyParams:
        if self.policy.counter_levels > self.grid.levels_per_side:
            raise ValueError(
                f"policy.counter_levels ({self.policy.counter_levels}) must be <= "
                f"grid.levels_per_side ({self.grid.levels_per_side})"
            )
        if self.risk.max_position_qty < self.grid.base_qty:
            raise ValueError(
                f"risk.max_position_qty ({self.risk.max_position_qty}) must be >= "
                f"grid.base_qty ({self.grid.base_qty})"
            )
        return self

    @property
    def warmup_bars(self) -> int:
        """Bars of history the regime detector needs before it reports a regime."""
        r = self.regime
        return max(r.ema_slow, 2 * r.adx_period, r.atr_period) + 1

    def to_core(self) -> GridParams:
        """The pure core's parameter bundle."""
        g, x, r, p, f, o, k = (
            self.grid,
            self.exits,
            self.regime,
            self.policy,
            self.funding,
            self.orders,
            self.risk,
        )
        return GridParams(
            ladder=LadderSpec(
                step_bps=g.step_bps,
                levels_per_side=g.levels_per_side,
                base_qty=g.base_qty,
                qty_scale=g.qty_scale,
                spacing=Spacing(g.spacing),
                max_inventory_qty=g.max_inventory_qty,
                recenter_bps=g.recenter_bps,
            ),
            exits=ExitSpec(tp_bps=x.tp_bps, sl_bps=x.sl_bps),
            regime=RegimeSpec(
                ema_fast=r.ema_fast,
                ema_slow=r.ema_slow,
                adx_period=r.adx_period,
                atr_period=r.atr_period,
                adx_threshold=r.adx_threshold,
                adx_hysteresis=r.adx_hysteresis,
                spread_enter_atr=r.spread_enter_atr,
                spread_exit_atr=r.spread_exit_atr,
                confirm_bars=r.confirm_bars,
            ),
            policy=PolicySpec(
                kind=PolicyKind(p.kind),
                counter_levels=p.counter_levels,
                counter_qty_scale=p.counter_qty_scale,
            ),
            funding=FundingSpec(
                enabled=f.enabled,
                window_ns=f.window_s * _NS,
                rate_threshold=f.rate_threshold,
                paying_side_scale=f.paying_side_scale,
            ),
            diff=DiffSpec(
                price_tolerance_bps=o.price_tolerance_bps, qty_tolerance_pct=o.qty_tolerance_pct
            ),
            risk=RiskSpec(
                max_drawdown_pct=k.max_drawdown_pct,
                max_rejections=k.max_rejections,
                rejection_window_ns=int(k.rejection_window_s * _NS),
                cooldown_ns=int(k.cooldown_s * _NS),
                max_position_qty=k.max_position_qty,
                stale_after_ns=int(k.stale_after_s * _NS),
            ),
        )


_RANGE_TEXT = {
    annotated_types.Gt: "> {}",
    annotated_types.Ge: ">= {}",
    annotated_types.Lt: "< {}",
    annotated_types.Le: "<= {}",
}


def _allowed_range(loc: tuple[int | str, ...]) -> str | None:
    """The declared bounds of the field at ``loc`` (e.g. '> 0 and <= 1000'), if any."""
    model: type[BaseModel] = StrategyParams
    field = None
    for part in loc:
        if not isinstance(part, str) or part not in model.model_fields:
            return None
        field = model.model_fields[part]
        ann = field.annotation
        if isinstance(ann, type) and issubclass(ann, BaseModel):
            model = ann
    if field is None:
        return None
    parts: list[str] = []
    for meta in field.metadata:
        for kind, text in _RANGE_TEXT.items():
            if isinstance(meta, kind):
                parts.append(text.format(getattr(meta, kind.__name__.lower())))
    return " and ".join(parts) if parts else None


def _format_errors(exc: ValidationError, prefix: str) -> str:
    lines: list[str] = []
    for err in exc.errors(include_url=False):
        loc = tuple(err["loc"])
        path = ".".join([prefix, *(str(p) for p in loc)]) if loc else prefix
        msg = str(err["msg"]).removeprefix("Value error, ")
        line = f"{path}: {msg}"
        rng = _allowed_range(loc)
        if rng is not None and err["type"] != "missing":
            line += f" (allowed range: {rng})"
        if "input" in err and err["type"] not in ("missing", "value_error") and loc:
            line += f"; got {err['input']!r}"
        lines.append(line)
    return "; ".join(lines)


def parse_strategy_params(data: Mapping[str, Any], *, source: str = "strategy") -> StrategyParams:
    """Validate a mapping into ``StrategyParams``; ConfigError names field and range."""
    try:
        return StrategyParams.model_validate(dict(data))
    except ValidationError as exc:
        raise ConfigError(f"invalid strategy parameters: {_format_errors(exc, source)}") from exc


def load_strategy_params(path: str | Path) -> StrategyParams:
    """Read strategy parameters from TOML (a ``[strategy]`` table or a bare file)."""
    p = Path(path)
    doc = read_toml(p, "strategy parameter file")
    if "strategy" in doc:
        section = doc["strategy"]
        if not isinstance(section, dict):
            raise ConfigError(f"{p}: [strategy] must be a table")
        return parse_strategy_params(section, source="strategy")
    return parse_strategy_params(doc, source="strategy")


def default_strategy_params() -> StrategyParams:
    """A conservative BTCUSDT-sized default (used by the demo and as a template)."""
    return parse_strategy_params(
        {
            "grid": {
                "step_bps": "25",
                "levels_per_side": 10,
                "base_qty": "0.003",
                "qty_scale": "1",
                "max_inventory_qty": "0.06",
                "recenter_bps": "150",
            },
            "exits": {"tp_bps": "40", "sl_bps": "400"},
            "risk": {"max_position_qty": "0.06"},
        }
    )


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return f'"{value}"'
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    raise ConfigError(f"cannot write {type(value).__name__} to TOML")


def dump_strategy_params_toml(params: StrategyParams) -> str:
    """TOML text (bare form, one table per section) that ``load_strategy_params`` reads back."""
    out: list[str] = []
    for section_name in StrategyParams.model_fields:
        section = getattr(params, section_name)
        out.append(f"[{section_name}]")
        for key in type(section).model_fields:
            out.append(f"{key} = {_toml_value(getattr(section, key))}")
        out.append("")
    return "\n".join(out)


__all__ = [
    "ExitsSection",
    "FundingSection",
    "GridSection",
    "OrdersSection",
    "PolicySection",
    "RegimeSection",
    "RiskSection",
    "StrategyParams",
    "default_strategy_params",
    "dump_strategy_params_toml",
    "load_strategy_params",
    "parse_strategy_params",
]
