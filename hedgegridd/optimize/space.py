"""The search space: Optuna suggestions -> a validated ``StrategyParams``.

Every trial starts from the base parameters (a strategy TOML or the built-in
default), applies ``[base.fixed]`` and then its suggested values, and validates
the result through ``parse_strategy_params``: a combination the strategy would
refuse (e.g. ``regime.ema_fast >= regime.ema_slow``) raises ``ConfigError`` and
the trial is recorded as failed with that reason.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, Protocol

from hedgegridd.optimize.config import OptimizeConfig
from hedgegridd.optimize.ranges import ParamRange, ParamValue, field_of
from hedgegridd.params import (
    StrategyParams,
    default_strategy_params,
    load_strategy_params,
    parse_strategy_params,
)


class Suggester(Protocol):
    """The part of ``optuna.Trial`` the space uses."""

    def suggest_float(
        self, name: str, low: float, high: float, *, step: float | None = None, log: bool = False
    ) -> float: ...

    def suggest_int(
        self, name: str, low: int, high: int, *, step: int = 1, log: bool = False
    ) -> int: ...

    def suggest_categorical(self, name: str, choices: Any) -> Any: ...


def _decimals_of_step(step: float) -> int:
    exponent = Decimal(repr(step)).normalize().as_tuple().exponent
    return max(0, -int(exponent))


def suggest(trial: Suggester, space: Mapping[str, ParamRange]) -> dict[str, ParamValue]:
    """Ask the trial for one value per searched parameter (floats rounded sanely)."""
    values: dict[str, ParamValue] = {}
    for name, rng in space.items():
        if rng.type == "categorical":
            assert rng.choices is not None
            values[name] = trial.suggest_categorical(name, list(rng.choices))
            continue
        assert rng.low is not None
        assert rng.high is not None
        if rng.type == "int":
            step = int(rng.step) if rng.step is not None else 1
            values[name] = trial.suggest_int(
                name, int(rng.low), int(rng.high), step=step, log=rng.log
            )
        else:
            value = trial.suggest_float(name, rng.low, rng.high, step=rng.step, log=rng.log)
            # Optuna returns e.g. 0.30000000000000004 for step 0.1: round to the step's digits.
            digits = _decimals_of_step(rng.step) if rng.step is not None else 6
            values[name] = round(value, digits)
    return values


def _to_field_value(name: str, value: ParamValue) -> Any:
    """Floats destined for Decimal fields go through str() so no binary noise reaches them."""
    if field_of(name).annotation is Decimal and isinstance(value, float | int):
        return str(value)
    return value


def base_document(config: OptimizeConfig) -> dict[str, Any]:
    """The base parameters (file or default) with ``[base.fixed]`` applied, as a mapping."""
    pf = config.base.params_file
    base = load_strategy_params(pf) if pf is not None else default_strategy_params()
    doc = base.model_dump(mode="json")
    return apply_values(doc, config.base.fixed)


def apply_values(doc: Mapping[str, Any], values: Mapping[str, ParamValue]) -> dict[str, Any]:
    """A copy of ``doc`` with dotted ``section.field`` values set."""
    out = copy.deepcopy(dict(doc))
    for name, value in values.items():
        section, field = name.split(".")
        out.setdefault(section, {})[field] = _to_field_value(name, value)
    return out


def build_params(base_doc: Mapping[str, Any], values: Mapping[str, ParamValue]) -> StrategyParams:
    """Validated StrategyParams for one trial; ConfigError names the offending field."""
    return parse_strategy_params(apply_values(base_doc, values), source="strategy")
