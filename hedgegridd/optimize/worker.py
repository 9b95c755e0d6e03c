"""One worker process: ask the shared study for a trial, backtest it in sample, tell.

Workers share nothing but the study storage, so any number of them on any
number of hosts can run against one study. Each worker has its own TPE sampler
seeded with ``study.seed + worker_index`` (one worker with one seed gives the
same trials every run). A trial is recorded as FAIL with a ``fail_reason``
user attribute when its parameters are refused, its backtest raises, it runs
out of memory or overruns ``trial_timeout_s`` (the child process is killed).
Feasibility (the constraints) is handed to the sampler through Optuna's
``constraints_func`` so infeasible trials keep their real score but never win.
Counting the study's trials and asking for the next one happen under the
study's ``BudgetLock``, so all workers together run exactly the budget.
"""

from __future__ import annotations

import datetime as dt
import os
import signal
import socket
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import optuna
import structlog
from optuna.exceptions import UpdateFinishedTrialError
from optuna.storages import BaseStorage
from optuna.trial import FrozenTrial, TrialState

from hedgegridd.errors import ConfigError
from hedgegridd.optimize.config import OptimizeConfig
from hedgegridd.optimize.metrics import Metrics, combine_folds, constraint_values, violations
from hedgegridd.optimize.space import build_params, suggest
from hedgegridd.optimize.storage import BudgetLock, open_storage
from hedgegridd.optimize.trial_process import BacktestTask, TrialFailure, TrialRunner
from hedgegridd.optimize.windows import Windows

log = structlog.get_logger(__name__)

FAIL_REASON = "fail_reason"
CONSTRAINTS = "constraints"
FEASIBLE = "feasible"
METRICS = "metrics"
FOLD_METRICS = "fold_metrics"
PARAMS = "strategy_params"
WORKER = "worker"
# A RUNNING trial older than this many trial timeouts (+ slack) has lost its worker.
STALE_FACTOR = 2.0
STALE_SLACK_S = 120.0


@dataclass(frozen=True, slots=True)
class WorkerJob:
    """What one worker process needs (picklable: it crosses a spawn boundary)."""

    config: OptimizeConfig
    storage_url: str
    n_trials: int
    worker_index: int
    windows: Windows
    base_doc: dict[str, Any]


def constraints_of(trial: FrozenTrial) -> Sequence[float]:
    """Optuna ``constraints_func``: values > 0 are violations (stored before ``tell``)."""
    values = trial.user_attrs.get(CONSTRAINTS)
    return list(values) if values else [1.0]


def make_sampler(config: OptimizeConfig, worker_index: int) -> optuna.samplers.BaseSampler:
    """The TPE sampler of one worker (deterministic for a given seed and history)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        return optuna.samplers.TPESampler(
            seed=config.study.seed + worker_index,
            n_startup_trials=config.study.startup_trials,
            constraints_func=constraints_of,
        )


def task_for(job: WorkerJob, params: dict[str, Any], start_ns: int, end_ns: int) -> BacktestTask:
    """A backtest of ``params`` over ``[start_ns, end_ns)``."""
    return BacktestTask(
        params=params,
        data=job.config.data,
        start_ns=start_ns,
        end_ns=end_ns,
        venue=job.config.backtest,
        seed=job.config.study.seed,
    )


def fail_stale_trials(study: optuna.Study, storage: BaseStorage, timeout_s: float) -> int:
    """Mark RUNNING trials that outlived any possible run (their worker died) as FAIL."""
    limit = dt.timedelta(seconds=timeout_s * STALE_FACTOR + STALE_SLACK_S)
    now = dt.datetime.now()
    study_id = storage.get_study_id_from_name(study.study_name)
    failed = 0
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        if trial.datetime_start is None or now - trial.datetime_start < limit:
            continue
        trial_id = storage.get_trial_id_from_study_id_trial_number(study_id, trial.number)
        try:
            storage.set_trial_user_attr(
                trial_id, FAIL_REASON, "interrupted: its worker stopped before it finished"
            )
            storage.set_trial_state_values(trial_id, state=TrialState.FAIL)
        except UpdateFinishedTrialError:
            continue  # another worker got there first
        failed += 1
        log.warning("optimize.stale_trial_failed", trial=trial.number)
    return failed


def trials_counted(study: optuna.Study) -> int:
    """Trials that count against the budget: finished or still running."""
    return len(study.get_trials(deepcopy=False))


def ask_within_budget(
    study: optuna.Study, n_trials: int, budget: BudgetLock
) -> optuna.Trial | None:
    """A new trial, or None once the study holds ``n_trials`` (counted and asked under the lock)."""
    with budget:
        if trials_counted(study) >= n_trials:
            return None
        return study.ask()


def run_one_trial(
    study: optuna.Study, trial: optuna.Trial, job: WorkerJob, worker_id: str, runner: TrialRunner
) -> None:
    """Evaluate an asked trial in sample in a child process, tell (FAIL with a reason)."""
    config = job.config
    try:
        trial.set_user_attr(WORKER, worker_id)
        values = suggest(trial, config.space)
        try:
            params = build_params(job.base_doc, values)
        except ConfigError as exc:
            _fail(study, trial, f"parameters refused: {exc}")
            return
        params_doc = params.model_dump(mode="json")
        trial.set_user_attr(PARAMS, params_doc)
        folds: list[Metrics] = []
        windows = job.windows.in_sample
        for i, window in enumerate(windows):
            result = runner.evaluate(
                config.backtest.evaluator,
                task_for(job, params_doc, window.start_ns, window.end_ns),
                timeout_s=config.study.trial_timeout_s,
            )
            if isinstance(result, TrialFailure):
                where = f"fold {i + 1}/{len(windows)}: " if len(windows) > 1 else ""
                _fail(study, trial, where + result.reason)
                return
            folds.append(result)
    except BaseException:
        _fail(study, trial, "interrupted: the worker was stopped during the trial")
        raise
    _complete(study, trial, folds, job)


def objective_value(folds: Sequence[Metrics], config: OptimizeConfig) -> float:
    """The trial's score: the metric of the window, or the mean / worst over the folds."""
    scores = [float(getattr(m, config.objective.metric)) for m in folds]
    if config.split.fold_aggregate == "mean" or len(scores) == 1:
        return sum(scores) / len(scores)
    return min(scores) if config.objective.direction == "maximize" else max(scores)


def _complete(
    study: optuna.Study, trial: optuna.Trial, folds: list[Metrics], job: WorkerJob
) -> None:
    constraints = job.config.constraints
    metrics = combine_folds(folds)
    broken = violations(metrics, constraints)
    trial.set_user_attr(METRICS, metrics.as_dict())
    if len(folds) > 1:
        trial.set_user_attr(FOLD_METRICS, [m.as_dict() for m in folds])
    trial.set_user_attr(CONSTRAINTS, list(constraint_values(metrics, constraints).values()))
    trial.set_user_attr(FEASIBLE, not broken)
    if broken:
        trial.set_user_attr("infeasible_because", broken)
    value = objective_value(folds, job.config)
    study.tell(trial, value)
    log.info(
        "optimize.trial_finished",
        trial=trial.number,
        value=value,
        feasible=not broken,
        round_trips=metrics.round_trips,
    )


def _fail(study: optuna.Study, trial: optuna.Trial, reason: str) -> None:
    trial.set_user_attr(FAIL_REASON, reason)
    study.tell(trial, state=TrialState.FAIL)
    log.warning("optimize.trial_failed", trial=trial.number, reason=reason)


def _stop_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def worker_main(job: WorkerJob) -> int:
    """Entry point of a worker process: run trials until the study has ``n_trials``."""
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    worker_id = f"{socket.gethostname()}:{os.getpid()}:{job.worker_index}"
    storage = open_storage(job.storage_url)
    study = optuna.load_study(
        study_name=job.config.study.name,
        storage=storage,
        sampler=make_sampler(job.config, job.worker_index),
    )
    budget = BudgetLock(job.storage_url, storage, job.config.study.name)
    ran = 0
    with TrialRunner(memory_mb=job.config.study.trial_memory_mb) as runner:
        while True:
            fail_stale_trials(study, storage, job.config.study.trial_timeout_s)
            trial = ask_within_budget(study, job.n_trials, budget)
            if trial is None:
                break
            try:
                run_one_trial(study, trial, job, worker_id, runner)
            except BaseException:
                runner.close(kill=True)  # stopping: do not wait for the trial to finish
                raise
            ran += 1
    log.info("optimize.worker_done", worker=worker_id, trials=ran)
    return ran
