"""``StudyResult``: what a finished optimizer run produced (read by the outputs and report)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import optuna

    from hedgegridd.optimize.rerun import Rerun
    from hedgegridd.optimize.windows import Windows


@dataclass(frozen=True, slots=True)
class StudyResult:
    """What a finished run produced."""

    study: optuna.Study
    windows: Windows
    best_number: int | None  # the finalist ranked first by the reference engine
    reruns: list[Rerun] = field(default_factory=list)  # ranked rows first
    out_dir: Path = Path()
