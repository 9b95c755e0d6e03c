"""Strategy parameters: validation, TOML loading, conversion to the core specs."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from hedgegridd.core import (
    DecisionInputs,
    GridEngine,
    GridParams,
    InstrumentRules,
    PolicyKind,
    Position,
    Regime,
    Side,
    Spacing,
)
from hedgegridd.errors import ConfigError
from hedgegridd.params import (
    StrategyParams,
    default_strategy_params,
    dump_strategy_params_toml,
    load_strategy_params,
    parse_strategy_params,
)


def _base() -> dict[str, Any]:
    return {
        "grid": {
            "step_bps": "20",
            "levels_per_side": 10,
            "base_qty": "0.002",
            "max_inventory_qty": "0.05",
        },
        "exits": {"tp_bps": "30", "sl_bps": "300"},
        "risk": {"max_position_qty": "0.05"},
    }


def _with(section: str, **values: Any) -> dict[str, Any]:
    data = _base()
    data.setdefault(section, {}).update(values)
    return data


def test_valid_params_convert_to_core() -> None:
    """A valid mapping becomes StrategyParams whose to_core() carries every value."""
    params = parse_strategy_params(_with("policy", kind="core_and_scalp"))
    core = params.to_core()
    assert isinstance(core, GridParams)
    assert core.ladder.step_bps == Decimal("20")
    assert core.ladder.spacing is Spacing.ARITHMETIC
    assert core.policy.kind is PolicyKind.CORE_AND_SCALP
    assert core.risk.rejection_window_ns == 60 * 10**9
    assert core.funding.window_ns == 1800 * 10**9


def test_params_are_frozen_and_forbid_extra_keys() -> None:
    """Params are immutable and unknown keys are rejected with the key named."""
    params = parse_strategy_params(_base())
    with pytest.raises(ValidationError):
        params.grid.step_bps = Decimal(1)  # type: ignore[misc]
    with pytest.raises(ConfigError, match=r"strategy\.grid\.stepbps"):
        parse_strategy_params(_with("grid", stepbps=3))


@pytest.mark.parametrize(
    ("section", "field", "value", "expected"),
    [
        ("grid", "step_bps", 0, r"strategy\.grid\.step_bps.*allowed range: > 0 and <= 1000"),
        ("grid", "levels_per_side", 0, r"grid\.levels_per_side.*>= 1 and <= 200"),
        ("exits", "tp_bps", 6000, r"exits\.tp_bps.*> 0 and <= 5000"),
        ("exits", "sl_bps", -1, r"exits\.sl_bps.*> 0 and <= 5000"),
        ("policy", "counter_qty_scale", 2, r"policy\.counter_qty_scale.*>= 0 and <= 1"),
        ("risk", "max_rejections", 0, r"risk\.max_rejections.*>= 1"),
        ("funding", "paying_side_scale", "1.5", r"funding\.paying_side_scale.*<= 1"),
    ],
)
def test_range_errors_name_field_and_range(
    section: str, field: str, value: Any, expected: str
) -> None:
    """Out-of-range values raise ConfigError naming the dotted field and its allowed range."""
    with pytest.raises(ConfigError, match=expected):
        parse_strategy_params(_with(section, **{field: value}))


def test_cross_field_fast_must_be_below_slow() -> None:
    """ema_fast >= ema_slow is rejected naming both fields."""
    with pytest.raises(ConfigError, match=r"ema_fast \(50\) must be < regime\.ema_slow \(20\)"):
        parse_strategy_params(_with("regime", ema_fast=50, ema_slow=20))


def test_cross_field_arithmetic_ladder_cannot_reach_zero() -> None:
    """An arithmetic ladder whose deepest LONG rung would be <= 0 is rejected."""
    with pytest.raises(ConfigError, match=r"step_bps \* grid\.levels_per_side must be < 10000"):
        parse_strategy_params(_with("grid", step_bps=100, levels_per_side=100))
    ok = parse_strategy_params(
        _with("grid", step_bps=100, levels_per_side=100, spacing="geometric")
    )
    assert ok.grid.spacing == "geometric"


def test_cross_field_counter_levels_and_limits() -> None:
    """counter_levels above levels_per_side, and limits below base_qty, are rejected."""
    with pytest.raises(ConfigError, match=r"policy\.counter_levels \(11\)"):
        parse_strategy_params(_with("policy", counter_levels=11))
    with pytest.raises(ConfigError, match=r"risk\.max_position_qty"):
        parse_strategy_params(_with("risk", max_position_qty="0.001"))
    with pytest.raises(ConfigError, match=r"grid\.max_inventory_qty"):
        parse_strategy_params(_with("grid", max_inventory_qty="0.001"))
    with pytest.raises(ConfigError, match=r"adx_hysteresis"):
        parse_strategy_params(_with("regime", adx_threshold=5, adx_hysteresis=5))


def test_load_toml_strategy_table_and_bare(tmp_path: Path) -> None:
    """The loader accepts a [strategy] table or a bare file, and both give the same params."""
    bare = tmp_path / "bare.toml"
    bare.write_text(dump_strategy_params_toml(parse_strategy_params(_base())))
    nested = tmp_path / "nested.toml"
    nested.write_text(
        "[daemon]\nmode = 'paper'\n"
        "[strategy.grid]\nstep_bps = 20\nlevels_per_side = 10\nbase_qty = '0.002'\n"
        "max_inventory_qty = '0.05'\n"
        "[strategy.exits]\ntp_bps = 30\nsl_bps = 300\n"
        "[strategy.risk]\nmax_position_qty = '0.05'\n"
    )
    assert load_strategy_params(bare) == load_strategy_params(nested)


def test_dump_round_trips_default(tmp_path: Path) -> None:
    """dump_strategy_params_toml writes a TOML the loader reads back to equal params."""
    params = default_strategy_params()
    path = tmp_path / "p.toml"
    path.write_text(dump_strategy_params_toml(params))
    assert load_strategy_params(path) == params
    assert isinstance(params, StrategyParams)


def test_load_errors_are_config_errors(tmp_path: Path) -> None:
    """Missing files, bad TOML and bad values all surface as ConfigError."""
    with pytest.raises(ConfigError, match="not found"):
        load_strategy_params(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[grid\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_strategy_params(bad)
    missing = tmp_path / "missing.toml"
    missing.write_text("[grid]\nstep_bps = 10\n")
    with pytest.raises(ConfigError, match=r"strategy\.grid\.levels_per_side: Field required"):
        load_strategy_params(missing)


def test_default_params_trade_btc_at_demo_prices() -> None:
    """The embedded default yields full ladders on BTCUSDT filters (min notional 100)."""
    rules = InstrumentRules(
        Decimal("0.1"), Decimal("0.001"), Decimal("0.001"), Decimal("1000"), Decimal("100")
    )
    engine = GridEngine(default_strategy_params().to_core(), rules)
    for mid in (Decimal(50_000), Decimal(100_000)):
        engine.reset()
        d = engine.decide(
            DecisionInputs(
                mid=mid,
                center=None,
                regime=Regime.SIDEWAYS,
                now_ns=0,
                long=Position(Side.LONG),
                short=Position(Side.SHORT),
            )
        )
        assert len(d.entries.places) == 20


def test_warmup_bars_matches_core_detector() -> None:
    """StrategyParams.warmup_bars is the core detector's warmup length (history to fetch)."""
    params = parse_strategy_params(_with("regime", ema_slow=30, adx_period=20))
    assert params.warmup_bars == params.to_core().regime.warmup_bars == 41


def test_shipped_example_config_loads() -> None:
    """etc/hedgegrid/strategy-example.toml is accepted by the loader."""
    example = Path(__file__).resolve().parents[1] / "etc" / "hedgegrid" / "strategy-example.toml"
    params = load_strategy_params(example)
    assert params.grid.levels_per_side >= 1


def test_position_limit_is_required_not_defaulted() -> None:
    """Without a risk section (max_position_qty) the params are refused, naming the field."""
    data = _base()
    del data["risk"]
    with pytest.raises(ConfigError, match=r"strategy\.risk"):
        parse_strategy_params(data)
    data["risk"] = {}
    with pytest.raises(ConfigError, match=r"strategy\.risk\.max_position_qty"):
        parse_strategy_params(data)
