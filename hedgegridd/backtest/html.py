"""``report.html``: one self-contained page (plotly JS inlined, works offline).

Four stacked plots sharing the time axis: equity, drawdown (%), price with fills
(entries and exits per side as markers), position quantity per side; plus the
metrics table (nested figures as their own rows, each with its unit), the
annualization basis, the run record (parameters, data) when the metrics carry
one under ``run``, and the list of round trips. Long runs are thinned to at most
``max_points`` samples per curve.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from hedgegridd.backtest.report import currencies
from hedgegridd.backtest.results import BacktestResults


def _thin(n: int, max_points: int) -> np.ndarray:
    if n <= max_points:
        return np.arange(n)
    return np.unique(np.linspace(0, n - 1, max_points).astype(np.int64))


def build_figure(res: BacktestResults, *, max_points: int = 5000) -> go.Figure:
    """The four-panel figure (equity, drawdown, price + fills, positions)."""
    idx = _thin(len(res.ts), max_points)
    ts = np.asarray(res.ts, dtype=np.int64)
    x = pd.to_datetime(ts[idx], unit="ns", utc=True)
    equity = np.asarray(res.equity, dtype=np.float64)
    peak = np.maximum.accumulate(equity) if equity.size else equity
    dd = np.where(peak > 0, (equity - peak) / np.where(peak > 0, peak, 1), 0.0)
    fig = make_subplots(
        rows=4,
        cols=1,
        shared_xaxes=True,
        vertical_spacing=0.03,
        row_heights=[0.3, 0.15, 0.35, 0.2],
        subplot_titles=(
            "Equity",
            "Drawdown (%)",
            "Price and fills",
            "Position per side",
        ),
    )
    fig.add_trace(go.Scatter(x=x, y=equity[idx], name="equity", line={"width": 1}), 1, 1)
    fig.add_trace(
        go.Scatter(x=x, y=dd[idx] * 100, name="drawdown (%)", fill="tozeroy", line={"width": 1}),
        2,
        1,
    )
    fig.add_trace(
        go.Scatter(x=x, y=np.asarray(res.close)[idx], name="close", line={"width": 1}), 3, 1
    )
    groups: dict[tuple[str, bool], list[Any]] = {}
    for f in res.fills:
        opening = (f.position_side == "LONG") == (f.order_side == "BUY")
        groups.setdefault((f.position_side, opening), []).append(f)
    styles = {
        ("LONG", True): ("LONG entry", "triangle-up", "green"),
        ("LONG", False): ("LONG exit", "x", "darkgreen"),
        ("SHORT", True): ("SHORT entry", "triangle-down", "red"),
        ("SHORT", False): ("SHORT exit", "x", "darkred"),
    }
    for key, (name, symbol, color) in styles.items():
        fills = groups.get(key, [])
        if not fills:
            continue
        fig.add_trace(
            go.Scatter(
                x=pd.to_datetime([f.ts_ns for f in fills], unit="ns", utc=True),
                y=[float(f.price) for f in fills],
                mode="markers",
                name=name,
                marker={"symbol": symbol, "color": color, "size": 6},
            ),
            3,
            1,
        )
    fig.add_trace(go.Scatter(x=x, y=np.asarray(res.long_qty)[idx], name="long qty"), 4, 1)
    fig.add_trace(go.Scatter(x=x, y=-np.asarray(res.short_qty)[idx], name="short qty (neg)"), 4, 1)
    base, quote = currencies(res.instrument_id)
    for row, title in ((1, quote), (2, "%"), (3, quote), (4, base)):
        fig.update_yaxes(title_text=title, row=row, col=1)
    fig.update_layout(height=1100, title=f"hedgegrid backtest: {res.instrument_id}")
    return fig


_SEPARATE = ("units", "round_trip_list", "run", "annualization")
# shown as their ``*_pct`` twin only: one unit (%) in the table, as in the drawdown plot
_FRACTIONS = ("total_return", "annualized_return", "max_drawdown", "win_rate", "maker_ratio")


def _text(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _flatten(doc: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    """Nested dicts as ``parent.child`` rows; an empty dict as one "none" row."""
    rows: list[tuple[str, Any]] = []
    for key, value in doc.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            rows.extend(_flatten(value, name + ".") if value else [(name, None)])
        else:
            rows.append((name, value))
    return rows


def metrics_rows(metrics: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(name, value, unit) rows of the metrics table, nested values flattened."""
    unit_of = metrics.get("units", {})
    body = {
        k: v
        for k, v in metrics.items()
        if k not in _SEPARATE and not (k in _FRACTIONS and f"{k}_pct" in metrics)
    }
    return [(k, _text(v), unit_of.get(k, _count_unit(k))) for k, v in _flatten(body)]


def _count_unit(key: str) -> str:
    counted = ("bars", "orders", "fills", "cancels", "rejects", "denied", "round_trips")
    if key in counted or key.startswith(("reject_reasons.", "strategy.rejects_by_reason.")):
        return "count"
    return ""


def _table(rows: Sequence[tuple[str, ...]], head: tuple[str, ...]) -> str:
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "\n".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><thead><tr>{th}</tr></thead><tbody>{body}</tbody></table>"


def _annualization(metrics: dict[str, Any]) -> str:
    ann = metrics.get("annualization")
    if not ann:
        return ""
    text = f"Sharpe and Sortino: {ann['basis']}, over a period of {ann['period_days']} days."
    if ann.get("caveat"):
        text += f" Caveat: {ann['caveat']}."
    return f"<p class='note'>{html.escape(text)}</p>"


def _run_section(metrics: dict[str, Any]) -> str:
    run = metrics.get("run")
    if not run:
        return "<h2>Run</h2><p>No run record (parameters, data) was attached.</p>"
    rows = [(k, _text(v)) for k, v in _flatten(run)]
    return "<h2>Run: parameters and data</h2>" + _table(rows, ("field", "value"))


def _trips_section(metrics: dict[str, Any]) -> str:
    trips = metrics.get("round_trip_list") or []
    quote = metrics.get("units", {}).get("net_pnl", "")
    head = (
        "entry (UTC)",
        "exit (UTC)",
        "side",
        "qty",
        "entry price",
        "exit price",
        f"PnL {quote}".strip(),
    )
    keys = ("entry_time", "exit_time", "side", "quantity", "entry_price", "exit_price", "pnl")
    rows = [tuple(str(t[k]) for k in keys) for t in trips]
    title = f"<h2>Round trips ({len(rows)})</h2>"
    if not rows:
        return title + "<p>No round trips.</p>"
    note = "<p class='note'>Entry price is the side's average cost the exit closes against.</p>"
    return title + note + _table(rows, head)


def write_html(res: BacktestResults, metrics: dict[str, Any], out_dir: Path) -> Path:
    """Write ``report.html`` with the plots and the metrics table (no network needed)."""
    fig = build_figure(res)
    plot = fig.to_html(full_html=False, include_plotlyjs=True)
    table = _table(metrics_rows(metrics), ("figure", "value", "unit"))
    page = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>hedgegrid backtest {html.escape(res.instrument_id)}</title>"
        "<style>body{font-family:sans-serif}table{border-collapse:collapse}"
        "th,td{border:1px solid #ccc;padding:2px 8px;text-align:left;vertical-align:top;"
        "white-space:normal;overflow-wrap:anywhere;max-width:60em}"
        ".note{max-width:60em}</style></head><body>"
        f"<h1>hedgegrid backtest</h1>{_annualization(metrics)}{table}"
        f"{_run_section(metrics)}{plot}{_trips_section(metrics)}</body></html>"
    )
    path = out_dir / "report.html"
    path.write_text(page, encoding="utf-8")
    return path
