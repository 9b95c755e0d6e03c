"""The HTML report: optimization history, parameter importances, in/out-of-sample table.

One self-contained file that works offline: plotly.js is embedded once, inline,
and every figure after the first reuses it.
"""

from __future__ import annotations

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

if TYPE_CHECKING:
    from hedgegridd.optimize.study import StudyResult

log = structlog.get_logger(__name__)

_COLUMNS = (
    "sharpe",
    "sortino",
    "calmar",
    "total_return_pct",
    "annualized_return_pct",
    "max_drawdown_pct",
    "round_trips",
    "win_rate",
    "profit_factor",
    "net_pnl",
    "span_days",
)


def _history_figure(study: optuna.Study) -> go.Figure:
    return optuna.visualization.plot_optimization_history(study)


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
        return None, f"Parameter importances unavailable: {html.escape(str(exc))}"
    return fig, ""


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    return html.escape(str(value))


def _oos_table(result: StudyResult) -> str:
    if not result.out_of_sample:
        return "<p>No feasible trial: nothing was judged out of sample.</p>"
    head = "".join(f"<th>IS {c}</th><th>OOS {c}</th>" for c in _COLUMNS)
    rows = []
    for o in result.out_of_sample:
        cells = []
        for c in _COLUMNS:
            oos = "failed" if o.out_of_sample is None else _fmt(o.out_of_sample.get(c))
            cells.append(f"<td>{_fmt(o.in_sample.get(c))}</td><td>{oos}</td>")
        mark = " (written)" if o.number == result.best_number else ""
        notes = [o.failure] if o.failure else []
        notes += [f"OOS misses {v}" for v in o.out_of_sample_violations]
        fail = "".join(f"<br><small>{html.escape(n)}</small>" for n in notes)
        rows.append(f"<tr><td>#{o.number}{mark}{fail}</td>{''.join(cells)}</tr>")
    return (
        "<table><thead><tr><th>trial</th>"
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
    imp_html = (
        importance.to_html(full_html=False, include_plotlyjs=False)
        if importance is not None
        else f"<p>{note}</p>"
    )
    w = result.windows
    best = summary.get("best")
    best_html = (
        "<p>No trial met every constraint; no parameters were written.</p>"
        if best is None
        else f"<p>Best in-sample trial #{best['number']} ({_fmt(best['value'])}): "
        f"<code>{html.escape(str(best['params']))}</code>, written to best-params.toml. "
        "It was chosen on in-sample scores only; compare its out-of-sample row below.</p>"
    )
    counts = ", ".join(f"{k}: {v}" for k, v in summary["trials"].items() if v)
    doc = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>hedgegrid optimize: {html.escape(study.study_name)}</title>
<style>body{{font-family:sans-serif;margin:2em}} table{{border-collapse:collapse;font-size:12px}}
td,th{{border:1px solid #ccc;padding:3px 6px;text-align:right}}</style></head><body>
<h1>Study {html.escape(study.study_name)}</h1>
<p>Objective: {config.objective.metric} ({config.objective.direction}), in sample
[{w.train.start_ns}, {w.train.end_ns}) ns ({w.train.minutes} min); out of sample
[{w.test.start_ns}, {w.test.end_ns}) ns ({w.test.minutes} min).{_folds_note(result, config)}
Trials: {html.escape(counts)}; feasible: {summary["feasible"]}.
Storage: {html.escape(summary["storage"])}.</p>
<h2>Best parameters</h2>{best_html}
<h2>In-sample vs out-of-sample</h2>{_oos_table(result)}
<h2>Optimization history</h2>{parts[0]}
<h2>Parameter importances</h2>{imp_html}
<h2>Failed trials</h2>{_failures(summary)}
</body></html>
"""
    path.write_text(doc, encoding="utf-8")
    return path
