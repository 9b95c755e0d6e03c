"""Run a study: create or resume it, start worker processes, then judge out of sample.

``run_optimization`` is what ``hedgegrid optimize`` calls:

1. open the storage, create the study (or, with ``resume``, continue/join it:
   the config fingerprint stored on the study must match, so two hosts cannot
   silently mix different spaces or objectives in one study);
2. start ``workers`` spawned processes (each asks/tells trials until the study
   holds ``trials`` trials) and show a progress bar polled from the storage;
3. re-run the ``top_k_out_of_sample`` best feasible in-sample trials on the
   held-out window, in child processes with the same timeout and memory cap;
4. write ``best-params.toml`` (the best in-sample trial: selection never looks at
   out-of-sample scores), ``summary.json`` and ``report.html`` to ``out_dir``.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import optuna
import structlog

from hedgegridd.errors import ConfigError, HedgegridError
from hedgegridd.optimize.config import ConstraintsSection, OptimizeConfig
from hedgegridd.optimize.metrics import Metrics, violations
from hedgegridd.optimize.progress import StudyProgress, best_feasible
from hedgegridd.optimize.space import base_document
from hedgegridd.optimize.storage import default_storage_url, open_storage, redact
from hedgegridd.optimize.trial_process import SPAWN, TrialFailure, TrialRunner
from hedgegridd.optimize.windows import Windows, split_windows
from hedgegridd.optimize.worker import FEASIBLE, PARAMS, WorkerJob, task_for, worker_main

log = structlog.get_logger(__name__)

FINGERPRINT = "config_fingerprint"
_POLL_S = 1.0


@dataclass(frozen=True, slots=True)
class OutOfSample:
    """One top in-sample trial re-run on the held-out window."""

    number: int
    in_sample_value: float
    in_sample: dict[str, Any]
    out_of_sample: dict[str, Any] | None
    failure: str | None
    params: dict[str, Any]
    out_of_sample_violations: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class StudyResult:
    """What a finished run produced."""

    study: optuna.Study
    windows: Windows
    best_number: int | None
    out_of_sample: list[OutOfSample] = field(default_factory=list)
    out_dir: Path = Path()


def config_fingerprint(config: OptimizeConfig) -> str:
    """Hash of everything that defines what a trial's score means (not how it is run).

    Host-independent: the base parameters enter by content (not by file path) and a
    catalog by instrument and window (not by where it is mounted).
    """
    relevant = config.model_dump(
        mode="json",
        include={"data", "split", "backtest", "space", "objective", "constraints"},
    )
    catalog = relevant["data"].get("catalog")
    if catalog is not None:
        catalog.pop("path", None)
    relevant["base"] = base_document(config)
    blob = json.dumps(relevant, sort_keys=True, default=str).encode()
    return hashlib.sha256(blob).hexdigest()[:16]


def open_study(config: OptimizeConfig, storage_url: str, *, resume: bool) -> optuna.Study:
    """Create the study, or load it when resuming/joining (fingerprint checked)."""
    storage = open_storage(storage_url)
    name = config.study.name
    exists = any(s.study_name == name for s in optuna.get_all_study_summaries(storage))
    if exists and not resume:
        raise ConfigError(
            f"study {name!r} already exists in {redact(storage_url)}; pass --resume to "
            "continue it (or join it from another host), or pick another study.name"
        )
    study = optuna.create_study(
        study_name=name,
        storage=storage,
        direction=config.objective.direction,
        load_if_exists=True,
    )
    fp = config_fingerprint(config)
    stored = study.user_attrs.get(FINGERPRINT)
    if stored is None:
        study.set_user_attr(FINGERPRINT, fp)
    elif stored != fp:
        raise ConfigError(
            f"study {name!r} was created with a different config (fingerprint {stored}, "
            f"this config {fp}): data, split, backtest, base, space, objective and "
            "constraints must be unchanged to resume or join it"
        )
    return study


def _run_workers(study: optuna.Study, jobs: list[WorkerJob], total: int, *, progress: bool) -> None:
    procs = [
        SPAWN.Process(target=worker_main, args=(job,), name=f"hedgegrid-worker-{job.worker_index}")
        for job in jobs
    ]
    bar = StudyProgress(study, total, enabled=progress)
    try:
        for proc in procs:
            proc.start()
        while any(p.is_alive() for p in procs):
            for proc in procs:
                proc.join(_POLL_S / len(procs))
            bar.update()
    finally:
        for proc in procs:
            if proc.is_alive():
                proc.terminate()  # the worker fails its running trial and kills its child
        for proc in procs:
            proc.join()
        bar.close()
    bad = [p.exitcode for p in procs if p.exitcode != 0]
    if bad:
        raise HedgegridError(f"{len(bad)} optimizer worker(s) exited with codes {bad}")


def judge_out_of_sample(
    study: optuna.Study, config: OptimizeConfig, windows: Windows, job: WorkerJob
) -> list[OutOfSample]:
    """Re-run the top feasible in-sample trials on the test window (in child processes)."""
    ranked: list[optuna.trial.FrozenTrial] = []
    remaining = [t for t in study.get_trials(deepcopy=False) if t.user_attrs.get(FEASIBLE)]
    while remaining and len(ranked) < config.study.top_k_out_of_sample:
        best = best_feasible_of(study, remaining)
        ranked.append(best)
        remaining = [t for t in remaining if t.number != best.number]

    oos_limits = out_of_sample_constraints(config, windows)

    def run(trial: optuna.trial.FrozenTrial, runner: TrialRunner) -> OutOfSample:
        params = trial.user_attrs[PARAMS]
        result = runner.evaluate(
            config.backtest.evaluator,
            task_for(job, params, windows.test.start_ns, windows.test.end_ns),
            timeout_s=config.study.trial_timeout_s,
        )
        oos = result.as_dict() if isinstance(result, Metrics) else None
        fail = result.reason if isinstance(result, TrialFailure) else None
        broken = violations(result, oos_limits) if isinstance(result, Metrics) else []
        return OutOfSample(
            number=trial.number,
            in_sample_value=float(trial.value or 0.0),
            in_sample=dict(trial.user_attrs.get("metrics", {})),
            out_of_sample=oos,
            failure=fail,
            params=params,
            out_of_sample_violations=broken,
        )

    def run_chunk(chunk: list[optuna.trial.FrozenTrial]) -> list[OutOfSample]:
        with TrialRunner(memory_mb=config.study.trial_memory_mb) as runner:
            return [run(t, runner) for t in chunk]

    lanes = max(1, min(config.study.workers, len(ranked)))
    chunks = [ranked[i::lanes] for i in range(lanes)]
    with ThreadPoolExecutor(max_workers=lanes) as pool:
        done = [o for part in pool.map(run_chunk, chunks) for o in part]
    order = {t.number: i for i, t in enumerate(ranked)}
    return sorted(done, key=lambda o: order[o.number])


def out_of_sample_constraints(config: OptimizeConfig, windows: Windows) -> ConstraintsSection:
    """The constraints scaled to the test window (min round trips pro rata to its length)."""
    c = config.constraints
    ratio = windows.test.minutes / max(1, windows.train.minutes)
    return c.model_copy(update={"min_round_trips": max(1, math.ceil(c.min_round_trips * ratio))})


def best_feasible_of(
    study: optuna.Study, trials: list[optuna.trial.FrozenTrial]
) -> optuna.trial.FrozenTrial:
    """The best trial among ``trials`` in the study's direction (lowest number on ties)."""
    sign = 1.0 if study.direction == optuna.study.StudyDirection.MAXIMIZE else -1.0
    return max(trials, key=lambda t: (sign * float(t.value or 0.0), -t.number))


def run_optimization(
    config: OptimizeConfig,
    out_dir: Path,
    *,
    workers: int | None = None,
    trials: int | None = None,
    resume: bool = False,
    progress: bool = True,
) -> StudyResult:
    """Run (or resume/join) the study, judge the best out of sample, write the outputs."""
    from hedgegridd.optimize.output import write_outputs

    study_cfg = config.study.model_copy(
        update={
            "workers": workers or config.study.workers,
            "trials": trials or config.study.trials,
        }
    )
    config = config.model_copy(update={"study": study_cfg})
    out_dir.mkdir(parents=True, exist_ok=True)
    storage_url = config.study.storage or default_storage_url(out_dir)
    base_doc = base_document(config)
    windows = split_windows(config)
    study = open_study(config, storage_url, resume=resume)
    log.info(
        "optimize.started",
        study=config.study.name,
        storage=redact(storage_url),
        workers=study_cfg.workers,
        trials=study_cfg.trials,
        existing=len(study.trials),
    )
    started = time.monotonic()
    jobs = [
        WorkerJob(config, storage_url, study_cfg.trials, i, windows, base_doc)
        for i in range(study_cfg.workers)
    ]
    _run_workers(study, jobs, study_cfg.trials, progress=progress)
    oos = judge_out_of_sample(study, config, windows, jobs[0])
    best = best_feasible(study)
    result = StudyResult(
        study=study,
        windows=windows,
        best_number=None if best is None else best.number,
        out_of_sample=oos,
        out_dir=out_dir,
    )
    write_outputs(result, config, storage_url)
    log.info(
        "optimize.finished",
        study=config.study.name,
        trials=len(study.trials),
        best_trial=result.best_number,
        seconds=round(time.monotonic() - started, 1),
    )
    return result
