"""`hedgegrid backtest CONFIG --engine screen|nautilus`: both write the shared report keys."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from hedgegridd.tools_cli import main

REPO = Path(__file__).resolve().parents[2]
SHARED = ("engine", "bars", "fills", "round_trips", "fees", "net_pnl", "run_seconds")


def _config(tmp_path: Path) -> Path:
    strategy = REPO / "etc/hedgegrid/strategy-example.toml"
    cfg = tmp_path / "bt.toml"
    cfg.write_text(
        f"""
[backtest]
catalog = "catalog"
start = 2024-01-01T00:00:00Z
end = 2024-01-01T12:00:00Z
strategy_file = "{strategy}"

[backtest.synthetic]
seed = 7
minutes = 720
""",
        encoding="utf-8",
    )
    return cfg


@pytest.mark.slow
def test_both_engines_report_engine_time_and_activity(tmp_path: Path) -> None:
    """The screen and nautilus engines trade the same catalog; report.json names the engine."""
    cfg = _config(tmp_path)
    reports = {}
    for engine in ("screen", "nautilus"):
        out = tmp_path / engine
        code = main(["backtest", str(cfg), "--out", str(out), "--engine", engine, "--no-progress"])
        assert code == 0
        reports[engine] = json.loads((out / "report.json").read_text())
    for engine, report in reports.items():
        assert report["fills"] > 0
        assert report["engine"] == engine
        for key in SHARED:
            assert key in report, (engine, key)
        assert report["run_seconds"] > 0
        run = report["run"]  # what produced the report: engine, params, data window
        assert run["engine"] == engine
        assert run["bars"] == report["bars"]
        assert run["params"]
    assert reports["screen"]["bars"] == reports["nautilus"]["bars"]
    n_fills, s_fills = reports["nautilus"]["fills"], reports["screen"]["fills"]
    assert abs(s_fills - n_fills) <= max(3, 0.15 * n_fills)
