"""``report.html``: one self-contained page (plotly JS inlined, works offline).

Four stacked plots sharing the time axis: equity, drawdown, price with fills
(entries and exits per side as markers), position quantity per side; plus the
metrics table. Long runs are thinned to at most ``max_points`` samples per curve.
"""

from __future__ import annotations

import html
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

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
        subplot_titles=("Equity", "Drawdown", "Price and fills", "Position per side"),
    )
    fig.add_trace(go.Scatter(x=x, y=equity[idx], name="equity", line={"width": 1}), 1, 1)
    fig.add_trace(
        go.Scatter(x=x, y=dd[idx] * 100, name="drawdown %", fill="tozeroy", line={"width": 1}),
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
    fig.update_layout(height=1100, title=f"hedgegrid backtest: {res.instrument_id}")
    return fig


def write_html(res: BacktestResults, metrics: dict[str, Any], out_dir: Path) -> Path:
    """Write ``report.html`` with the plots and the metrics table (no network needed)."""
    fig = build_figure(res)
    plot = fig.to_html(full_html=False, include_plotlyjs=True)
    rows = "\n".join(
        f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>"
        for k, v in metrics.items()
    )
    page = (
        "<!DOCTYPE html><html><head><meta charset='utf-8'>"
        f"<title>hedgegrid backtest {html.escape(res.instrument_id)}</title>"
        "<style>body{font-family:sans-serif}table{border-collapse:collapse}"
        "th,td{border:1px solid #ccc;padding:2px 8px;text-align:left}</style></head><body>"
        f"<h1>hedgegrid backtest</h1><table>{rows}</table>{plot}</body></html>"
    )
    path = out_dir / "report.html"
    path.write_text(page, encoding="utf-8")
    return path
