"""An evaluator whose trial process takes a while to start (its ``prepare`` hook sleeps)."""

from __future__ import annotations

import time
from decimal import Decimal

from hedgegridd.optimize.metrics import BacktestOutcome
from hedgegridd.optimize.trial_process import BacktestTask

PREPARE_S = 6.0


def prepare(task: BacktestTask) -> None:
    """Slow start-up work (like loading a big catalog)."""
    time.sleep(PREPARE_S)


def run(task: BacktestTask) -> BacktestOutcome:
    """Instant: a flat run without trades."""
    return BacktestOutcome(
        task.start_ns, task.end_ns, Decimal(1000), (), (task.end_ns,), (1000.0,), orders=0
    )
