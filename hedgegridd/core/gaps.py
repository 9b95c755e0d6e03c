"""Bar-sequence check: detect missed bars (e.g. after a reconnect), duplicates, reordering."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from hedgegridd.errors import DomainError


class BarSequence(enum.StrEnum):
    """How a bar relates to the previous one."""

    FIRST = "FIRST"  # no previous bar
    CONTINUOUS = "CONTINUOUS"  # exactly one interval later
    GAP = "GAP"  # one or more bars missing in between
    DUPLICATE = "DUPLICATE"  # same close time as the previous bar
    OUT_OF_ORDER = "OUT_OF_ORDER"  # earlier than the previous bar


@dataclass(frozen=True, slots=True)
class BarCheck:
    """Result of ``check_bar_sequence``; ``missed`` counts bars absent in a GAP."""

    kind: BarSequence
    missed: int = 0

    @property
    def usable(self) -> bool:
        """False for duplicates and out-of-order bars (do not feed them to indicators)."""
        return self.kind not in (BarSequence.DUPLICATE, BarSequence.OUT_OF_ORDER)


def check_bar_sequence(prev_close_ns: int | None, close_ns: int, interval_ns: int) -> BarCheck:
    """Classify the bar closing at ``close_ns`` after one closing at ``prev_close_ns``.

    A delta of two intervals or more is a GAP with ``missed = delta // interval - 1``;
    the caller reports it and re-warms the regime detector.
    """
    if interval_ns <= 0:
        raise DomainError(f"bar interval must be > 0 ns, got {interval_ns}")
    if prev_close_ns is None:
        return BarCheck(BarSequence.FIRST)
    delta = close_ns - prev_close_ns
    if delta == 0:
        return BarCheck(BarSequence.DUPLICATE)
    if delta < 0:
        return BarCheck(BarSequence.OUT_OF_ORDER)
    if delta < 2 * interval_ns:
        return BarCheck(BarSequence.CONTINUOUS)
    return BarCheck(BarSequence.GAP, delta // interval_ns - 1)
