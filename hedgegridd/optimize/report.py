"""The HTML report: best parameters, finalists on both engines, history, importances.

One self-contained file that works offline: plotly.js is embedded once, inline,
and every figure after the first reuses it.
"""

from __future__ import annotations

import datetime as dt
import html
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import optuna
import plotly.graph_objects as go
import structlog
from optuna.exceptions import ExperimentalWarning
from optuna.importance import PedAnovaImportanceEvaluator
from optuna.trial import TrialState

from hedgegridd.optimize.config import OptimizeConfig
from hedgegridd.optimize.windows import Window

if TYPE_CHECKING:
    from hedgegridd.optimize.result import StudyResult

log = structlog.get_logger(__name__)


def _history_figure(study: optuna.Study) -> go.Figure:
    return optuna.visualization.plot_optimization_history(study)


MIN_TRIALS_FOR_IMPORTANCES = 20


def importance_caveat(completed: int) -> str:
    """A warning shown above the importances when they rest on few trials ("" otherwise)."""
    if completed >= MIN_TRIALS_FOR_IMPORTANCES:
        return ""
    return (
        f"Caveat: estimated from only {completed} completed trials (fewer than "
        f"{MIN_TRIALS_FOR_IMPORTANCES}); these importances are mostly noise, do not read "
        "them as which parameters matter."
    )


def _importance_section(study: optuna.Study) -> tuple[go.Figure | None, str]:
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if len(complete) < 2 or not study.best_trial.params:
        return None, "Not enough completed trials to estimate parameter importances."
    try:
        # PED-ANOVA: deterministic and needs no scikit-learn (fANOVA does).
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ExperimentalWarning)
            fig = optuna.visualization.plot_param_importances(
                study, evaluator=PedAnovaImportanceEvaluator()
            )
    except (RuntimeError, ValueError) as exc:  # e.g. every completed trial had equal params
        log.info("optimize.importances_unavailable", reason=str(exc))
        return None, f"Parameter importances unavailable: {exc}"
    return fig, importance_caveat(len(complete))


def iso_utc(ns: int) -> str:
    """A nanosecond epoch as an ISO 8601 UTC time (``2024-01-01T00:00:00Z``)."""
    t = dt.datetime.fromtimestamp(ns // 1_000_000_000, tz=dt.UTC)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def _span(w: Window) -> str:
    return f"[{iso_utc(w.start_ns)}, {iso_utc(w.end_ns)})"


def _params(params: dict[str, Any]) -> str:
    return ", ".join(f"{html.escape(k)}={_fmt(v)}" for k, v in params.items())


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return html.escape(str(value))


_SIDE_BY_SIDE = ("fills", "round_trips", "net_pnl", "fees", "max_drawdown_pct")


def _run_cells(run: dict[str, Any], key: str) -> str:
    if run["metrics"] is None:
        return "failed"
    return _fmt(run["value"] if key == "value" else run["metrics"].get(key))


def _rerun_table(summary: dict[str, Any]) -> str:
    reruns = summary["reruns"]
    if not reruns["rows"]:
        return "<p>No feasible trial: nothing was re-run.</p>"
    eng = summary["engines"]
    metric = summary["objective"]
    columns = (*_SIDE_BY_SIDE, "value")
    head = "".join(f"<th>{html.escape(c if c != 'value' else metric)}</th>" for c in columns)
    rows = []
    for row in reruns["rows"]:
        s, r = row["search"], row["reference"]
        cells = "".join(f"<td>{_run_cells(s, c)} / {_run_cells(r, c)}</td>" for c in columns)
        mark = (
            " (written)" if summary["best"] and summary["best"]["number"] == row["number"] else ""
        )
        notes = [f"{x['engine']} failed: {x['failure']}" for x in (s, r) if x["failure"]]
        notes += [f"{r['engine']} misses {v}" for v in r["violations"]]
        notes += [f"DISAGREE: {d}" for d in row["disagreements"] if "failed" not in d]
        flag = ' class="flag"' if row["disagreements"] else ""
        small = "".join(f"<br><small>{html.escape(n)}</small>" for n in notes)
        rank = "-" if row["rank"] is None else row["rank"]
        srank = "-" if row["search_rank"] is None else row["search_rank"]
        rows.append(
            f"<tr{flag}><td>#{row['number']}{mark}{small}</td><td>{rank}</td><td>{srank}</td>"
            f"<td>{_fmt(row['in_sample_value'])}</td>{cells}</tr>"
        )
    tol = reruns["tolerances"]
    note = (
        f"<p>The {reruns['top_k']} best feasible trials of the {eng['search']} search "
        f"(by in-sample score) re-run on the held-out window with both engines, ranked by "
        f"the {eng['reference']} run's {html.escape(metric)} among the runs that meet the "
        "constraints (scaled to the window). Rows are flagged when the engines differ by "
        f"more than {tol['fills_tolerance_pct']:g} % in fills, "
        f"{tol['net_pnl_tolerance_pct']:g} % of the starting balance in net PnL or "
        f"{tol['objective_tolerance_pct']:g} % in the objective; "
        f"{reruns['flagged']} of {len(reruns['rows'])} flagged. Each metric cell reads "
        f"{eng['search']} / {eng['reference']}.</p>"
    )
    return (
        note
        + "<table><thead><tr><th>trial</th>"
        + f"<th>{eng['reference']} rank</th><th>{eng['search']} rank</th><th>IS score</th>"
        + head
        + "</tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
    )


def _folds_note(result: StudyResult, config: OptimizeConfig) -> str:
    k = len(result.windows.folds)
    if k < 2:
        return ""
    return (
        f" In sample is scored over {k} consecutive folds ({config.split.fold_aggregate} of the "
        "fold scores); the IS columns below summarize the folds."
    )


def _failures(summary: dict[str, Any]) -> str:
    fails = summary.get("failures") or []
    if not fails:
        return "<p>No failed trials.</p>"
    items = "".join(
        f"<li>#{f['number']}: {html.escape(str(f['reason']))}</li>" for f in fails[:200]
    )
    return f"<ul>{items}</ul>"


def write_report(
    result: StudyResult, config: OptimizeConfig, summary: dict[str, Any], path: Path
) -> Path:
    """Write the report to ``path`` (self-contained HTML)."""
    study = result.study
    parts: list[str] = []
    history = _history_figure(study)
    parts.append(history.to_html(full_html=False, include_plotlyjs=True))
    importance, note = _importance_section(study)
    imp_html = (f"<p class='caveat'>{html.escape(note)}</p>" if note else "") + (
        importance.to_html(full_html=False, include_plotlyjs=False)
        if importance is not None
        else ""
    )
    w = result.windows
    best = summary.get("best")
    best_html = (
        "<p>No finalist met every constraint in its reference run; no parameters were written.</p>"
        if best is None
        else f"<p>Trial #{best['number']} ({best['engine']} {config.objective.metric} "
        f"{_fmt(best['value'])} out of sample, in-sample search score "
        f"{_fmt(best['in_sample_value'])}): <code>{_params(best['params'])}</code>, "
        "written to best-params.toml. It was ranked first among the finalists by its "
        f"{best['engine']} run on the held-out window, so that score is the one it was "
        "chosen on, not an untouched estimate.</p>"
    )
    counts = ", ".join(f"{k}: {v}" for k, v in summary["trials"].items() if v)
    doc = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>hedgegrid optimize: {html.escape(study.study_name)}</title>
<style>body{{font-family:sans-serif;margin:2em}} table{{border-collapse:collapse;font-size:12px}}
td,th{{border:1px solid #ccc;padding:3px 6px;text-align:right;white-space:normal;
overflow-wrap:anywhere}} table{{max-width:100%}} .caveat{{color:#a40}}
tr.flag td{{background:#fde2e2}}</style></head><body>
<h1>Study {html.escape(study.study_name)}</h1>
<p>Objective: {config.objective.metric} ({config.objective.direction}), in sample
{_span(w.train)} ({w.train.minutes} min); out of sample
{_span(w.test)} ({w.test.minutes} min).{_folds_note(result, config)}
Trials: {html.escape(counts)}; feasible: {summary["feasible"]}.
Storage: {html.escape(summary["storage"])}.</p>
<h2>Best parameters</h2>{best_html}
<h2>Finalists: {summary["engines"]["search"]} vs {summary["engines"]["reference"]}</h2>
{_rerun_table(summary)}
<h2>Optimization history</h2>{parts[0]}
<h2>Parameter importances</h2>{imp_html}
<h2>Failed trials</h2>{_failures(summary)}
</body></html>
"""
    path.write_text(doc, encoding="utf-8")
    return path
