"""Finalists: the best searched trials re-run on the held-out window with both engines.

The study searches with the fast screening kernel (``[backtest] evaluator``).
The ``[rerun] top_k`` best feasible trials (by their in-sample search score) are
then backtested on the held-out window twice, in child processes with the
trial timeout and memory cap: with the search engine and with the reference
engine (``[rerun] evaluator``, the Nautilus backtest). The winner, the
parameters written to best-params.toml, is ranked by the *reference* runs only:
the best reference objective among the finalists that meet the constraints
(scaled to the window) there. The search engine's figures sit beside each
reference run and a finalist whose two runs differ by more than the
``[rerun]`` tolerances (fills, net PnL, objective) is flagged.

The in-sample search never sees the held-out window, but the final ranking
does: the winner's out-of-sample score is the one it was chosen on among the
K finalists, not an untouched estimate.
"""

from __future__ import annotations

import math
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

import optuna
import structlog

from hedgegridd.optimize.config import ConstraintsSection, OptimizeConfig, engine_name
from hedgegridd.optimize.metrics import Metrics, violations
from hedgegridd.optimize.progress import rerun_bar
from hedgegridd.optimize.trial_process import TrialFailure, TrialRunner
from hedgegridd.optimize.windows import Windows
from hedgegridd.optimize.worker import FEASIBLE, METRICS, PARAMS, WorkerJob, task_for

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class EngineRun:
    """One finalist's backtest of the held-out window on one engine."""

    engine: str
    metrics: dict[str, Any] | None
    value: float | None  # the objective metric; None when the run failed
    failure: str | None
    seconds: float
    violations: list[str] = field(default_factory=list)

    @property
    def eligible(self) -> bool:
        """Ran and met every constraint (scaled to the window)."""
        return self.metrics is not None and not self.violations


@dataclass(frozen=True, slots=True)
class Rerun:
    """A finalist: its in-sample search result and both engines' held-out runs."""

    number: int
    search_order: int  # 1 = best in-sample search score
    in_sample_value: float
    in_sample: dict[str, Any]
    params: dict[str, Any]
    search: EngineRun
    reference: EngineRun
    disagreements: list[str] = field(default_factory=list)
    rank: int | None = None  # by the reference run; None when not eligible
    search_rank: int | None = None  # what the search engine alone would have ranked


def finalists(study: optuna.Study, k: int) -> list[optuna.trial.FrozenTrial]:
    """The ``k`` best feasible trials by in-sample score (lowest number on ties)."""
    sign = 1.0 if study.direction == optuna.study.StudyDirection.MAXIMIZE else -1.0
    feasible = [
        t
        for t in study.get_trials(deepcopy=False)
        if t.user_attrs.get(FEASIBLE) and t.value is not None and math.isfinite(t.value)
    ]
    feasible.sort(key=lambda t: (-sign * float(t.value or 0.0), t.number))
    return feasible[:k]


def out_of_sample_constraints(config: OptimizeConfig, windows: Windows) -> ConstraintsSection:
    """The constraints scaled to the test window (min round trips pro rata to its length)."""
    c = config.constraints
    ratio = windows.test.minutes / max(1, windows.train.minutes)
    return c.model_copy(update={"min_round_trips": max(1, math.ceil(c.min_round_trips * ratio))})


def engine_run(
    engine: str,
    result: Metrics | TrialFailure,
    config: OptimizeConfig,
    limits: ConstraintsSection,
    seconds: float,
) -> EngineRun:
    """An ``EngineRun`` from an evaluation's metrics or failure."""
    if isinstance(result, TrialFailure):
        return EngineRun(engine, None, None, result.reason, seconds)
    value = float(getattr(result, config.objective.metric))
    return EngineRun(engine, result.as_dict(), value, None, seconds, violations(result, limits))


def disagreements(search: EngineRun, reference: EngineRun, config: OptimizeConfig) -> list[str]:
    """Why the two engines' runs of one finalist disagree beyond ``[rerun]`` tolerances."""
    tol = config.rerun
    if search.metrics is None or reference.metrics is None:
        broken = [r for r in (search, reference) if r.metrics is None]
        return [f"{r.engine} run failed: {r.failure}" for r in broken]
    out: list[str] = []
    s_fills, r_fills = int(search.metrics["fills"]), int(reference.metrics["fills"])
    fills_pct = abs(s_fills - r_fills) / max(r_fills, 1) * 100
    if fills_pct > tol.fills_tolerance_pct:
        out.append(
            f"fills {s_fills} vs {r_fills} ({fills_pct:.1f} % > {tol.fills_tolerance_pct:g} %)"
        )
    balance = float(config.backtest.starting_balance)
    s_pnl, r_pnl = float(search.metrics["net_pnl"]), float(reference.metrics["net_pnl"])
    pnl_pct = abs(s_pnl - r_pnl) / balance * 100
    if pnl_pct > tol.net_pnl_tolerance_pct:
        out.append(
            f"net_pnl {s_pnl:.2f} vs {r_pnl:.2f} ({pnl_pct:.2f} % of balance > "
            f"{tol.net_pnl_tolerance_pct:g} %)"
        )
    s_val, r_val = float(search.value or 0.0), float(reference.value or 0.0)
    obj_pct = abs(s_val - r_val) / max(abs(r_val), 1.0) * 100
    if obj_pct > tol.objective_tolerance_pct:
        out.append(
            f"{config.objective.metric} {s_val:.4g} vs {r_val:.4g} "
            f"({obj_pct:.1f} % > {tol.objective_tolerance_pct:g} %)"
        )
    return out


def _ranks(reruns: list[Rerun], run_of: str, maximize: bool) -> dict[int, int]:
    sign = 1.0 if maximize else -1.0
    eligible = [r for r in reruns if getattr(r, run_of).eligible]
    eligible.sort(key=lambda r: (-sign * float(getattr(r, run_of).value), r.search_order))
    return {r.number: i + 1 for i, r in enumerate(eligible)}


def rank_reruns(reruns: list[Rerun], direction: str) -> list[Rerun]:
    """Rank by the reference runs (ties: better in-sample first); ranked rows first.

    Eligible: the reference run finished and met the constraints. ``search_rank``
    is what the search engine's own held-out runs would have ranked, for the report.
    """
    maximize = direction == "maximize"
    ranks = _ranks(reruns, "reference", maximize)
    search_ranks = _ranks(reruns, "search", maximize)
    ranked = [
        replace(r, rank=ranks.get(r.number), search_rank=search_ranks.get(r.number)) for r in reruns
    ]
    return sorted(ranked, key=lambda r: (r.rank is None, r.rank or 0, r.search_order))


def run_reruns(
    study: optuna.Study,
    config: OptimizeConfig,
    windows: Windows,
    job: WorkerJob,
    *,
    progress: bool,
) -> list[Rerun]:
    """Re-run the finalists on the held-out window with both engines; ranked."""
    chosen = finalists(study, config.rerun.top_k)
    order = {t.number: i + 1 for i, t in enumerate(chosen)}
    limits = out_of_sample_constraints(config, windows)
    search_path, reference_path = config.backtest.evaluator, config.rerun.evaluator
    search_name, reference_name = engine_name(search_path), engine_name(reference_path)
    bar = rerun_bar(len(chosen), engine=reference_name, enabled=progress)

    def timed(runner: TrialRunner, path: str, params: dict[str, Any]) -> tuple[Any, float]:
        task = task_for(job, params, windows.test.start_ns, windows.test.end_ns)
        started = time.monotonic()
        result = runner.evaluate(path, task, timeout_s=config.study.trial_timeout_s)
        return result, time.monotonic() - started

    def run(trial: optuna.trial.FrozenTrial, runner: TrialRunner) -> Rerun:
        params = trial.user_attrs[PARAMS]
        s_result, s_secs = timed(runner, search_path, params)
        search = engine_run(search_name, s_result, config, limits, s_secs)
        if reference_path == search_path:
            reference = replace(search, engine=reference_name)
        else:
            r_result, r_secs = timed(runner, reference_path, params)
            reference = engine_run(reference_name, r_result, config, limits, r_secs)
        bar.update(1)
        return Rerun(
            number=trial.number,
            search_order=order[trial.number],
            in_sample_value=float(trial.value or 0.0),
            in_sample=dict(trial.user_attrs.get(METRICS, {})),
            params=params,
            search=search,
            reference=reference,
            disagreements=disagreements(search, reference, config),
        )

    def run_chunk(chunk: list[optuna.trial.FrozenTrial]) -> list[Rerun]:
        with TrialRunner(memory_mb=config.study.trial_memory_mb) as runner:
            return [run(t, runner) for t in chunk]

    lanes = max(1, min(config.study.workers, len(chosen)))
    chunks = [chosen[i::lanes] for i in range(lanes)]
    try:
        with ThreadPoolExecutor(max_workers=lanes) as pool:
            done = [r for part in pool.map(run_chunk, chunks) for r in part]
    finally:
        bar.close()
    ranked = rank_reruns(done, config.objective.direction)
    for r in ranked:
        log.info(
            "optimize.rerun",
            trial=r.number,
            rank=r.rank,
            search_rank=r.search_rank,
            search_fills=None if r.search.metrics is None else r.search.metrics["fills"],
            reference_fills=None if r.reference.metrics is None else r.reference.metrics["fills"],
            search_value=r.search.value,
            reference_value=r.reference.value,
            disagreements=r.disagreements,
        )
    return ranked


def winner(reruns: list[Rerun]) -> Rerun | None:
    """The finalist ranked first by the reference engine (None if none is eligible)."""
    return next((r for r in reruns if r.rank == 1), None)
