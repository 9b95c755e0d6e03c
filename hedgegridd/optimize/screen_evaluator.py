"""Optimizer evaluator on the screening kernel (``[backtest] evaluator`` value below).

    evaluator = "hedgegridd.optimize.screen_evaluator:run_backtest"

Same contract and data as the Nautilus evaluator (``hedgegridd.optimize.evaluate``):
the market of ``task.data`` is loaded once per trial process (the very same Nautilus
objects, converted to arrays once), bars whose minute opens in ``[start_ns, end_ns)``
are traded and up to ``warmup_bars`` bars before the window prime the regime
detector. Returns the fills and the equity curve, so the optimizer's metrics,
constraints and round trips are computed exactly as for a Nautilus trial.
"""

from __future__ import annotations

import bisect

from hedgegridd.errors import BacktestError
from hedgegridd.optimize.evaluate import market_for
from hedgegridd.optimize.metrics import BacktestOutcome
from hedgegridd.optimize.trial_process import BacktestTask
from hedgegridd.params import parse_strategy_params
from hedgegridd.screen.market import BarArrays, from_nautilus
from hedgegridd.screen.run import ScreenVenue, run_screen

_ARRAYS: dict[object, BarArrays] = {}


def _arrays(task: BacktestTask) -> BarArrays:
    cached = _ARRAYS.get(task.data)
    if cached is None:
        m = market_for(task.data)
        cached = from_nautilus(m.instrument, m.bars, m.funding, m.marks)
        _ARRAYS.clear()
        _ARRAYS[task.data] = cached
    return cached


def run_backtest(task: BacktestTask) -> BacktestOutcome:
    """Screen ``task.params`` over ``[task.start_ns, task.end_ns)``."""
    params = parse_strategy_params(task.params)
    arrays = _arrays(task)
    close = arrays.close_ns.tolist()
    first = bisect.bisect_right(close, task.start_ns)
    last = bisect.bisect_right(close, task.end_ns)
    if first >= last:
        raise BacktestError("no bars in the trial window")
    warm_from = max(0, first - params.warmup_bars)
    window = arrays.window(warm_from, last)
    result = run_screen(params, window, ScreenVenue.of(task.venue), warmup_bars=first - warm_from)
    return BacktestOutcome(
        start_ns=task.start_ns,
        end_ns=task.end_ns,
        starting_balance=task.venue.starting_balance,
        fills=result.fill_records(),
        equity_ts_ns=tuple(int(t) for t in window.close_ns[first - warm_from :]),
        equity=tuple(float(e) for e in result.equity),
        orders=result.orders,
    )


def prepare(task: BacktestTask) -> None:
    """Trial-process start hook: load the market and compile/load the kernel once."""
    arrays = _arrays(task)
    run_screen(parse_strategy_params(task.params), arrays.window(0, min(len(arrays), 500)))


__all__ = ["prepare", "run_backtest"]
