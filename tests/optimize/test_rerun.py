"""Finalists: ranking by the reference engine's runs, disagreement flags, the text table."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from hedgegridd.errors import ConfigError
from hedgegridd.optimize.config import (
    NAUTILUS_EVALUATOR,
    SCREEN_EVALUATOR,
    parse_optimize_config,
)
from hedgegridd.optimize.output import BEST_PARAMS_FILE, SUMMARY_FILE, TEXT_REPORT_FILE
from hedgegridd.optimize.progress import rerun_bar
from hedgegridd.optimize.rerun import EngineRun, Rerun, disagreements, rank_reruns, winner
from hedgegridd.optimize.study import run_optimization
from hedgegridd.params import load_strategy_params

from .helpers import REFERENCE, SCREEN, config_doc, tiny_config


def _run(
    engine: str, value: float | None, fills: int = 100, pnl: float = 10.0, **kw: Any
) -> EngineRun:
    metrics = None if value is None else {"fills": fills, "net_pnl": pnl, "sharpe": value}
    failure = "boom" if value is None else None
    return EngineRun(engine, metrics, value, failure, 0.1, **kw)


def _rerun(number: int, order: int, search: EngineRun, reference: EngineRun) -> Rerun:
    return Rerun(number, order, 1.0 / order, {}, {}, search, reference)


def test_ranking_follows_the_reference_runs_not_the_search() -> None:
    """The reference engine's scores rank; failed or constraint-missing runs are not ranked."""
    rows = [
        _rerun(7, 1, _run("screen", 3.0), _run("nautilus", 1.0)),
        _rerun(4, 2, _run("screen", 2.0), _run("nautilus", 2.5)),
        _rerun(9, 3, _run("screen", 1.0), _run("nautilus", 9.0, violations=["min_round_trips"])),
        _rerun(2, 4, _run("screen", 0.5), _run("nautilus", None)),
        _rerun(5, 5, _run("screen", 0.1), _run("nautilus", 2.5)),
    ]
    ranked = rank_reruns(rows, "maximize")
    assert [(r.number, r.rank) for r in ranked] == [(4, 1), (5, 2), (7, 3), (9, None), (2, None)]
    assert {r.number: r.search_rank for r in ranked} == {7: 1, 4: 2, 9: 3, 2: 4, 5: 5}
    best = winner(ranked)
    assert best is not None
    assert best.number == 4
    lowest = rank_reruns(rows, "minimize")
    assert [r.number for r in lowest if r.rank is not None] == [7, 4, 5]


def test_no_eligible_reference_run_means_no_winner() -> None:
    """When every reference run failed or missed a constraint, nothing wins."""
    rows = [
        _rerun(1, 1, _run("screen", 3.0), _run("nautilus", None)),
        _rerun(2, 2, _run("screen", 2.0), _run("nautilus", 5.0, violations=["max_drawdown_pct"])),
    ]
    assert winner(rank_reruns(rows, "maximize")) is None


def test_disagreements_beyond_the_tolerances_are_flagged() -> None:
    """Fills (% of reference), net PnL (% of balance) and objective differences are flagged."""
    config = tiny_config(
        rerun__fills_tolerance_pct=5.0,
        rerun__net_pnl_tolerance_pct=0.5,
        rerun__objective_tolerance_pct=20.0,
    )
    ref = _run("nautilus", 2.0, fills=100, pnl=10.0)
    assert disagreements(_run("screen", 2.3, fills=105, pnl=55.0), ref, config) == []
    flags = disagreements(_run("screen", 2.5, fills=106, pnl=61.0), ref, config)
    assert [f.split(" ")[0] for f in flags] == ["fills", "net_pnl", "sharpe"]
    assert "6.0 % > 5 %" in flags[0]
    assert "0.51 % of balance" in flags[1]
    assert disagreements(_run("screen", None), ref, config) == ["screen run failed: boom"]


def test_rerun_config_defaults_and_the_moved_key() -> None:
    """The search engine defaults to the screen, the re-runs to Nautilus; the old key is named."""
    doc = config_doc()
    del doc["backtest"]
    del doc["rerun"]
    config = parse_optimize_config(doc)
    assert config.backtest.evaluator == SCREEN_EVALUATOR
    assert config.rerun.evaluator == NAUTILUS_EVALUATOR
    assert config.rerun.top_k == 5
    doc["study"]["top_k_out_of_sample"] = 3
    with pytest.raises(ConfigError, match=r"moved to \[rerun\] top_k"):
        parse_optimize_config(doc)


def test_rerun_bar_counts_finalists() -> None:
    """The re-run bar names the reference engine and counts finished finalists."""
    out = io.StringIO()
    bar = rerun_bar(3, engine="nautilus", enabled=True, file=out)
    bar.update(1)
    bar.update(1)
    bar.close()
    assert "re-run finalists with nautilus" in out.getvalue()
    assert "2/3 finalists" in out.getvalue()


@pytest.mark.slow
def test_screen_search_with_another_reference_engine(tmp_path: Path) -> None:
    """Screen search, a different reference engine: it alone ranks, disagreements are flagged."""
    config = tiny_config(
        backtest__evaluator=SCREEN,
        rerun__evaluator=REFERENCE,
        rerun__top_k=3,
        study__trials=5,
        constraints__min_round_trips=1,
    )
    result = run_optimization(config, tmp_path, progress=False)
    summary = json.loads((tmp_path / SUMMARY_FILE).read_text())
    rows = summary["reruns"]["rows"]
    assert len(rows) == 3
    assert summary["engines"]["search"] == "screen"
    assert summary["engines"]["reference"] == REFERENCE
    assert all(r["search"]["metrics"]["fills"] > 0 for r in rows)
    # The one-rung reference grid trades far less than the strategy: every row is flagged.
    assert summary["reruns"]["flagged"] == 3
    assert all(any(d.startswith("fills") for d in r["disagreements"]) for r in rows)
    eligible = [r for r in rows if r["rank"] is not None]
    assert eligible
    top = max(eligible, key=lambda r: (r["reference"]["value"], -r["search_order"]))
    assert top["rank"] == 1
    assert result.best_number == top["number"]
    written = load_strategy_params(tmp_path / BEST_PARAMS_FILE)
    assert (
        written.model_dump(mode="json")
        == result.study.trials[top["number"]].user_attrs["strategy_params"]
    )
    text = (tmp_path / TEXT_REPORT_FILE).read_text()
    assert f"written: trial #{top['number']}" in text
    assert any(line.lstrip().startswith("trial") and "fills" in line for line in text.splitlines())
