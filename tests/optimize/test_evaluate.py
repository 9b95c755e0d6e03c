"""The default evaluator backtests the real HedgeGridStrategy over one window."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from hedgegridd.data.catalog import write_synthetic_catalog
from hedgegridd.data.synthetic import SyntheticSpec
from hedgegridd.optimize.config import parse_optimize_config
from hedgegridd.optimize.evaluate import run_backtest
from hedgegridd.optimize.metrics import compute_metrics
from hedgegridd.optimize.space import base_document, build_params
from hedgegridd.optimize.trial_process import BacktestTask
from hedgegridd.optimize.windows import split_windows
from hedgegridd.optimize.worker import WorkerJob, task_for

from .helpers import REAL, config_doc, tiny_config


def _task(test_window: bool) -> BacktestTask:
    config = tiny_config(backtest__evaluator=REAL, data__synthetic={"seed": 3, "minutes": 1440})
    windows = split_windows(config)
    base = base_document(config)
    params = build_params(base, {"grid.step_bps": 12.0, "exits.tp_bps": 15.0})
    job = WorkerJob(config, "", 1, 0, windows, base)
    w = windows.test if test_window else windows.train
    return task_for(job, params.model_dump(mode="json"), w.start_ns, w.end_ns)


def test_real_strategy_trades_only_inside_the_window() -> None:
    """Orders and fills happen; every fill and equity sample lies inside the trial window."""
    task = _task(test_window=True)
    outcome = run_backtest(task)
    assert outcome.orders > 0
    assert len(outcome.fills) > 0
    assert all(task.start_ns < f.ts_ns <= task.end_ns for f in outcome.fills)
    assert outcome.equity_ts_ns[0] > task.start_ns
    assert outcome.equity_ts_ns[-1] <= task.end_ns
    metrics = compute_metrics(outcome)
    assert metrics.round_trips > 0
    assert metrics.span_days == pytest.approx(0.25)


def test_real_backtest_is_deterministic() -> None:
    """The same task twice gives identical fills and metrics."""
    task = _task(test_window=True)
    first, second = run_backtest(task), run_backtest(task)
    assert len(first.fills) > 0
    assert first.fills == second.fills
    assert compute_metrics(first) == compute_metrics(second)


def test_catalog_source_backtests_like_the_same_synthetic_data(tmp_path: Path) -> None:
    """A Parquet catalog of the synthetic market gives the same trades as the generator."""
    spec = SyntheticSpec(seed=3, minutes=1440)
    write_synthetic_catalog(tmp_path / "catalog", spec, include_trades=False)
    doc = config_doc(backtest__evaluator=REAL)
    doc["data"] = {
        "catalog": {
            "path": str(tmp_path / "catalog"),
            "start": spec.start.isoformat(),
            "end": (spec.start + timedelta(minutes=spec.minutes)).isoformat(),
        }
    }
    config = parse_optimize_config(doc)
    synthetic = _task(test_window=True)
    from_catalog = BacktestTask(
        synthetic.params, config.data, synthetic.start_ns, synthetic.end_ns, synthetic.venue, 11
    )
    a, b = run_backtest(synthetic), run_backtest(from_catalog)
    assert len(b.fills) > 0
    assert [(f.ts_ns, f.price, f.quantity) for f in b.fills] == [
        (f.ts_ns, f.price, f.quantity) for f in a.fills
    ]
