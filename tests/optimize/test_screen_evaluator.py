"""The screening evaluator: same task contract as the Nautilus one, fills close to it."""

from __future__ import annotations

import pytest

from hedgegridd.optimize import evaluate, screen_evaluator
from hedgegridd.optimize.metrics import compute_metrics
from hedgegridd.optimize.space import base_document, build_params
from hedgegridd.optimize.trial_process import BacktestTask
from hedgegridd.optimize.windows import split_windows
from hedgegridd.optimize.worker import WorkerJob, task_for

from .helpers import REAL, tiny_config


def _task() -> BacktestTask:
    config = tiny_config(backtest__evaluator=REAL, data__synthetic={"seed": 3, "minutes": 1440})
    windows = split_windows(config)
    base = base_document(config)
    params = build_params(base, {"grid.step_bps": 12.0, "exits.tp_bps": 15.0})
    job = WorkerJob(config, "", 1, 0, windows, base)
    w = windows.train
    return task_for(job, params.model_dump(mode="json"), w.start_ns, w.end_ns)


def test_screen_evaluator_trades_inside_the_window() -> None:
    """Fills and equity samples lie in the window; the optimizer's metrics compute."""
    task = _task()
    outcome = screen_evaluator.run_backtest(task)
    assert outcome.orders > 0
    assert len(outcome.fills) > 0
    assert all(task.start_ns < f.ts_ns <= task.end_ns for f in outcome.fills)
    assert outcome.equity_ts_ns[0] > task.start_ns
    assert outcome.equity_ts_ns[-1] <= task.end_ns
    assert len(outcome.equity) == len(outcome.equity_ts_ns)
    assert compute_metrics(outcome).round_trips > 0


@pytest.mark.slow
def test_screen_fills_agree_with_the_nautilus_evaluator() -> None:
    """Tiny parity check: the same task on both engines, fills within 10 %."""
    task = _task()
    screen = screen_evaluator.run_backtest(task)
    reference = evaluate.run_backtest(task)
    assert len(reference.fills) > 10
    diff = abs(len(screen.fills) - len(reference.fills))
    assert diff <= max(2, 0.10 * len(reference.fills)), (len(screen.fills), len(reference.fills))
