"""The optimizer's outputs: best params as a strategy TOML, a JSON summary, the HTML report."""

from __future__ import annotations

import datetime as dt
import json
import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog
from optuna.trial import TrialState

from hedgegridd.optimize.config import OptimizeConfig, engine_name
from hedgegridd.optimize.rerun import EngineRun, Rerun
from hedgegridd.optimize.storage import redact
from hedgegridd.optimize.windows import Window
from hedgegridd.optimize.worker import FAIL_REASON, FEASIBLE, PARAMS
from hedgegridd.params import dump_strategy_params_toml, parse_strategy_params

if TYPE_CHECKING:
    from hedgegridd.optimize.result import StudyResult

log = structlog.get_logger(__name__)

BEST_PARAMS_FILE = "best-params.toml"
SUMMARY_FILE = "summary.json"
REPORT_FILE = "report.html"
TEXT_REPORT_FILE = "report.txt"
_WIDTH = 100  # report.txt and the optimize summary fit 100 columns


def write_best_params(params_doc: dict[str, Any], path: Path, header: str) -> Path:
    """Validate and write a bare strategy TOML that ``load_strategy_params`` reads unchanged."""
    params = parse_strategy_params(params_doc)
    comment = "".join(f"# {line}\n" for line in header.splitlines())
    path.write_text(comment + "\n" + dump_strategy_params_toml(params), encoding="utf-8")
    return path


def _window(w: Window) -> dict[str, Any]:
    def iso(ns: int) -> str:
        return dt.datetime.fromtimestamp(ns / 1e9, tz=dt.UTC).isoformat()

    return {
        "start": iso(w.start_ns),
        "end": iso(w.end_ns),
        "start_ns": w.start_ns,
        "end_ns": w.end_ns,
        "minutes": w.minutes,
    }


def summary_document(
    result: StudyResult, config: OptimizeConfig, storage_url: str
) -> dict[str, Any]:
    """Everything the report shows, as plain JSON."""
    study = result.study
    trials = study.get_trials(deepcopy=False)
    counts = {s.name.lower(): 0 for s in TrialState}
    for t in trials:
        counts[t.state.name.lower()] += 1
    failures = [
        {"number": t.number, "reason": t.user_attrs.get(FAIL_REASON, "unknown")}
        for t in trials
        if t.state == TrialState.FAIL
    ]
    feasible = sum(1 for t in trials if t.user_attrs.get(FEASIBLE))
    chosen = next((r for r in result.reruns if r.number == result.best_number), None)
    best = None
    if chosen is not None:
        best = {
            "number": chosen.number,
            "value": chosen.reference.value,
            "engine": chosen.reference.engine,
            "window": "out_of_sample",
            "in_sample_value": chosen.in_sample_value,
            "params": _searched(chosen.params, config),
        }
    search, reference = engine_name(config.backtest.evaluator), engine_name(config.rerun.evaluator)
    rows = [_rerun_row(r, config) for r in result.reruns]
    return {
        "study": study.study_name,
        "storage": redact(storage_url),
        "objective": config.objective.metric,
        "direction": config.objective.direction,
        "engines": {"search": search, "reference": reference},
        "windows": {
            "train": _window(result.windows.train),
            "test": _window(result.windows.test),
            "in_sample_folds": [_window(w) for w in result.windows.folds],
            "fold_aggregate": config.split.fold_aggregate,
        },
        "trials": counts,
        "feasible": feasible,
        "failures": failures,
        "best": best,
        "reruns": {
            "top_k": config.rerun.top_k,
            "window": "out_of_sample",
            "ranked_by": reference,
            "tolerances": config.rerun.model_dump(exclude={"top_k", "evaluator"}),
            "same_winner": _same_winner(result.reruns),
            "flagged": sum(1 for r in result.reruns if r.disagreements),
            "rows": rows,
        },
    }


def _searched(params: dict[str, Any], config: OptimizeConfig) -> dict[str, Any]:
    return {name: params[name.split(".")[0]][name.split(".")[1]] for name in config.space}


def _run_doc(run: EngineRun) -> dict[str, Any]:
    return {
        "engine": run.engine,
        "value": run.value,
        "metrics": run.metrics,
        "failure": run.failure,
        "violations": run.violations,
        "seconds": round(run.seconds, 3),
    }


def _rerun_row(r: Rerun, config: OptimizeConfig) -> dict[str, Any]:
    return {
        "number": r.number,
        "rank": r.rank,
        "search_rank": r.search_rank,
        "search_order": r.search_order,
        "in_sample_value": r.in_sample_value,
        "in_sample": r.in_sample,
        "params": _searched(r.params, config),
        "search": _run_doc(r.search),
        "reference": _run_doc(r.reference),
        "disagreements": r.disagreements,
    }


def _same_winner(reruns: list[Rerun]) -> bool | None:
    """Whether the search engine's held-out runs rank the same finalist first."""
    first = [r.number for r in reruns if r.rank == 1]
    first_search = [r.number for r in reruns if r.search_rank == 1]
    if not first or not first_search:
        return None
    return first == first_search


def _cell(run: dict[str, Any], key: str) -> str:
    if run["metrics"] is None:
        return "failed"
    value = run["value"] if key == "value" else run["metrics"][key]
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def rerun_text(summary: dict[str, Any]) -> str:
    """The finalists side by side (search vs reference engine), as a plain-text table."""
    reruns = summary["reruns"]
    eng = summary["engines"]
    test = summary["windows"]["test"]
    lines = textwrap.wrap(
        f"finalists re-run on the held-out window {test['start']} .. {test['end']} "
        f"({test['minutes']} min): {eng['search']} vs {eng['reference']}, ranked by "
        f"{eng['reference']} {summary['objective']}",
        width=_WIDTH,
        subsequent_indent="  ",
        break_on_hyphens=False,
    )
    if not reruns["rows"]:
        lines.append("  no feasible trial: nothing was re-run")
        return "\n".join(lines) + "\n"
    metric = summary["objective"]
    head = ("trial", "rank", "IS score", "fills", "round trips", "net_pnl", metric)
    table = [head]
    flag_lines: list[str] = []
    for row in reruns["rows"]:
        s, r = row["search"], row["reference"]
        flags = [*(f"misses {v}" for v in r["violations"]), *row["disagreements"]]
        flag_lines.append("; ".join(flags))
        table.append(
            (
                f"#{row['number']}",
                "-" if row["rank"] is None else str(row["rank"]),
                f"{row['in_sample_value']:.4g}",
                f"{_cell(s, 'fills')} / {_cell(r, 'fills')}",
                f"{_cell(s, 'round_trips')} / {_cell(r, 'round_trips')}",
                f"{_cell(s, 'net_pnl')} / {_cell(r, 'net_pnl')}",
                f"{_cell(s, 'value')} / {_cell(r, 'value')}",
            )
        )
    widths = [max(len(row[i]) for row in table) for i in range(len(head))]
    for i, row in enumerate(table):
        lines.append(
            "  " + "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        )
        if i and flag_lines[i - 1]:
            lines.extend(
                textwrap.wrap(
                    "flags: " + flag_lines[i - 1],
                    width=_WIDTH,
                    initial_indent="      ",
                    subsequent_indent="        ",
                    break_on_hyphens=False,
                )
            )
    lines.append(f"  (columns: {eng['search']} / {eng['reference']}; IS score is the search score)")
    best = summary["best"]
    if best is None:
        lines.append(
            f"  no finalist met the constraints in its {eng['reference']} run: nothing written"
        )
    else:
        lines.append(
            f"  written: trial #{best['number']} ({metric} {_num(best['value'])} out of "
            f"sample on {eng['reference']}, {best['in_sample_value']:.4g} in sample)"
        )
    if reruns["same_winner"] is False:
        lines.append(f"  note: {eng['search']} alone would have picked another finalist")
    out: list[str] = []
    for line in lines:
        out += textwrap.wrap(line, width=_WIDTH, subsequent_indent="    ", break_on_hyphens=False)
    return "\n".join(out) + "\n"


def write_outputs(result: StudyResult, config: OptimizeConfig, storage_url: str) -> None:
    """Write best-params.toml (if a finalist passed), summary.json, report.txt, report.html."""
    from hedgegridd.optimize.report import write_report

    out = result.out_dir
    summary = summary_document(result, config, storage_url)
    (out / SUMMARY_FILE).write_text(json.dumps(summary, indent=2, default=str), encoding="utf-8")
    (out / TEXT_REPORT_FILE).write_text(rerun_text(summary), encoding="utf-8")
    chosen = summary["best"]
    if chosen is not None:
        best = result.study.trials[chosen["number"]]
        header = best_params_header(summary, len(result.reruns))
        write_best_params(best.user_attrs[PARAMS], out / BEST_PARAMS_FILE, header)
    else:
        (out / BEST_PARAMS_FILE).unlink(missing_ok=True)  # never leave a stale winner behind
        log.warning("optimize.no_feasible_trial", study=result.study.study_name)
    write_report(result, config, summary, out / REPORT_FILE)


_HEADER_METRICS = ("net_pnl", "max_drawdown_pct", "round_trips", "sharpe", "profit_factor")


def _figures(metrics: dict[str, Any] | None) -> str:
    if not metrics:
        return "n/a"
    parts = []
    for key in _HEADER_METRICS:
        if key in metrics and metrics[key] is not None:
            v = metrics[key]
            parts.append(f"{key} {v:.4g}" if isinstance(v, float) else f"{key} {v}")
    return ", ".join(parts) or "n/a"


def best_params_header(summary: dict[str, Any], finalists: int) -> str:
    """The best-params.toml comment: in-sample and out-of-sample figures side by side."""
    best = summary["best"]
    eng = summary["engines"]
    metric = summary["objective"]
    row = next(r for r in summary["reruns"]["rows"] if r["number"] == best["number"])
    train, test = summary["windows"]["train"], summary["windows"]["test"]
    lines = [
        f"best parameters of study {summary['study']!r}, trial {best['number']}",
        f"ranked first of {finalists} finalists by its {best['engine']} run on the held-out window",
        f"{metric}: in sample {best['in_sample_value']:.4g} ({eng['search']}), "
        f"out of sample {_num(best['value'])} ({best['engine']})",
        f"in sample     {train['start']} .. {train['end']}:",
        f"  {_figures(row['in_sample'])}",
        f"out of sample {test['start']} .. {test['end']}:",
        f"  {_figures(row['reference']['metrics'])}",
    ]
    is_value, oos = best["in_sample_value"], best["value"]
    if (
        summary["direction"] == "maximize"
        and isinstance(oos, float)
        and is_value > 0
        and oos < is_value / 2
    ):
        lines.append("note: the out-of-sample score is far below the in-sample one (overfitting?)")
    lines.append(
        "written by `hedgegrid optimize`; loads with load_strategy_params / [strategy] params_file"
    )
    out: list[str] = []
    for line in lines:  # "# " is prefixed to each: 98 columns keep the file within 100
        out += textwrap.wrap(line, width=_WIDTH - 2, subsequent_indent="  ", break_on_hyphens=False)
    return "\n".join(out)


def final_summary(summary: dict[str, Any], out_dir: Path) -> str:
    """What ``hedgegrid optimize`` prints last: the winner's scores and where the files are."""
    metric = summary["objective"]
    best = summary["best"]
    if best is None:
        lines = [
            "best trial: none written (no finalist met the constraints in its "
            f"{summary['engines']['reference']} run)"
        ]
    else:
        lines = [
            f"best trial: #{best['number']}  {metric}: in sample "
            f"{best['in_sample_value']:.4g} ({summary['engines']['search']}), out of sample "
            f"{_num(best['value'])} ({best['engine']})",
            "  params: " + ", ".join(f"{k}={_num(v)}" for k, v in best["params"].items()),
        ]
    lines.append(f"outputs in {out_dir}:")
    names = [SUMMARY_FILE, TEXT_REPORT_FILE, REPORT_FILE]
    if best is not None:
        names.insert(0, BEST_PARAMS_FILE)
    lines += [f"  {out_dir / name}" for name in names]
    wrapped: list[str] = []
    for line in lines:
        wrapped += textwrap.wrap(
            line,
            width=_WIDTH,
            subsequent_indent="      ",
            break_long_words=False,
            break_on_hyphens=False,
        ) or [""]
    return "\n".join(wrapped) + "\n"


def _num(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
