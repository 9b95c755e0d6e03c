"""The optimizer's outputs: best params as a strategy TOML, a JSON summary, the HTML report."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import structlog
from optuna.trial import TrialState

from hedgegridd.optimize.config import OptimizeConfig
from hedgegridd.optimize.storage import redact
from hedgegridd.optimize.windows import Window
from hedgegridd.optimize.worker import FAIL_REASON, FEASIBLE, PARAMS
from hedgegridd.params import dump_strategy_params_toml, parse_strategy_params

if TYPE_CHECKING:
    from hedgegridd.optimize.study import StudyResult

log = structlog.get_logger(__name__)

BEST_PARAMS_FILE = "best-params.toml"
SUMMARY_FILE = "summary.json"
REPORT_FILE = "report.html"


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
    best = None
    if result.best_number is not None:
        bt = study.trials[result.best_number]
        used = bt.user_attrs[PARAMS]
        searched = {name: used[name.split(".")[0]][name.split(".")[1]] for name in config.space}
        best = {"number": bt.number, "value": bt.value, "params": searched}
    return {
        "study": study.study_name,
        "storage": redact(storage_url),
        "objective": config.objective.metric,
        "direction": config.objective.direction,
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
        "out_of_sample": [
            {
                "number": o.number,
                "in_sample_value": o.in_sample_value,
                "in_sample": o.in_sample,
                "out_of_sample": o.out_of_sample,
                "out_of_sample_violations": o.out_of_sample_violations,
                "failure": o.failure,
            }
            for o in result.out_of_sample
        ],
    }


def write_outputs(result: StudyResult, config: OptimizeConfig, storage_url: str) -> None:
    """Write best-params.toml (if a feasible trial exists), summary.json and report.html."""
    from hedgegridd.optimize.report import write_report

    out = result.out_dir
    summary = summary_document(result, config, storage_url)
    (out / SUMMARY_FILE).write_text(json.dumps(summary, indent=2, default=str), encoding="utf-8")
    if result.best_number is not None:
        best = result.study.trials[result.best_number]
        header = (
            f"best parameters of study {result.study.study_name!r}, trial {best.number}\n"
            f"in-sample {config.objective.metric} = {best.value}\n"
            "written by `hedgegrid optimize`; loads with load_strategy_params / "
            "[strategy] params_file"
        )
        write_best_params(best.user_attrs[PARAMS], out / BEST_PARAMS_FILE, header)
    else:
        (out / BEST_PARAMS_FILE).unlink(missing_ok=True)  # never leave a stale winner behind
        log.warning("optimize.no_feasible_trial", study=result.study.study_name)
    write_report(result, config, summary, out / REPORT_FILE)
