"""Optimizer outputs rendered from a small hand-made summary (no backtests run)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import optuna

from hedgegridd.optimize.output import best_params_header, final_summary, rerun_text
from hedgegridd.optimize.report import importance_caveat, write_report
from hedgegridd.optimize.result import StudyResult
from hedgegridd.optimize.windows import Window, Windows

from .helpers import tiny_config

_T0 = 1_704_067_200_000_000_000  # 2024-01-01T00:00:00Z
_DAY = 86_400_000_000_000


def _engine_run(engine: str, value: float, fills: int, pnl: float) -> dict[str, Any]:
    metrics = {
        "fills": fills,
        "round_trips": fills // 2,
        "net_pnl": pnl,
        "fees": 12.345678,
        "max_drawdown_pct": 7.5,
        "sharpe": value,
    }
    return {
        "engine": engine,
        "value": value,
        "metrics": metrics,
        "failure": None,
        "violations": ["min_round_trips 3 < 40 (scaled to the window)"],
        "seconds": 1.0,
    }


def _summary() -> dict[str, Any]:
    window = {"minutes": 1440}
    row = {
        "number": 2,
        "rank": 1,
        "search_rank": 1,
        "search_order": 1,
        "in_sample_value": 32.01,
        "in_sample": {"net_pnl": 912.5, "max_drawdown_pct": 1.25, "round_trips": 88},
        "params": {"grid.levels": 5},
        "search": _engine_run("screen", -10.93, 123456, -1234.5678),
        "reference": _engine_run("nautilus", -11.7, 123999, -1299.1234),
        "disagreements": [
            "fills 123456 vs 123999 differ by 0.4 % > 0.1 %",
            "net_pnl -1234.5678 vs -1299.1234 differ by 0.65 % of balance > 0.5 %",
            "sharpe -10.93 vs -11.7 differ by 6.6 % > 5 %",
        ],
    }
    return {
        "study": "tiny",
        "storage": "sqlite:///x.db",
        "objective": "sharpe",
        "direction": "maximize",
        "engines": {"search": "screen", "reference": "nautilus"},
        "windows": {
            "train": {"start": "2024-01-01T00:00:00+00:00", "end": "2024-01-02T12:00:00+00:00"}
            | window,
            "test": {"start": "2024-01-02T12:00:00+00:00", "end": "2024-01-03T00:00:00+00:00"}
            | window,
        },
        "trials": {"complete": 4},
        "feasible": 4,
        "failures": [],
        "best": {
            "number": 2,
            "value": -11.7,
            "engine": "nautilus",
            "window": "out_of_sample",
            "in_sample_value": 32.01,
            "params": {"grid.levels": 5},
        },
        "reruns": {
            "top_k": 1,
            "window": "out_of_sample",
            "ranked_by": "nautilus",
            "tolerances": {
                "fills_tolerance_pct": 0.1,
                "net_pnl_tolerance_pct": 0.5,
                "objective_tolerance_pct": 5.0,
            },
            "same_winner": True,
            "flagged": 1,
            "rows": [row],
        },
    }


def test_best_params_header_shows_out_of_sample_next_to_in_sample() -> None:
    """The header names both scores and both windows' figures (and warns of the gap)."""
    header = best_params_header(_summary(), 1)
    assert "sharpe: in sample 32.01 (screen), out of sample -11.7 (nautilus)" in header
    assert "out of sample 2024-01-02T12:00:00+00:00" in header
    assert "net_pnl -1299" in header
    assert "in sample     2024-01-01T00:00:00+00:00" in header
    assert max(len(line) for line in header.splitlines()) <= 98  # "# " is prefixed
    assert "net_pnl 912.5" in header
    assert "overfitting" in header


def test_final_summary_names_scores_and_files(tmp_path: Path) -> None:
    """The last lines printed: best trial, its IS and OOS scores, every output path."""
    text = final_summary(_summary(), tmp_path)
    assert "best trial: #2" in text
    assert "in sample 32.01" in text
    assert "out of sample -11.7" in text
    assert "params: grid.levels=5" in text
    for name in ("best-params.toml", "summary.json", "report.txt", "report.html"):
        assert str(tmp_path / name) in text
    assert all(len(line) <= 100 or "/" in line for line in text.splitlines())


def test_text_table_fits_100_columns() -> None:
    """report.txt wraps long flags onto their own lines; no line exceeds 100 columns."""
    text = rerun_text(_summary())
    assert max(len(line) for line in text.splitlines()) <= 100
    assert "flags: misses min_round_trips" in text
    assert "sharpe -10.93 vs -11.7" in " ".join(text.split())
    long_names = _summary()
    long_names["engines"] = {"search": "pkg.module:search_" * 3, "reference": "pkg.mod:ref_" * 3}
    assert max(len(line) for line in rerun_text(long_names).splitlines()) <= 100


def _result(trials: int) -> StudyResult:
    study = optuna.create_study(
        study_name="tiny", direction="maximize", sampler=optuna.samplers.RandomSampler(seed=1)
    )
    study.optimize(lambda t: t.suggest_float("x", 0, 1) + t.suggest_float("y", 0, 1), trials)
    train = Window(_T0, _T0 + _DAY + _DAY // 2)
    test = Window(train.end_ns, _T0 + 2 * _DAY)
    return StudyResult(study, Windows(train, test), best_number=2)


def test_html_report_windows_iso_table_cells_and_importance_caveat(tmp_path: Path) -> None:
    """Windows as ISO UTC, one 'search / reference' cell per metric, caveat under 20 trials."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    path = write_report(_result(4), tiny_config(), _summary(), tmp_path / "report.html")
    page = path.read_text()
    assert "[2024-01-01T00:00:00Z, 2024-01-02T12:00:00Z)" in page
    assert str(_T0) not in page
    assert "<td>123456 / 123999</td>" in page
    assert "<code>grid.levels=5</code>" in page
    assert "only 4 completed trials" in page
    assert importance_caveat(20) == ""
    assert "only 19 completed" in importance_caveat(19)
