"""Parameter optimizer: an Optuna study over backtests of the real strategy.

``hedgegrid optimize CONFIG.toml [--workers N] [--trials N] [--out DIR] [--resume]``
(see ``etc/hedgegrid/optimize-example.toml``). Public API:

- ``load_optimize_config(path) -> OptimizeConfig`` (frozen, validated; ConfigError)
- ``run_optimization(config, out_dir, *, workers, trials, resume, progress) -> StudyResult``
  writes ``best-params.toml`` (loads with ``hedgegridd.params.load_strategy_params``),
  ``summary.json`` and ``report.html`` to ``out_dir``
- ``compute_metrics(BacktestOutcome) -> Metrics``: round trips from fills, metrics
  annualized from the actual span
- the default evaluator ``hedgegridd.optimize.evaluate:run_backtest`` (imports Nautilus;
  it runs in the trial processes only)

Modules: ``config`` (TOML model; ``ranges``: a searched range checked against its
field), ``space`` (suggestions -> StrategyParams),
``windows`` (in/out-of-sample split), ``metrics``, ``trial_process`` (killable,
memory-capped trial process), ``storage`` (sqlite / RDB URL / journal file),
``worker`` (ask/evaluate/tell loop), ``study`` (orchestration, out-of-sample),
``result`` (what a run produced), ``progress``, ``output`` and ``report`` (best TOML,
summary, HTML), ``cli``.
This ``__init__`` imports neither Nautilus nor Optuna.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from hedgegridd.optimize.config import OptimizeConfig, load_optimize_config
    from hedgegridd.optimize.metrics import BacktestOutcome, Metrics, compute_metrics
    from hedgegridd.optimize.result import StudyResult
    from hedgegridd.optimize.study import run_optimization

_EXPORTS = {
    "OptimizeConfig": "hedgegridd.optimize.config",
    "load_optimize_config": "hedgegridd.optimize.config",
    "BacktestOutcome": "hedgegridd.optimize.metrics",
    "Metrics": "hedgegridd.optimize.metrics",
    "compute_metrics": "hedgegridd.optimize.metrics",
    "StudyResult": "hedgegridd.optimize.result",
    "run_optimization": "hedgegridd.optimize.study",
}


def __getattr__(name: str) -> Any:
    """Lazy exports (importing the package stays cheap)."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'hedgegridd.optimize' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


__all__ = [
    "BacktestOutcome",
    "Metrics",
    "OptimizeConfig",
    "StudyResult",
    "compute_metrics",
    "load_optimize_config",
    "run_optimization",
]
