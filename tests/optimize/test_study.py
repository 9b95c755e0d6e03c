"""End-to-end studies on synthetic data: outputs, determinism, failures, resume guards."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import optuna
import pytest
from optuna.trial import TrialState

from hedgegridd import tools_cli
from hedgegridd.backtest.config import load_backtest_config
from hedgegridd.errors import ConfigError
from hedgegridd.optimize import evaluate, screen_evaluator
from hedgegridd.optimize.config import OptimizeConfig, parse_optimize_config
from hedgegridd.optimize.metrics import compute_metrics
from hedgegridd.optimize.output import (
    BEST_PARAMS_FILE,
    REPORT_FILE,
    SUMMARY_FILE,
    TEXT_REPORT_FILE,
)
from hedgegridd.optimize.progress import StudyProgress, best_feasible
from hedgegridd.optimize.space import base_document
from hedgegridd.optimize.study import (
    StudyResult,
    config_fingerprint,
    open_study,
    run_optimization,
)
from hedgegridd.optimize.windows import split_windows
from hedgegridd.optimize.worker import (
    FAIL_REASON,
    FEASIBLE,
    FOLD_METRICS,
    METRICS,
    PARAMS,
    WorkerJob,
    task_for,
)
from hedgegridd.params import (
    default_strategy_params,
    dump_strategy_params_toml,
    load_strategy_params,
)
from hedgegridd.supervisor.settings import load_settings

from .helpers import REAL, SCREEN, config_doc, tiny_config


def real_config() -> OptimizeConfig:
    """A tiny study of the real strategy: 6 screened trials on 1 day, 3 finalists on Nautilus."""
    return tiny_config(
        backtest__evaluator=SCREEN,
        rerun__evaluator=REAL,
        rerun__top_k=3,
        study__trials=6,
        data__synthetic={"seed": 3, "minutes": 1440},
    )


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> StudyResult:
    """One tiny study of the real strategy, shared by the read-only tests."""
    out = tmp_path_factory.mktemp("study")
    return run_optimization(real_config(), out, progress=False)


@pytest.mark.slow
def test_tiny_study_trades_and_writes_best_params(finished: StudyResult) -> None:
    """Trials trade (round trips > 0), a feasible best exists and is written as strategy TOML."""
    complete = finished.study.get_trials(states=(TrialState.COMPLETE,))
    assert complete
    assert all(t.user_attrs[METRICS]["round_trips"] > 0 for t in complete)
    assert all(t.user_attrs[METRICS]["fills"] > 0 for t in complete)
    assert len(finished.study.trials) == 6
    assert finished.best_number is not None
    best = finished.study.trials[finished.best_number]
    written = load_strategy_params(finished.out_dir / BEST_PARAMS_FILE)
    assert written.model_dump(mode="json") == best.user_attrs[PARAMS]
    assert str(written.grid.step_bps) == str(best.params["grid.step_bps"])


@pytest.mark.slow
def test_best_params_load_in_the_daemon_settings(finished: StudyResult, tmp_path: Path) -> None:
    """The daemon's [strategy] params_file accepts the written file unchanged."""
    daemon_toml = tmp_path / "hedgegridd.toml"
    best_file = finished.out_dir / BEST_PARAMS_FILE
    daemon_toml.write_text(f'[strategy]\nparams_file = "{best_file}"\n')
    settings = load_settings(daemon_toml)
    assert settings.strategy.params_file == best_file
    params = load_strategy_params(settings.strategy.params_file)
    assert params.grid.levels_per_side >= 3


@pytest.mark.slow
def test_best_params_load_in_a_backtest_config_unchanged(
    finished: StudyResult, tmp_path: Path
) -> None:
    """`hedgegrid backtest` accepts the written file as its strategy_file."""
    best_file = finished.out_dir / BEST_PARAMS_FILE
    (tmp_path / "bt.toml").write_text(
        f'[backtest]\ncatalog = "cat"\nstart = 2024-01-01T00:00:00Z\n'
        f'end = 2024-01-02T00:00:00Z\nstrategy_file = "{best_file}"\n'
    )
    cfg = load_backtest_config(tmp_path / "bt.toml")
    assert cfg.strategy == load_strategy_params(best_file)
    assert (
        cfg.strategy.model_dump(mode="json")
        == (finished.study.trials[finished.best_number or 0].user_attrs[PARAMS])
    )


@pytest.mark.slow
def test_finalists_are_judged_on_a_later_window(finished: StudyResult) -> None:
    """The finalists are re-run on the held-out tail; the summary shows both windows."""
    w = finished.windows
    assert w.train.start_ns < w.train.end_ns == w.test.start_ns < w.test.end_ns
    assert w.test.minutes == 360
    summary = json.loads((finished.out_dir / SUMMARY_FILE).read_text())
    assert summary["windows"]["test"]["minutes"] == 360
    assert summary["windows"]["train"]["end"] == summary["windows"]["test"]["start"]
    written = load_strategy_params(finished.out_dir / BEST_PARAMS_FILE)
    assert summary["best"]["params"]["grid.step_bps"] == str(written.grid.step_bps)
    rows = summary["reruns"]["rows"]
    assert len(rows) == 3
    for row in rows:
        assert row["in_sample"]["span_days"] == pytest.approx(0.75)
        for engine in ("search", "reference"):
            assert row[engine]["metrics"]["span_days"] == pytest.approx(0.25)
            assert row[engine]["metrics"]["fills"] > 0
        assert isinstance(row["reference"]["violations"], list)


@pytest.mark.slow
def test_written_params_are_ranked_by_the_nautilus_reruns(finished: StudyResult) -> None:
    """Search ran on the screen; the winner is the best Nautilus re-run, whose figures are real."""
    config = real_config()
    windows = split_windows(config)
    job = WorkerJob(config, "", 1, 0, windows, base_document(config))
    searched = finished.study.trials[0]
    train = task_for(job, searched.user_attrs[PARAMS], windows.train.start_ns, windows.train.end_ns)
    assert searched.user_attrs[METRICS]["fills"] == len(screen_evaluator.run_backtest(train).fills)

    summary = json.loads((finished.out_dir / SUMMARY_FILE).read_text())
    assert summary["engines"] == {"search": "screen", "reference": "nautilus"}
    rows = summary["reruns"]["rows"]
    for row in rows:  # both columns are the engines' own runs of the held-out window
        params = finished.study.trials[row["number"]].user_attrs[PARAMS]
        task = task_for(job, params, windows.test.start_ns, windows.test.end_ns)
        nautilus = compute_metrics(evaluate.run_backtest(task))
        screen = compute_metrics(screen_evaluator.run_backtest(task))
        assert nautilus.fills > 0
        assert row["reference"]["metrics"]["fills"] == nautilus.fills
        assert row["reference"]["metrics"]["net_pnl"] == pytest.approx(nautilus.net_pnl)
        assert row["reference"]["value"] == pytest.approx(nautilus.sharpe)
        assert row["search"]["metrics"]["fills"] == screen.fills
        assert row["search"]["value"] == pytest.approx(screen.sharpe)
    eligible = [r for r in rows if r["reference"]["metrics"] and not r["reference"]["violations"]]
    assert eligible
    top = max(eligible, key=lambda r: (r["reference"]["value"], -r["search_order"]))
    assert top["rank"] == 1
    assert finished.best_number == top["number"] == summary["best"]["number"]
    assert summary["best"]["value"] == top["reference"]["value"]
    assert sorted(r["rank"] for r in eligible) == list(range(1, len(eligible) + 1))
    ranked = sorted(eligible, key=lambda r: r["rank"])
    values = [r["reference"]["value"] for r in ranked]
    assert values == sorted(values, reverse=True)
    text = (finished.out_dir / TEXT_REPORT_FILE).read_text()
    assert "screen vs nautilus, ranked by nautilus sharpe" in text
    assert f"written: trial #{top['number']}" in text


@pytest.mark.slow
def test_report_is_self_contained_with_history_importances_and_finalists(
    finished: StudyResult,
) -> None:
    """report.html embeds plotly and shows history, importances and both engines per finalist."""
    html = (finished.out_dir / REPORT_FILE).read_text()
    assert "<h2>Optimization history</h2>" in html
    assert "<h2>Parameter importances</h2>" in html
    assert "<h2>Finalists: screen vs nautilus</h2>" in html
    assert "Each metric cell reads screen / nautilus." in html  # one cell per metric
    assert "<th>fills</th>" in html
    assert "<th>sharpe</th>" in html
    assert "Plotly.newPlot" in html
    external = re.search(r"<script[^>]*\bsrc=", html)
    assert external is None, "report must not load scripts from the network"
    assert len(html) > 1_000_000  # plotly.js is inlined


@pytest.mark.slow
def test_same_seed_gives_the_same_trials(finished: StudyResult, tmp_path: Path) -> None:
    """One worker with the same seed and data reproduces every trial's params and value."""
    again = run_optimization(real_config(), tmp_path, progress=False)
    first = [(t.params, t.value) for t in finished.study.trials]
    second = [(t.params, t.value) for t in again.study.trials]
    assert second == first
    assert again.best_number == finished.best_number


@pytest.mark.slow
def test_timed_out_trial_is_failed_with_reason(tmp_path: Path) -> None:
    """A trial over trial_timeout_s is killed and recorded FAIL with why; nothing is written."""
    config = tiny_config(
        backtest__evaluator="tests.optimize.evaluators:sleeps_forever",
        study__trials=1,
        study__trial_timeout_s=2,
    )
    result = run_optimization(config, tmp_path, progress=False)
    (trial,) = result.study.trials
    assert trial.state == TrialState.FAIL
    assert trial.user_attrs[FAIL_REASON].startswith("timeout: killed after")
    assert result.best_number is None
    assert not (tmp_path / BEST_PARAMS_FILE).exists()
    summary = json.loads((tmp_path / SUMMARY_FILE).read_text())
    assert summary["failures"][0]["reason"].startswith("timeout")


def test_existing_study_needs_resume_and_the_same_config(tmp_path: Path) -> None:
    """Re-running into an existing study needs --resume; a changed space is refused."""
    url = f"sqlite:///{tmp_path / 's.db'}"
    open_study(tiny_config(), url, resume=False)
    with pytest.raises(ConfigError, match="pass --resume"):
        open_study(tiny_config(), url, resume=False)
    assert open_study(tiny_config(), url, resume=True).study_name == "tiny"
    doc = config_doc()
    doc["space"]["grid.step_bps"]["high"] = 50
    with pytest.raises(ConfigError, match="different config"):
        open_study(parse_optimize_config(doc), url, resume=True)
    assert optuna.study.get_all_study_names(url) == ["tiny"]


def test_infeasible_trials_never_win() -> None:
    """The best trial is chosen among feasible ones only, whatever the infeasible scored."""
    study = optuna.create_study(direction="maximize")
    dists = {"x": optuna.distributions.FloatDistribution(0, 1)}
    for value, feasible in ((9.0, False), (1.0, True), (2.0, True), (50.0, False)):
        study.add_trial(
            optuna.trial.create_trial(
                params={"x": 0.5},
                distributions=dists,
                value=value,
                user_attrs={FEASIBLE: feasible},
            )
        )
    best = best_feasible(study)
    assert best is not None
    assert best.value == 2.0


def test_cli_reports_a_bad_config_with_exit_code_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`hedgegrid optimize` names the bad field on stderr and exits 2."""
    bad = tmp_path / "bad.toml"
    bad.write_text(
        "[data.synthetic]\nminutes = 1440\n"
        '[space]\n"grid.nope" = { type = "int", low = 1, high = 3 }\n'
    )
    assert tools_cli.main(["optimize", str(bad), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "unknown parameter 'grid.nope'" in err


def test_progress_bar_shows_trials_best_score_and_eta() -> None:
    """The bar counts finished trials of the shared study, shows the best feasible score and ETA."""
    study = optuna.create_study(direction="maximize")
    dists = {"x": optuna.distributions.FloatDistribution(0, 1)}
    for value in (0.25, 1.5):
        study.add_trial(
            optuna.trial.create_trial(
                params={"x": 0.5}, distributions=dists, value=value, user_attrs={FEASIBLE: True}
            )
        )
    out = io.StringIO()
    bar = StudyProgress(study, 4, enabled=True, file=out, engine="screen")
    bar.update()
    bar.close()
    text = out.getvalue()
    assert "2/4 trials" in text
    assert "best=1.5 (#1)" in text
    assert "[screen]" in text
    assert re.search(r"\[\d\d:\d\d<[\d:?]+", text)


@pytest.mark.slow
def test_in_sample_folds_score_each_stretch_of_the_market(tmp_path: Path) -> None:
    """With folds, every trial is backtested per fold and scored by the worst fold."""
    config = tiny_config(study__trials=2, split__in_sample_folds=3, split__fold_aggregate="min")
    windows = split_windows(config)
    assert len(windows.folds) == 3
    assert windows.folds[0].start_ns == windows.train.start_ns
    assert windows.folds[-1].end_ns == windows.train.end_ns == windows.test.start_ns
    result = run_optimization(config, tmp_path, progress=False)
    complete = result.study.get_trials(states=(TrialState.COMPLETE,))
    assert complete
    for trial in complete:
        folds = trial.user_attrs[FOLD_METRICS]
        assert len(folds) == 3
        assert all(f["fills"] > 0 for f in folds)
        assert trial.value == min(f["sharpe"] for f in folds)
        total = trial.user_attrs[METRICS]
        assert total["round_trips"] == sum(f["round_trips"] for f in folds)
        assert total["max_drawdown_pct"] == max(f["max_drawdown_pct"] for f in folds)
    summary = json.loads((tmp_path / SUMMARY_FILE).read_text())
    assert len(summary["windows"]["in_sample_folds"]) == 3


def test_fingerprint_ignores_where_files_live_but_not_what_they_say(tmp_path: Path) -> None:
    """Hosts with the same strategy file at different paths can join; other content cannot."""
    text = dump_strategy_params_toml(default_strategy_params())
    fingerprints = []
    for host, body in (
        ("a", text),
        ("b", text),
        ("c", text.replace("levels_per_side = 10", "levels_per_side = 9")),
    ):
        folder = tmp_path / host
        folder.mkdir()
        (folder / "strategy.toml").write_text(body)
        doc = config_doc()
        doc["base"] = {"params_file": str(folder / "strategy.toml")}
        fingerprints.append(config_fingerprint(parse_optimize_config(doc)))
    assert fingerprints[0] == fingerprints[1] != fingerprints[2]
