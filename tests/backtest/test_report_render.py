"""report.json / report.html / CLI summary rendered from small hand-made results."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from pathlib import Path

from hedgegridd.backtest.cli import summary_text
from hedgegridd.backtest.html import metrics_rows, write_html
from hedgegridd.backtest.report import compute_metrics, run_record, write_json
from hedgegridd.backtest.results import BacktestResults, FillRecord, _reason_key

_H = 3_600_000_000_000
_T0 = 1_704_067_200_000_000_000  # 2024-01-01T00:00:00Z


def _fill(ts: int, side: str, order_side: str, px: str, qty: str) -> FillRecord:
    return FillRecord(
        ts_ns=ts,
        client_order_id=f"O-{ts}",
        trade_id=f"T-{ts}",
        position_side=side,
        order_side=order_side,
        price=Decimal(px),
        quantity=Decimal(qty),
        commission=Decimal("0.1"),
        maker=True,
        tag="",
    )


_LONG_REASON = "REDUCE_ONLY order would increase the position beyond the limit set by the venue"


def _results(hours: int = 72) -> BacktestResults:
    n = hours + 1
    equity = tuple(10_000.0 + (i % 5) * 3 - i * 0.1 for i in range(n))
    return BacktestResults(
        instrument_id="BTCUSDT-PERP.BINANCE",
        starting_balance=Decimal(10_000),
        final_balance=Decimal(str(equity[-1])),
        final_equity=Decimal(str(equity[-1])),
        fills=(
            _fill(_T0 + _H, "LONG", "BUY", "100", "1"),
            _fill(_T0 + 2 * _H, "LONG", "SELL", "110", "1"),
        ),
        orders=3,
        cancels=1,
        rejects=1,
        denied=0,
        funding=(),
        ts=tuple(_T0 + i * _H for i in range(n)),
        close=tuple(100.0 + i for i in range(n)),
        equity=equity,
        long_qty=tuple(0.0 for _ in range(n)),
        short_qty=tuple(0.0 for _ in range(n)),
        final_long_qty=Decimal(0),
        final_short_qty=Decimal(0),
        account_realized_pnl=Decimal("9.8"),
        reject_reasons={_reason_key(_LONG_REASON): 1},
    )


def _metrics() -> dict[str, object]:
    m = compute_metrics(_results())
    m["strategy"] = {"realized_pnl": "9.8", "degraded": None, "rejects_by_reason": {}}
    return m


def test_html_table_renders_nested_values_as_rows_not_dict_text(tmp_path: Path) -> None:
    """exposure/strategy become one row per field with units; no Python dict text."""
    rows = {name: (value, unit) for name, value, unit in metrics_rows(_metrics())}
    assert rows["exposure.long_max_notional"][1] == "USDT"
    assert rows["exposure.final_long_qty"][1] == "BTC"
    assert rows["strategy.degraded"][0] == "none"
    assert rows["max_drawdown_pct"][1] == "%"
    assert "max_drawdown" not in rows  # the fraction twin is not shown: % only
    assert rows["fills"][1] == "count"
    assert rows["net_pnl"][1] == "USDT"
    page = write_html(_results(), _metrics(), tmp_path).read_text()
    assert "{&#x27;" not in page  # html-escaped Python dict text
    assert "&#x27;degraded&#x27;" not in page
    assert "<td>exposure.long_avg_notional</td>" in page


def test_reject_reasons_are_kept_whole() -> None:
    """A reason longer than 48 characters is not cut."""
    assert _reason_key(_LONG_REASON) == _LONG_REASON
    assert f"reject_reasons.{_LONG_REASON}" in {r[0] for r in metrics_rows(_metrics())}


def test_drawdown_is_percent_and_sharpe_states_basis_and_short_period() -> None:
    """max_drawdown_pct = 100 x fraction; annualization names the basis, period and caveat."""
    m = compute_metrics(_results())
    assert m["max_drawdown_pct"] == round(m["max_drawdown"] * 100, 4)
    ann = m["annualization"]
    assert "sqrt(8760)" in ann["basis"]
    assert ann["period_days"] == 3.0
    assert "3.0 days" in ann["caveat"]
    text = summary_text(m)
    assert "sqrt(8760)" in text
    assert "period 3.0 days" in text
    assert "caveat" in text
    assert "net_pnl=" in text
    assert " USDT" in text
    assert f"max_drawdown={m['max_drawdown_pct']} %" in text
    long_run = compute_metrics(_results(hours=24 * 60))
    assert long_run["annualization"]["caveat"] is None


def test_round_trip_list_in_json_and_html(tmp_path: Path) -> None:
    """Each round trip carries entry/exit time, side, qty, prices and PnL."""
    m = compute_metrics(_results())
    write_json(m, tmp_path)
    doc = json.loads((tmp_path / "report.json").read_text())
    assert doc["round_trip_list"] == [
        {
            "entry_time": "2024-01-01T01:00:00+00:00",
            "exit_time": "2024-01-01T02:00:00+00:00",
            "side": "LONG",
            "quantity": "1",
            "entry_price": "100.0000",
            "exit_price": "110",
            "pnl": "9.8000",
        }
    ]
    page = write_html(_results(), m, tmp_path).read_text()
    assert "Round trips (1)" in page
    assert "<td>2024-01-01T02:00:00+00:00</td>" in page


def test_run_record_lists_params_and_data_in_json_and_html(tmp_path: Path) -> None:
    """The run record names params, the resolved catalog path, instrument, window, bars."""
    catalog = tmp_path / "etc" / ".." / "catalog"
    record = run_record(
        params={"grid": {"levels": 5}},
        catalog=catalog,
        instrument_id="BTCUSDT-PERP.BINANCE",
        start=dt.datetime(2024, 1, 1, tzinfo=dt.UTC),
        end=dt.datetime(2024, 1, 4, tzinfo=dt.UTC),
        bars=4320,
    )
    assert record["catalog"] == str((tmp_path / "catalog").resolve())
    assert ".." not in record["catalog"]
    assert record["hedgegrid_version"]
    assert record["nautilus_trader_version"]
    m = compute_metrics(_results())
    m["run"] = record
    page = write_html(_results(), m, tmp_path).read_text()
    assert "<td>params.grid.levels</td><td>5</td>" in page
    assert "<td>start</td><td>2024-01-01T00:00:00+00:00</td>" in page
    assert "<td>bars</td><td>4320</td>" in page
