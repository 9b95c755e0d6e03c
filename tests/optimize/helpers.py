"""Config builders shared by the optimizer tests."""

from __future__ import annotations

from typing import Any

from hedgegridd.optimize.config import OptimizeConfig, parse_optimize_config

REFERENCE = "tests.optimize.evaluators:reference_grid"
REAL = "hedgegridd.optimize.evaluate:run_backtest"
SCREEN = "hedgegridd.optimize.screen_evaluator:run_backtest"


def config_doc(**overrides: Any) -> dict[str, Any]:
    """A tiny study on 2 days of synthetic bars; the stub evaluator searches and re-runs."""
    doc: dict[str, Any] = {
        "study": {
            "name": "tiny",
            "seed": 11,
            "trials": 4,
            "workers": 1,
            "trial_timeout_s": 120,
            "startup_trials": 2,
        },
        "data": {"synthetic": {"seed": 3, "minutes": 2880}},
        "split": {"test_fraction": 0.25},
        "backtest": {"evaluator": REFERENCE},
        "rerun": {"top_k": 2, "evaluator": REFERENCE},
        "space": {
            "grid.step_bps": {"type": "float", "low": 5, "high": 30, "step": 0.5},
            "exits.tp_bps": {"type": "float", "low": 5, "high": 40, "log": True},
            "grid.levels_per_side": {"type": "int", "low": 3, "high": 6},
        },
        "objective": {"metric": "sharpe"},
        "constraints": {"min_round_trips": 3, "max_drawdown_pct": 50},
    }
    for dotted, value in overrides.items():
        section, key = dotted.split("__")
        doc.setdefault(section, {})[key] = value
    return doc


def tiny_config(**overrides: Any) -> OptimizeConfig:
    """``config_doc`` validated."""
    return parse_optimize_config(config_doc(**overrides))
