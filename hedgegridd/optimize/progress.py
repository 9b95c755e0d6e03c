"""Progress bars: the shared study (trials done / total, best score, ETA), the re-runs.

Workers are separate processes (possibly on other hosts), so the bar polls the
study storage instead of counting callbacks: it shows every trial of the study,
including other machines' trials.
"""

from __future__ import annotations

import math
from typing import Any, TextIO

import optuna
from optuna.trial import TrialState
from tqdm import tqdm

from hedgegridd.optimize.worker import FEASIBLE


def best_feasible(study: optuna.Study) -> optuna.trial.FrozenTrial | None:
    """The best COMPLETE trial that met every constraint (None if there is none)."""
    done = [
        t
        for t in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        if t.user_attrs.get(FEASIBLE) and t.value is not None and math.isfinite(t.value)
    ]
    if not done:
        return None
    sign = 1.0 if study.direction == optuna.study.StudyDirection.MAXIMIZE else -1.0
    return max(done, key=lambda t: (sign * float(t.value or 0.0), -t.number))


class StudyProgress:
    """tqdm bar refreshed from the storage by ``update()``; ``close()`` when done.

    Shows trials finished / budget, the best feasible search score and an ETA;
    ``engine`` (e.g. "screen") names the engine the scores come from.
    """

    def __init__(
        self,
        study: optuna.Study,
        total: int,
        *,
        enabled: bool,
        file: TextIO | None = None,
        engine: str = "",
    ) -> None:
        self._study = study
        finished = self._finished()
        self._bar = tqdm(
            total=total,
            initial=min(finished, total),
            desc=f"optimize {study.study_name}" + (f" [{engine}]" if engine else ""),
            unit="trial",
            disable=not enabled,
            dynamic_ncols=file is None,
            file=file,
            bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} trials [{elapsed}<{remaining}{postfix}]",
        )
        self._seen = finished

    def _finished(self) -> int:
        states = (TrialState.COMPLETE, TrialState.FAIL, TrialState.PRUNED)
        return len(self._study.get_trials(deepcopy=False, states=states))

    def update(self) -> None:
        """Advance to the storage's count of finished trials and show the best score."""
        finished = self._finished()
        if finished > self._seen:
            self._bar.update(finished - self._seen)
            self._seen = finished
        best = best_feasible(self._study)
        self._bar.set_postfix(
            best="-" if best is None else f"{best.value:.4g} (#{best.number})",
            refresh=True,
        )

    def close(self) -> None:
        """Final refresh and close."""
        self.update()
        self._bar.close()


def rerun_bar(total: int, *, engine: str, enabled: bool, file: TextIO | None = None) -> tqdm[Any]:
    """A bar over the finalists' re-runs (thread-safe ``update(1)`` per finished finalist)."""
    return tqdm(
        total=total,
        desc=f"re-run finalists with {engine}",
        unit="trial",
        disable=not enabled,
        dynamic_ncols=file is None,
        file=file,
        bar_format="{l_bar}{bar}| {n_fmt}/{total_fmt} finalists [{elapsed}<{remaining}]",
    )
