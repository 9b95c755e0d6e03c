"""Evaluators for the optimizer tests, importable by the spawned trial processes.

``reference_grid`` runs a small deterministic one-rung-per-side grid over the
seeded synthetic bars of the task's window (entry at center -/+ step, take
profit at entry +/- tp, recenter on the close after each take profit) and
reports its fills and equity exactly like a backtest does. The others misbehave
on purpose: sleep past the timeout, allocate past the memory cap, raise.
"""

from __future__ import annotations

import os
import time
from decimal import Decimal
from pathlib import Path

from hedgegridd.backtest.results import FillRecord
from hedgegridd.data.synthetic import generate
from hedgegridd.optimize.metrics import BacktestOutcome
from hedgegridd.optimize.trial_process import BacktestTask
from hedgegridd.params import parse_strategy_params

MAKER_FEE = Decimal("0.0002")


def reference_grid(task: BacktestTask) -> BacktestOutcome:
    """One rung per side, TP exits, recenter after each exit; fills and equity per bar."""
    params = parse_strategy_params(task.params)
    assert task.data.synthetic is not None
    data = generate(task.data.synthetic)
    bars = data.bars
    close_ns = bars["close_time"].to_numpy() * 1_000_000 + 1_000_000
    mask = (close_ns > task.start_ns) & (close_ns <= task.end_ns)
    lows = bars["low"].to_numpy()[mask]
    highs = bars["high"].to_numpy()[mask]
    closes = bars["close"].to_numpy()[mask]
    times = close_ns[mask]
    step = float(params.grid.step_bps) / 1e4
    tp = float(params.exits.tp_bps) / 1e4
    qty = params.grid.base_qty
    cash = task.venue.starting_balance
    fills: list[FillRecord] = []
    center = float(closes[0]) if len(closes) else 0.0
    long_entry: Decimal | None = None
    short_entry: Decimal | None = None
    equity_ts: list[int] = []
    equity: list[float] = []
    n = 0

    def fill(ts: int, side: str, order_side: str, price: float) -> Decimal:
        nonlocal cash, n
        px = Decimal(str(round(price, 1)))
        fee = (px * qty * MAKER_FEE).quantize(Decimal("0.00000001"))
        cash -= fee
        n += 1
        tag = "entry" if (side == "LONG") == (order_side == "BUY") else "tp"
        fills.append(FillRecord(ts, f"O-{n}", f"T-{n}", side, order_side, px, qty, fee, True, tag))
        return px

    for ts, low, high, close in zip(times, lows, highs, closes, strict=True):
        ts = int(ts)
        if long_entry is None and low <= center * (1 - step):
            long_entry = fill(ts, "LONG", "BUY", center * (1 - step))
        elif long_entry is not None and high >= float(long_entry) * (1 + tp):
            exit_px = fill(ts, "LONG", "SELL", float(long_entry) * (1 + tp))
            cash += (exit_px - long_entry) * qty
            long_entry = None
            center = float(close)
        if short_entry is None and high >= center * (1 + step):
            short_entry = fill(ts, "SHORT", "SELL", center * (1 + step))
        elif short_entry is not None and low <= float(short_entry) * (1 - tp):
            exit_px = fill(ts, "SHORT", "BUY", float(short_entry) * (1 - tp))
            cash += (short_entry - exit_px) * qty
            short_entry = None
            center = float(close)
        upnl = Decimal(0)
        px = Decimal(str(close))
        if long_entry is not None:
            upnl += (px - long_entry) * qty
        if short_entry is not None:
            upnl += (short_entry - px) * qty
        equity_ts.append(ts)
        equity.append(float(cash + upnl))
    return BacktestOutcome(
        start_ns=task.start_ns,
        end_ns=task.end_ns,
        starting_balance=task.venue.starting_balance,
        fills=tuple(fills),
        equity_ts_ns=tuple(equity_ts),
        equity=tuple(equity),
        orders=n,
    )


def sleeps_forever(task: BacktestTask) -> BacktestOutcome:
    """Never finishes on its own (the trial timeout must kill it)."""
    while True:
        time.sleep(1.0)


def eats_memory(task: BacktestTask) -> BacktestOutcome:
    """Allocates far past any sane per-trial memory cap."""
    hog = [bytearray(256 * 1024 * 1024) for _ in range(64)]
    raise AssertionError(f"allocated {len(hog)} blocks without hitting the cap")


def raises(task: BacktestTask) -> BacktestOutcome:
    """Fails like a broken backtest."""
    raise RuntimeError("engine exploded on bar 17")


_CALLS = 0


def stalls_after_first(task: BacktestTask) -> BacktestOutcome:
    """With HG_TEST_STALL set: the first trial of a process finishes, later ones hang.

    Gives an interruption test a study that is certainly mid-trial when it is
    stopped; without the variable it is ``reference_grid``.
    """
    global _CALLS
    _CALLS += 1
    if os.environ.get("HG_TEST_STALL") and _CALLS > 1:
        sleeps_forever(task)
    return reference_grid(task)


def waits_for_a_peer(task: BacktestTask) -> BacktestOutcome:
    """``reference_grid`` that first waits (<= 120 s) until two processes reached this point.

    Each trial process registers in the folder named by HG_TEST_BARRIER; two
    optimizer processes sharing a study thus both run trials, whatever their
    start-up skew.
    """
    folder = Path(os.environ["HG_TEST_BARRIER"])
    (folder / str(os.getpid())).touch()
    deadline = time.monotonic() + 120
    while len(list(folder.iterdir())) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
    return reference_grid(task)


def exits_hard(task: BacktestTask) -> BacktestOutcome:
    """Dies without a word, like a segfaulting extension."""
    os._exit(3)
