"""Trials run in a killable, memory-capped child process."""

from __future__ import annotations

import multiprocessing

import pytest

from hedgegridd.optimize.metrics import Metrics
from hedgegridd.optimize.space import base_document, build_params
from hedgegridd.optimize.trial_process import (
    SPAWN,
    BacktestTask,
    TrialFailure,
    TrialRunner,
    evaluate_in_child,
)
from hedgegridd.optimize.windows import split_windows
from hedgegridd.optimize.worker import WorkerJob, task_for

from .helpers import REFERENCE, tiny_config


def _task() -> BacktestTask:
    config = tiny_config()
    windows = split_windows(config)
    base = base_document(config)
    params = build_params(base, {"grid.step_bps": 10.0, "exits.tp_bps": 10.0})
    job = WorkerJob(config, "sqlite://", 1, 0, windows, base)
    return task_for(
        job, params.model_dump(mode="json"), windows.train.start_ns, windows.train.end_ns
    )


def test_child_returns_metrics_of_a_real_evaluation() -> None:
    """A healthy evaluation comes back as Metrics with round trips."""
    result = evaluate_in_child(REFERENCE, _task(), timeout_s=120, memory_mb=4096)
    assert isinstance(result, Metrics)
    assert result.fills > 0
    assert result.round_trips > 0
    assert result.span_days == pytest.approx(1.5)


def test_one_process_serves_many_trials_and_startup_is_not_timed() -> None:
    """A runner reuses its child; the start-up (prepare) does not count against the timeout."""
    task = _task()
    with TrialRunner(memory_mb=4096) as runner:
        first = runner.evaluate("tests.optimize.slow_start:run", task, timeout_s=5.0)
        assert isinstance(first, Metrics)
        assert first.span_days == pytest.approx(1.5)
        pid = runner.pid
        assert pid is not None
        failed = runner.evaluate("tests.optimize.evaluators:raises", task, timeout_s=60)
        assert isinstance(failed, TrialFailure)
        again = runner.evaluate("tests.optimize.slow_start:run", task, timeout_s=5.0)
        assert again == first
        assert runner.pid == pid


def test_overrunning_trial_is_killed_and_reported() -> None:
    """A trial past its timeout is killed (process-level) and fails with the reason."""
    result = evaluate_in_child(
        "tests.optimize.evaluators:sleeps_forever", _task(), timeout_s=3, memory_mb=4096
    )
    assert isinstance(result, TrialFailure)
    assert result.reason.startswith("timeout: killed after")
    assert not [p for p in multiprocessing.active_children() if p.name == "hedgegrid-trial"]


def test_memory_is_capped_per_trial() -> None:
    """A trial allocating past trial_memory_mb fails with 'out of memory' instead of the host."""
    result = evaluate_in_child(
        "tests.optimize.evaluators:eats_memory", _task(), timeout_s=120, memory_mb=4096
    )
    assert isinstance(result, TrialFailure)
    assert result.reason == "out of memory (limit 4096 MB)"


def test_crashed_trial_process_is_reported_with_its_exit() -> None:
    """A trial process that dies without answering fails the trial with its exit status."""
    result = evaluate_in_child(
        "tests.optimize.evaluators:exits_hard", _task(), timeout_s=120, memory_mb=4096
    )
    assert isinstance(result, TrialFailure)
    assert result.reason == "trial process died with exit code 3"


def test_evaluator_error_is_reported_with_type_and_place() -> None:
    """An exception in the backtest becomes the failure reason (type, message, location)."""
    result = evaluate_in_child(
        "tests.optimize.evaluators:raises", _task(), timeout_s=120, memory_mb=4096
    )
    assert isinstance(result, TrialFailure)
    assert result.reason.startswith("RuntimeError: engine exploded on bar 17 at evaluators.py:")


def test_spawn_is_a_context_not_a_global_start_method() -> None:
    """Importing the optimizer never sets the process-wide start method."""
    assert SPAWN.get_start_method() == "spawn"
    assert multiprocessing.get_start_method(allow_none=True) in (None, "fork", "forkserver")


def test_bad_evaluator_path_fails_the_trial() -> None:
    """An evaluator that cannot be imported is a failed trial with the import error."""
    result = evaluate_in_child("tests.optimize.nope:run", _task(), timeout_s=60, memory_mb=4096)
    assert isinstance(result, TrialFailure)
    assert "ModuleNotFoundError" in result.reason
