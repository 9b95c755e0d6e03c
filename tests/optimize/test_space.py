"""Search space: suggestions become validated StrategyParams."""

from __future__ import annotations

from decimal import Decimal

import optuna
import pytest

from hedgegridd.errors import ConfigError
from hedgegridd.optimize.config import parse_optimize_config
from hedgegridd.optimize.space import base_document, build_params, suggest

from .helpers import config_doc


def test_suggestions_build_valid_params_with_clean_decimals() -> None:
    """Stepped floats land on the step without binary noise and reach Decimal fields exactly."""
    doc = config_doc()
    doc["space"]["grid.step_bps"] = {"type": "float", "low": 0.1, "high": 0.9, "step": 0.1}
    doc["space"]["policy.kind"] = {
        "type": "categorical",
        "choices": ["throttled_counter", "core_and_scalp"],
    }
    config = parse_optimize_config(doc)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))
    base = base_document(config)
    for _ in range(20):
        trial = study.ask()
        values = suggest(trial, config.space)
        params = build_params(base, values)
        step = params.grid.step_bps
        assert step == step.quantize(Decimal("0.1"))
        assert Decimal("0.1") <= step <= Decimal("0.9")
        assert 3 <= params.grid.levels_per_side <= 6
        assert params.policy.kind in ("throttled_counter", "core_and_scalp")
        study.tell(trial, 0.0)


def test_fixed_values_apply_to_every_trial() -> None:
    """[base.fixed] overrides the base parameters."""
    doc = config_doc()
    doc["base"] = {"fixed": {"risk.max_position_qty": "0.04", "funding.enabled": False}}
    config = parse_optimize_config(doc)
    params = build_params(base_document(config), {"grid.step_bps": 10.0})
    assert params.risk.max_position_qty == Decimal("0.04")
    assert params.funding.enabled is False


def test_refused_combination_raises_config_error_naming_fields() -> None:
    """A combination the strategy refuses raises ConfigError with the fields involved."""
    config = parse_optimize_config(config_doc())
    with pytest.raises(ConfigError, match=r"ema_fast .* must be < regime\.ema_slow"):
        build_params(base_document(config), {"regime.ema_fast": 60, "regime.ema_slow": 50})
