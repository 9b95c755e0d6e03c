"""`hedgegrid backtest CONFIG` end to end: synthetic catalog, run, report.json + report.html."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hedgegridd.errors import BacktestError
from hedgegridd.tools_cli import main
from tests.strategy.harness import build

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_backtest_command_writes_reports_from_a_generated_catalog(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """One command builds the missing catalog, runs with a progress bar, writes both reports."""
    strategy = REPO / "etc/hedgegrid/strategy-example.toml"
    cfg = tmp_path / "bt.toml"
    cfg.write_text(
        f"""
[backtest]
catalog = "catalog"
start = 2024-01-01T00:00:00Z
end = 2024-01-02T00:00:00Z
strategy_file = "{strategy}"
out_dir = "out-default"

[backtest.synthetic]
seed = 7
minutes = 1440

[backtest.venue]
maker_fee = "0.0002"
taker_fee = "0.0005"
latency_ms = 20
""",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    code = main(["backtest", str(cfg), "--out", str(out)])
    assert code == 0
    captured = capsys.readouterr()
    assert "100%" in captured.err  # the tqdm progress bar ran to the end
    assert "net_pnl=" in captured.out
    report = json.loads((out / "report.json").read_text())
    assert report["orders"] > 0
    assert report["fills"] > 0
    for key in (
        "net_pnl",
        "fees",
        "funding_paid",
        "funding_received",
        "total_return",
        "sharpe",
        "sortino",
        "calmar",
        "max_drawdown",
        "max_drawdown_duration_s",
        "round_trips",
        "win_rate",
        "profit_factor",
        "maker_ratio",
        "exposure",
        "cancels",
        "rejects",
    ):
        assert key in report
    assert report["bars"] == 1439
    assert float(report["fees"]) > 0
    html = (out / "report.html").read_text()
    assert "plotly" in html
    assert "Equity" in html
    assert "Drawdown" in html
    assert (tmp_path / "catalog").is_dir()


def test_bad_config_exits_with_code_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An invalid config file is reported on stderr with exit code 2."""
    cfg = tmp_path / "bt.toml"
    cfg.write_text("[backtest]\n", encoding="utf-8")
    assert main(["backtest", str(cfg), "--no-progress"]) == 2
    assert "backtest" in capsys.readouterr().err


def test_results_cannot_be_read_after_dispose() -> None:
    """The session refuses to read results from a disposed engine (runner reads before)."""
    h = build(minutes=60)
    h.session.run()
    res = h.session.results()
    assert len(res.ts) == 60
    h.session.dispose()
    with pytest.raises(BacktestError, match="before the engine is disposed"):
        h.session.results()
