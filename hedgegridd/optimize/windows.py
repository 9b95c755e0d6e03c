"""In-sample / out-of-sample split of the data span by time (no shuffling, no overlap)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from hedgegridd.optimize.config import OptimizeConfig

MINUTE_NS = 60_000_000_000


@dataclass(frozen=True, slots=True)
class Window:
    """A half-open time range ``[start_ns, end_ns)`` of the backtest clock."""

    start_ns: int
    end_ns: int

    @property
    def minutes(self) -> int:
        """Length in whole minutes."""
        return (self.end_ns - self.start_ns) // MINUTE_NS


@dataclass(frozen=True, slots=True)
class Windows:
    """The train (in-sample) window strictly before the test (out-of-sample) window."""

    train: Window
    test: Window
    folds: tuple[Window, ...] = ()

    @property
    def in_sample(self) -> tuple[Window, ...]:
        """The windows a trial is scored on: the folds, or the whole train window."""
        return self.folds or (self.train,)


def split_windows(config: OptimizeConfig) -> Windows:
    """Hold out the last ``split.test_fraction`` of the data span (on whole minutes)."""
    data = config.data
    start_ns, end_ns = data.start_ns, data.end_ns
    test_minutes = int(data.minutes * config.split.test_fraction)
    cut = end_ns - test_minutes * MINUTE_NS
    train = Window(start_ns, cut)
    k = config.split.in_sample_folds
    folds: tuple[Window, ...] = ()
    if k > 1:
        step = train.minutes // k
        bounds = [start_ns + i * step * MINUTE_NS for i in range(k)] + [cut]
        folds = tuple(Window(a, b) for a, b in itertools.pairwise(bounds))
    return Windows(train=train, test=Window(cut, end_ns), folds=folds)
