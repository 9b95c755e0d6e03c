"""Backtest metrics (``report.json``) computed from plain ``BacktestResults``.

Round trips: every fill of a closing order (a SELL on the LONG side, a BUY on
the SHORT side) is one round trip; its PnL is measured against the side's
average entry price at that moment (average-cost book, Decimal) minus the fees
of the closing fill and the pro-rata fees of the entries it closes. Win rate and
profit factor are over those round trips.

Sharpe and Sortino use hourly returns of the equity curve, annualized with
sqrt(24 * 365) (crypto trades every hour of the year); ``annualization`` in the
report states that basis and the period length, with a caveat when the period is
shorter than 30 days. Calmar is the annualized return over the maximum drawdown.
Drawdown is in percent everywhere (``max_drawdown_pct``, the plot); the
``max_drawdown`` fraction is kept for the screening parity tool only. Funding
paid/received comes from the funding settlement module. ``units`` names the unit
of every figure (quote currency, base currency, %, s).
"""

from __future__ import annotations

import datetime as dt
import json
import math
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np

import hedgegridd
from hedgegridd.backtest.results import BacktestResults, FillRecord

_HOURS_PER_YEAR = 24 * 365
_NS_PER_HOUR = 3_600_000_000_000
_SHORT_PERIOD_DAYS = 30
_QUOTES = ("USDT", "USDC", "FDUSD", "BUSD", "USD")


def currencies(instrument_id: str) -> tuple[str, str]:
    """(base, quote) of a symbol like ``BTCUSDT-PERP.BINANCE`` (("?", "?") when unknown)."""
    symbol = instrument_id.split(".")[0].split("-")[0]
    for quote in _QUOTES:
        if symbol.endswith(quote) and len(symbol) > len(quote):
            return symbol[: -len(quote)], quote
    return "?", "?"


def units(instrument_id: str) -> dict[str, str]:
    """The unit of every report figure (money in the quote currency, quantities in the base)."""
    base, quote = currencies(instrument_id)
    money = [
        "start_balance",
        "final_equity",
        "net_pnl",
        "fees",
        "funding_paid",
        "funding_received",
        "exposure.long_avg_notional",
        "exposure.long_max_notional",
        "exposure.short_avg_notional",
        "exposure.short_max_notional",
        "strategy.realized_pnl",
    ]
    doc = {k: quote for k in money}
    doc.update({k: base for k in ("exposure.final_long_qty", "exposure.final_short_qty")})
    doc.update(
        {
            k: "%"
            for k in (
                "total_return_pct",
                "annualized_return_pct",
                "max_drawdown_pct",
                "win_rate_pct",
                "maker_ratio_pct",
            )
        }
    )
    doc.update(
        max_drawdown="fraction 0..1 (same figure as max_drawdown_pct)",
        total_return="fraction",
        annualized_return="fraction",
        win_rate="fraction",
        maker_ratio="fraction",
        max_drawdown_duration_s="s",
        run_seconds="s",
        period_days="days",
        sharpe="annualized, see annualization",
        sortino="annualized, see annualization",
        calmar="ratio",
        profit_factor="ratio",
    )
    return doc


def annualization(period_days: float) -> dict[str, Any]:
    """How Sharpe/Sortino are annualized, over how long a period, and a caveat when short."""
    doc: dict[str, Any] = {
        "basis": "hourly equity returns x sqrt(8760) (24 h x 365 days)",
        "period_days": round(period_days, 3),
        "caveat": None,
    }
    if period_days < _SHORT_PERIOD_DAYS:
        doc["caveat"] = (
            f"period is only {period_days:.1f} days: annualized ratios extrapolate it "
            "to a year and are not a reliable estimate"
        )
    return doc


def _trip_doc(t: RoundTrip) -> dict[str, Any]:
    def iso(ns: int) -> str:
        return dt.datetime.fromtimestamp(ns / 1e9, tz=dt.UTC).isoformat()

    q = Decimal("0.0001")
    return {
        "entry_time": iso(t.entry_ts_ns),
        "exit_time": iso(t.ts_ns),
        "side": t.side,
        "quantity": str(t.quantity),
        "entry_price": str(t.entry_price.quantize(q)),
        "exit_price": str(t.exit_price),
        "pnl": str(t.pnl.quantize(q)),
    }


def run_record(
    *,
    params: dict[str, Any],
    catalog: Path,
    instrument_id: str,
    start: dt.datetime,
    end: dt.datetime,
    bars: int,
    engine: str = "nautilus",
) -> dict[str, Any]:
    """What produced a report: parameters, data (catalog, instrument, window, bars), versions."""
    from importlib.metadata import PackageNotFoundError, version

    def _v(pkg: str) -> str | None:
        try:
            return version(pkg)
        except PackageNotFoundError:
            return None

    return {
        "engine": engine,
        "hedgegrid_version": hedgegridd.__version__,
        "nautilus_trader_version": _v("nautilus_trader"),
        "catalog": str(catalog.resolve()),
        "instrument_id": instrument_id,
        "start": start.astimezone(dt.UTC).isoformat(),
        "end": end.astimezone(dt.UTC).isoformat(),
        "bars": bars,
        "params": json.loads(json.dumps(params, default=str)),
    }


@dataclass(frozen=True, slots=True)
class RoundTrip:
    """One closing fill and the PnL it realized (after fees).

    ``entry_ts_ns`` is when the side's open book (the average it closes against)
    started; ``entry_price`` is that average; ``ts_ns`` and ``exit_price`` are the
    closing fill's.
    """

    ts_ns: int
    side: str
    quantity: Decimal
    pnl: Decimal
    entry_ts_ns: int = 0
    entry_price: Decimal = Decimal(0)
    exit_price: Decimal = Decimal(0)


def round_trips(fills: tuple[FillRecord, ...]) -> list[RoundTrip]:
    """Average-cost book per side; each closing fill yields one round trip."""
    qty = {"LONG": Decimal(0), "SHORT": Decimal(0)}
    avg = {"LONG": Decimal(0), "SHORT": Decimal(0)}
    fee_per_unit = {"LONG": Decimal(0), "SHORT": Decimal(0)}
    opened = {"LONG": 0, "SHORT": 0}
    trips: list[RoundTrip] = []
    for f in fills:
        side = f.position_side
        opening = (side == "LONG") == (f.order_side == "BUY")
        if opening:
            if qty[side] == 0:
                opened[side] = f.ts_ns
            total = qty[side] + f.quantity
            avg[side] = (avg[side] * qty[side] + f.price * f.quantity) / total
            fee_per_unit[side] = (fee_per_unit[side] * qty[side] + f.commission) / total
            qty[side] = total
            continue
        closed = min(f.quantity, qty[side])
        sign = 1 if side == "LONG" else -1
        gross = (f.price - avg[side]) * closed * sign
        pnl = gross - f.commission - fee_per_unit[side] * closed
        trips.append(RoundTrip(f.ts_ns, side, closed, pnl, opened[side], avg[side], f.price))
        qty[side] -= closed
        if qty[side] == 0:
            avg[side] = Decimal(0)
            fee_per_unit[side] = Decimal(0)
    return trips


def _drawdown(equity: np.ndarray, ts: np.ndarray) -> tuple[float, float, np.ndarray]:
    """(max drawdown fraction, longest drawdown duration in seconds, drawdown series)."""
    if equity.size == 0:
        return 0.0, 0.0, equity
    peak = np.maximum.accumulate(equity)
    dd = np.where(peak > 0, (peak - equity) / peak, 0.0)
    longest = 0
    start: int | None = None
    for i in range(equity.size):
        if dd[i] > 0:
            if start is None:
                start = int(ts[i - 1]) if i > 0 else int(ts[i])
            longest = max(longest, int(ts[i]) - start)
        else:
            start = None
    return float(dd.max()), longest / 1e9, dd


def _hourly_returns(equity: np.ndarray, ts: np.ndarray) -> np.ndarray:
    if equity.size < 2:
        return np.zeros(0)
    hour = (ts // _NS_PER_HOUR).astype(np.int64)
    last_idx = np.flatnonzero(np.diff(hour, append=hour[-1] + 1))
    series = equity[last_idx]
    if series.size < 2:
        return np.zeros(0)
    out: np.ndarray = np.diff(series) / series[:-1]
    return out


def _ratio(num: float, den: float) -> float | None:
    if den == 0 or not math.isfinite(den) or not math.isfinite(num):
        return None
    return num / den


def compute_metrics(res: BacktestResults) -> dict[str, Any]:
    """Every report figure as JSON-ready values (Decimals as strings, floats rounded)."""
    equity = np.asarray(res.equity, dtype=np.float64)
    ts = np.asarray(res.ts, dtype=np.int64)
    start_bal = res.starting_balance
    net_pnl = res.final_equity - start_bal
    fees = sum((f.commission for f in res.fills), Decimal(0))
    funding_paid = -sum((p.amount for p in res.funding if p.amount < 0), Decimal(0))
    funding_received = sum((p.amount for p in res.funding if p.amount > 0), Decimal(0))
    max_dd, dd_secs, _ = _drawdown(equity, ts)
    rets = _hourly_returns(equity, ts)
    years = (int(ts[-1]) - int(ts[0])) / 1e9 / 86400 / 365 if ts.size > 1 else 0.0
    total_return = float(net_pnl / start_bal)
    ann_return = (1 + total_return) ** (1 / years) - 1 if years > 0 and total_return > -1 else None
    sharpe = sortino = None
    if rets.size > 1 and rets.std(ddof=1) > 0:
        sharpe = float(rets.mean() / rets.std(ddof=1) * math.sqrt(_HOURS_PER_YEAR))
        downside = rets[rets < 0]
        if downside.size > 1 and downside.std(ddof=1) > 0:
            dn = float(np.sqrt(np.mean(np.minimum(rets, 0.0) ** 2)))
            sortino = float(rets.mean() / dn * math.sqrt(_HOURS_PER_YEAR))
    calmar = _ratio(ann_return, max_dd) if ann_return is not None else None
    period_days = years * 365
    trips = round_trips(res.fills)
    wins = [t.pnl for t in trips if t.pnl > 0]
    losses = [t.pnl for t in trips if t.pnl <= 0]
    gross_loss = -sum(losses, Decimal(0))
    maker = sum(1 for f in res.fills if f.maker)
    close = np.asarray(res.close, dtype=np.float64)
    long_notional = np.asarray(res.long_qty) * close if close.size else np.zeros(0)
    short_notional = np.asarray(res.short_qty) * close if close.size else np.zeros(0)

    def _avg(a: np.ndarray) -> float:
        return round(float(a.mean()), 4) if a.size else 0.0

    def _mx(a: np.ndarray) -> float:
        return round(float(a.max()), 4) if a.size else 0.0

    return {
        "engine": "nautilus",
        "run_seconds": None if res.run_seconds is None else round(res.run_seconds, 4),
        "instrument_id": res.instrument_id,
        "bars": len(res.ts),
        "start_balance": str(start_bal),
        "final_equity": str(res.final_equity.quantize(Decimal("0.0001"))),
        "net_pnl": str(net_pnl.quantize(Decimal("0.0001"))),
        "fees": str(fees.quantize(Decimal("0.0001"))),
        "funding_paid": str(funding_paid.quantize(Decimal("0.0001"))),
        "funding_received": str(funding_received.quantize(Decimal("0.0001"))),
        "total_return": round(total_return, 6),
        "annualized_return": None if ann_return is None else round(ann_return, 6),
        "sharpe": None if sharpe is None else round(sharpe, 4),
        "sortino": None if sortino is None else round(sortino, 4),
        "calmar": None if calmar is None else round(calmar, 4),
        "total_return_pct": round(total_return * 100, 4),
        "annualized_return_pct": None if ann_return is None else round(ann_return * 100, 4),
        "annualization": annualization(period_days),
        "period_days": round(period_days, 3),
        "max_drawdown": round(max_dd, 6),
        "max_drawdown_pct": round(max_dd * 100, 4),
        "max_drawdown_duration_s": round(dd_secs, 1),
        "round_trips": len(trips),
        "win_rate": None if not trips else round(len(wins) / len(trips), 4),
        "win_rate_pct": None if not trips else round(len(wins) / len(trips) * 100, 2),
        "round_trip_list": [_trip_doc(t) for t in trips],
        "profit_factor": (
            None if gross_loss == 0 else round(float(sum(wins, Decimal(0)) / gross_loss), 4)
        ),
        "maker_ratio": None if not res.fills else round(maker / len(res.fills), 4),
        "maker_ratio_pct": None if not res.fills else round(maker / len(res.fills) * 100, 2),
        "exposure": {
            "long_avg_notional": _avg(long_notional),
            "long_max_notional": _mx(long_notional),
            "short_avg_notional": _avg(short_notional),
            "short_max_notional": _mx(short_notional),
            "final_long_qty": str(res.final_long_qty),
            "final_short_qty": str(res.final_short_qty),
        },
        "orders": res.orders,
        "fills": len(res.fills),
        "cancels": res.cancels,
        "rejects": res.rejects,
        "denied": res.denied,
        "reject_reasons": dict(sorted(res.reject_reasons.items())),
        "units": units(res.instrument_id),
    }


def write_json(metrics: dict[str, Any], out_dir: Path) -> Path:
    """Write ``report.json`` (sorted keys, stable formatting)."""
    path = out_dir / "report.json"
    path.write_text(json.dumps(metrics, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path
