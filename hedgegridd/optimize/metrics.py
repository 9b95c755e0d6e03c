"""Trial metrics from a backtest's fills and equity curve.

Trades are counted as *round trips from fills*, not from Nautilus position
objects (hedge mode keeps exactly two positions, LONG and SHORT, for the whole
run, so counting positions would always say 2). Per position side, entry fills
open lots (the partial fills of one entry order make one lot) and exit fills
close the oldest lots first (FIFO); a lot that is fully closed is one round
trip with its PnL net of the entry and exit fees. An exit larger than the open
lots means an exit opened or flipped a position: that is a strategy bug and
raises ``BacktestError`` (the trial fails with that reason).

Returns are annualized from the backtest's actual span (``end_ns - start_ns``),
never from an assumed number of days; Sharpe and Sortino use hourly equity
returns (or the raw samples when the run is shorter than a few hours) scaled by
the number of such periods in a year.
"""

from __future__ import annotations

import itertools
import math
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal

from hedgegridd.errors import BacktestError
from hedgegridd.optimize.config import ConstraintsSection

YEAR_NS = 365 * 86_400 * 1_000_000_000
HOUR_NS = 3_600 * 1_000_000_000
# Caps that keep degenerate ratios finite (Optuna and TPE need finite values).
PROFIT_FACTOR_CAP = 100.0
MIN_DRAWDOWN_FOR_CALMAR_PCT = 0.01


@dataclass(frozen=True, slots=True)
class Fill:
    """One fill as the venue reports it (fee in quote currency, positive = paid)."""

    ts_ns: int
    order_id: str
    position_side: Literal["LONG", "SHORT"]
    order_side: Literal["BUY", "SELL"]
    quantity: Decimal
    price: Decimal
    fee: Decimal = Decimal(0)
    is_maker: bool = True


@dataclass(frozen=True, slots=True)
class RoundTrip:
    """An entry lot fully closed by exits."""

    position_side: Literal["LONG", "SHORT"]
    entry_ts_ns: int
    exit_ts_ns: int
    quantity: Decimal
    entry_price: Decimal
    exit_price: Decimal
    pnl: Decimal  # net of fees


@dataclass(frozen=True, slots=True)
class BacktestOutcome:
    """What one backtest hands to the optimizer (plain data, picklable)."""

    start_ns: int
    end_ns: int
    starting_balance: Decimal
    fills: tuple[Fill, ...]
    equity_ts_ns: tuple[int, ...]
    equity: tuple[float, ...]
    orders: int = 0


@dataclass(slots=True)
class _Lot:
    order_id: str
    ts_ns: int
    qty: Decimal
    remaining: Decimal
    cost: Decimal  # sum(qty * price) of its fills
    fee: Decimal
    exit_value: Decimal = Decimal(0)
    exit_fee: Decimal = Decimal(0)
    exit_ts_ns: int = 0


@dataclass(slots=True)
class _Book:
    lots: deque[_Lot] = field(default_factory=deque)
    by_order: dict[str, _Lot] = field(default_factory=dict)


def _is_entry(fill: Fill) -> bool:
    return (fill.position_side == "LONG") == (fill.order_side == "BUY")


def round_trips(fills: Sequence[Fill]) -> tuple[list[RoundTrip], Decimal]:
    """Round trips (FIFO per side) and the quantity still open at the end."""
    books: dict[str, _Book] = {"LONG": _Book(), "SHORT": _Book()}
    done: list[RoundTrip] = []
    for fill in sorted(fills, key=lambda f: f.ts_ns):
        book = books[fill.position_side]
        if _is_entry(fill):
            lot = book.by_order.get(fill.order_id)
            if lot is None or lot.remaining != lot.qty:
                zero = Decimal(0)
                lot = _Lot(fill.order_id, fill.ts_ns, zero, zero, zero, zero)
                book.lots.append(lot)
                book.by_order[fill.order_id] = lot
            lot.qty += fill.quantity
            lot.remaining += fill.quantity
            lot.cost += fill.quantity * fill.price
            lot.fee += fill.fee
            continue
        left = fill.quantity
        while left > 0:
            if not book.lots:
                raise BacktestError(
                    f"exit fill {fill.order_id} at {fill.ts_ns} exceeds the open "
                    f"{fill.position_side} quantity by {left}: an exit opened or flipped a position"
                )
            lot = book.lots[0]
            take = min(left, lot.remaining)
            lot.remaining -= take
            lot.exit_value += take * fill.price
            lot.exit_fee += fill.fee * take / fill.quantity
            lot.exit_ts_ns = fill.ts_ns
            left -= take
            if lot.remaining == 0:
                book.lots.popleft()
                book.by_order.pop(lot.order_id, None)
                done.append(_close(fill.position_side, lot))
    open_qty = sum((lot.remaining for b in books.values() for lot in b.lots), Decimal(0))
    return done, open_qty


def _close(side: Literal["LONG", "SHORT"], lot: _Lot) -> RoundTrip:
    gross = lot.exit_value - lot.cost if side == "LONG" else lot.cost - lot.exit_value
    return RoundTrip(
        position_side=side,
        entry_ts_ns=lot.ts_ns,
        exit_ts_ns=lot.exit_ts_ns,
        quantity=lot.qty,
        entry_price=lot.cost / lot.qty,
        exit_price=lot.exit_value / lot.qty,
        pnl=gross - lot.fee - lot.exit_fee,
    )


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
    trips, open_qty = round_trips(outcome.fills)
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
        fees=float(sum((f.fee for f in outcome.fills), Decimal(0))),
        maker_ratio=sum(1 for f in outcome.fills if f.is_maker) / n_fills if n_fills else 0.0,
        open_qty=float(open_qty),
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
