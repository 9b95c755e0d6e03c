"""Run a study: create or resume it, start worker processes, then judge out of sample.

``run_optimization`` is what ``hedgegrid optimize`` calls:

1. open the storage, create the study (or, with ``resume``, continue/join it:
   the config fingerprint stored on the study must match, so two hosts cannot
   silently mix different spaces or objectives in one study);
2. start ``workers`` spawned processes (each asks/tells trials until the study
   holds ``trials`` trials, searching with ``[backtest] evaluator``, the
   screening kernel by default) and show a progress bar polled from the storage;
3. re-run the ``[rerun] top_k`` best feasible in-sample trials on the held-out
   window with both engines (``hedgegridd.optimize.rerun``) and rank them by
   the reference (Nautilus) runs;
4. write ``best-params.toml`` (the finalist ranked first by the reference runs),
   ``summary.json``, ``report.txt`` and ``report.html`` to ``out_dir``.
"""

from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import optuna
import structlog

from hedgegridd.errors import ConfigError, HedgegridError
from hedgegridd.optimize.config import OptimizeConfig, engine_name
from hedgegridd.optimize.progress import StudyProgress
from hedgegridd.optimize.rerun import run_reruns, winner
from hedgegridd.optimize.result import StudyResult
from hedgegridd.optimize.space import base_document
from hedgegridd.optimize.storage import default_storage_url, open_storage, redact
from hedgegridd.optimize.trial_process import SPAWN
from hedgegridd.optimize.windows import split_windows
from hedgegridd.optimize.worker import WorkerJob, worker_main

log = structlog.get_logger(__name__)

FINGERPRINT = "config_fingerprint"
_POLL_S = 1.0


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
    engine = engine_name(jobs[0].config.backtest.evaluator) if jobs else ""
    bar = StudyProgress(study, total, enabled=progress, engine=engine)
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


def run_optimization(
    config: OptimizeConfig,
    out_dir: Path,
    *,
    workers: int | None = None,
    trials: int | None = None,
    resume: bool = False,
    progress: bool = True,
) -> StudyResult:
    """Run (or resume/join) the study, re-run the finalists on both engines, write outputs."""
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
    reruns = run_reruns(study, config, windows, jobs[0], progress=progress)
    best = winner(reruns)
    result = StudyResult(
        study=study,
        windows=windows,
        best_number=None if best is None else best.number,
        reruns=reruns,
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
