"""Trial metrics from a backtest's fills and equity curve.

Trades are counted as *round trips from fills*, not from Nautilus position
objects (hedge mode keeps exactly two positions, LONG and SHORT, for the whole
run, so counting positions would always say 2). The counting is the backtest
report's own (``hedgegridd.backtest.report.round_trips``: per side, an
average-cost book; every closing fill is one round trip with its PnL net of
fees), so the optimizer and ``hedgegrid backtest`` agree on the same run. Before
counting, the fills are replayed per side: an exit larger than the position
means an exit opened or flipped a position, a strategy bug that raises
``BacktestError`` (the trial fails with that reason).

Returns are annualized from the backtest's actual span (``end_ns - start_ns``),
never from an assumed number of days; Sharpe and Sortino use hourly equity
returns (or the raw samples when the run is shorter than a few hours) scaled by
the number of such periods in a year.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from hedgegridd.errors import BacktestError
from hedgegridd.optimize.config import ConstraintsSection

if TYPE_CHECKING:
    from hedgegridd.backtest.results import FillRecord

YEAR_NS = 365 * 86_400 * 1_000_000_000
HOUR_NS = 3_600 * 1_000_000_000
# Caps that keep degenerate ratios finite (Optuna and TPE need finite values).
PROFIT_FACTOR_CAP = 100.0
MIN_DRAWDOWN_FOR_CALMAR_PCT = 0.01


@dataclass(frozen=True, slots=True)
class BacktestOutcome:
    """What one backtest hands to the optimizer (plain data, picklable)."""

    start_ns: int
    end_ns: int
    starting_balance: Decimal
    fills: tuple[FillRecord, ...]
    equity_ts_ns: tuple[int, ...]
    equity: tuple[float, ...]
    orders: int = 0


def check_exits_within_position(fills: Sequence[FillRecord]) -> Decimal:
    """Replay the fills per side; an exit larger than the position raises. Returns open qty."""
    position = {"LONG": Decimal(0), "SHORT": Decimal(0)}
    for fill in fills:
        side = fill.position_side
        entry = (side == "LONG") == (fill.order_side == "BUY")
        if entry:
            position[side] += fill.quantity
            continue
        if fill.quantity > position[side]:
            raise BacktestError(
                f"exit fill {fill.client_order_id} at {fill.ts_ns} exceeds the open {side} "
                f"quantity {position[side]} by {fill.quantity - position[side]}: "
                "an exit opened or flipped a position"
            )
        position[side] -= fill.quantity
    return position["LONG"] + position["SHORT"]


@dataclass(frozen=True, slots=True)
class Metrics:
    """Scores of one backtest window (all finite floats)."""

    span_days: float
    net_pnl: float
    total_return_pct: float
    annualized_return_pct: float
    max_drawdown_pct: float
    sharpe: float
    sortino: float
    calmar: float
    round_trips: int
    win_rate: float
    profit_factor: float
    fills: int
    orders: int
    fees: float
    maker_ratio: float
    open_qty: float

    def as_dict(self) -> dict[str, float | int]:
        """Plain mapping (stored as trial user attributes and in the report)."""
        return {name: getattr(self, name) for name in self.__slots__}


def _sampled(ts: Sequence[int], equity: Sequence[float]) -> list[float]:
    """Equity at the end of each hour, or the raw series when there are fewer than 8 hours."""
    if not equity:
        return []
    buckets: dict[int, float] = {}
    for t, e in zip(ts, equity, strict=True):
        buckets[t // HOUR_NS] = e
    if len(buckets) >= 8:
        return [equity[0], *buckets.values()]
    return list(equity)


def _period_ns(ts: Sequence[int], samples: int, raw: int) -> float:
    if samples != raw:
        return float(HOUR_NS)
    if len(ts) < 2:
        return float(HOUR_NS)
    return max(1.0, (ts[-1] - ts[0]) / (len(ts) - 1))


def _ratio(returns: list[float], periods_per_year: float, downside: bool) -> float:
    if len(returns) < 2:
        return 0.0
    mean = sum(returns) / len(returns)
    if downside:
        dev = math.sqrt(sum(min(r, 0.0) ** 2 for r in returns) / len(returns))
    else:
        dev = math.sqrt(sum((r - mean) ** 2 for r in returns) / (len(returns) - 1))
    if dev <= 1e-15:
        return 0.0
    return mean / dev * math.sqrt(periods_per_year)


def compute_metrics(outcome: BacktestOutcome) -> Metrics:
    """Metrics of one backtest (raises BacktestError if its fills break the exit invariant)."""
    from hedgegridd.backtest.report import round_trips  # Nautilus-heavy: child process only

    open_qty = check_exits_within_position(outcome.fills)
    trips = round_trips(outcome.fills)
    start = float(outcome.starting_balance)
    final = outcome.equity[-1] if outcome.equity else start
    span_ns = max(1, outcome.end_ns - outcome.start_ns)
    span_years = span_ns / YEAR_NS
    growth = final / start
    total_ret = growth - 1.0
    ann = (growth ** (1.0 / span_years) - 1.0) if growth > 0 else -1.0
    ann = min(ann, 1e6)
    peak, max_dd = start, 0.0
    for e in outcome.equity:
        peak = max(peak, e)
        if peak > 0:
            max_dd = max(max_dd, (peak - e) / peak)
    samples = _sampled(outcome.equity_ts_ns, outcome.equity)
    returns = [b / a - 1.0 for a, b in itertools.pairwise(samples) if a > 0]
    ppy = YEAR_NS / _period_ns(outcome.equity_ts_ns, len(samples), len(outcome.equity))
    wins = [t.pnl for t in trips if t.pnl > 0]
    losses = [t.pnl for t in trips if t.pnl <= 0]
    gross_win = float(sum(wins, Decimal(0)))
    gross_loss = -float(sum(losses, Decimal(0)))
    if gross_loss > 0:
        pf = min(gross_win / gross_loss, PROFIT_FACTOR_CAP)
    else:
        pf = PROFIT_FACTOR_CAP if gross_win > 0 else 0.0
    max_dd_pct = max_dd * 100.0
    n_fills = len(outcome.fills)
    return Metrics(
        span_days=span_ns / 86_400e9,
        net_pnl=final - start,
        total_return_pct=total_ret * 100.0,
        annualized_return_pct=ann * 100.0,
        max_drawdown_pct=max_dd_pct,
        sharpe=_ratio(returns, ppy, downside=False),
        sortino=_ratio(returns, ppy, downside=True),
        calmar=ann * 100.0 / max(max_dd_pct, MIN_DRAWDOWN_FOR_CALMAR_PCT),
        round_trips=len(trips),
        win_rate=len(wins) / len(trips) if trips else 0.0,
        profit_factor=pf,
        fills=n_fills,
        orders=outcome.orders,
        fees=float(sum((f.commission for f in outcome.fills), Decimal(0))),
        maker_ratio=sum(1 for f in outcome.fills if f.maker) / n_fills if n_fills else 0.0,
        open_qty=float(open_qty),
    )


def combine_folds(folds: Sequence[Metrics]) -> Metrics:
    """One summary of consecutive fold runs: totals summed, drawdown the worst, ratios averaged."""
    if len(folds) == 1:
        return folds[0]
    n = len(folds)
    trips = sum(f.round_trips for f in folds)
    fills = sum(f.fills for f in folds)

    def mean(name: str) -> float:
        return sum(float(getattr(f, name)) for f in folds) / n

    return Metrics(
        span_days=sum(f.span_days for f in folds),
        net_pnl=sum(f.net_pnl for f in folds),
        total_return_pct=mean("total_return_pct"),
        annualized_return_pct=mean("annualized_return_pct"),
        max_drawdown_pct=max(f.max_drawdown_pct for f in folds),
        sharpe=mean("sharpe"),
        sortino=mean("sortino"),
        calmar=mean("calmar"),
        round_trips=trips,
        win_rate=sum(f.win_rate * f.round_trips for f in folds) / trips if trips else 0.0,
        profit_factor=mean("profit_factor"),
        fills=fills,
        orders=sum(f.orders for f in folds),
        fees=sum(f.fees for f in folds),
        maker_ratio=sum(f.maker_ratio * f.fills for f in folds) / fills if fills else 0.0,
        open_qty=folds[-1].open_qty,
    )


def constraint_values(metrics: Metrics, constraints: ConstraintsSection) -> dict[str, float]:
    """Per constraint, how far it is violated (> 0) or met (<= 0), as Optuna expects."""
    values = {
        "min_round_trips": float(constraints.min_round_trips - metrics.round_trips),
        "max_drawdown_pct": metrics.max_drawdown_pct - constraints.max_drawdown_pct,
    }
    if constraints.min_profit_factor is not None:
        values["min_profit_factor"] = constraints.min_profit_factor - metrics.profit_factor
    if constraints.min_sharpe is not None:
        values["min_sharpe"] = constraints.min_sharpe - metrics.sharpe
    return values


def violations(metrics: Metrics, constraints: ConstraintsSection) -> list[str]:
    """Human-readable reasons a window is infeasible (empty when all constraints hold)."""
    out = []
    for name, amount in constraint_values(metrics, constraints).items():
        if amount > 0:
            out.append(f"{name}: limit {getattr(constraints, name)}, off by {amount:.4g}")
    return out
