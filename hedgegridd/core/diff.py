"""Order diff: desired rungs vs live entry orders by stable (side, level) key.

A live order matches its key's desired rung when price and quantity are within the
tolerances; matched orders are kept, every other live order is cancelled, and every
desired rung without a match is placed. Orders with a cancel in flight are ignored.
Applying the result and diffing again yields no operations.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from hedgegridd.core.specs import DiffSpec
from hedgegridd.core.types import BPS, CancelEntry, LiveEntry, PlaceEntry, Rung, RungKey

_HUNDRED = Decimal(100)


@dataclass(frozen=True, slots=True)
class EntryDiff:
    """Minimal operations: cancels first, then placements, both in key order."""

    cancels: tuple[CancelEntry, ...] = ()
    places: tuple[PlaceEntry, ...] = ()
    kept: int = 0

    @property
    def is_empty(self) -> bool:
        """True when nothing needs to be sent."""
        return not self.cancels and not self.places


EMPTY_DIFF = EntryDiff()


def matches(live: LiveEntry, rung: Rung, spec: DiffSpec) -> bool:
    """True when ``live`` is within the price and quantity tolerance of ``rung``."""
    if live.price == rung.price and live.qty == rung.qty:
        return True
    if not spec.price_tolerance_bps and not spec.qty_tolerance_pct:
        return False
    price_ok = abs(live.price - rung.price) * BPS <= spec.price_tolerance_bps * rung.price
    qty_ok = abs(live.qty - rung.qty) * _HUNDRED <= spec.qty_tolerance_pct * rung.qty
    return price_ok and qty_ok


def diff_entries(desired: Iterable[Rung], live: Iterable[LiveEntry], spec: DiffSpec) -> EntryDiff:
    """The cancels and placements that turn ``live`` into ``desired``."""
    want: dict[RungKey, Rung] = {r.key: r for r in desired}
    by_key: dict[RungKey, list[LiveEntry]] = {}
    for order in live:
        if not order.pending_cancel:
            by_key.setdefault(order.key, []).append(order)
    cancels: list[CancelEntry] = []
    satisfied: set[RungKey] = set()
    for key, orders in by_key.items():
        rung = want.get(key)
        keep: LiveEntry | None = None
        if rung is not None:
            keep = next((o for o in orders if matches(o, rung, spec)), None)
        for o in orders:
            if o is not keep:
                cancels.append(CancelEntry(o.order_id, key))
        if keep is not None:
            satisfied.add(key)
    places = [PlaceEntry(r) for k, r in want.items() if k not in satisfied]
    if not cancels and not places:
        return EntryDiff(kept=len(satisfied))
    cancels.sort(key=lambda c: (c.key, c.order_id))
    places.sort(key=lambda p: p.key)
    return EntryDiff(tuple(cancels), tuple(places), len(satisfied))


@dataclass(frozen=True, slots=True)
class DiffRecord:
    """One non-empty diff, for the bounded history."""

    at_ns: int
    cancels: int
    places: int


class EntryDiffer:
    """``diff_entries`` with a one-entry cache and a bounded history of non-empty diffs.

    The cache returns the previous result when the desired rungs and the live orders are
    equal to the previous call's (identity is checked first, so callers that reuse
    objects pay almost nothing).
    """

    def __init__(self, spec: DiffSpec, history: int = 256) -> None:
        self._spec = spec
        self._last_desired: Sequence[Rung] | None = None
        self._last_live: Sequence[LiveEntry] | None = None
        self._last: EntryDiff = EMPTY_DIFF
        self.history: deque[DiffRecord] = deque(maxlen=max(1, history))

    def diff(self, desired: Sequence[Rung], live: Sequence[LiveEntry], now_ns: int) -> EntryDiff:
        """Cached ``diff_entries``; non-empty results are appended to ``history``."""
        if (desired is self._last_desired or desired == self._last_desired) and (
            live is self._last_live or live == self._last_live
        ):
            return self._last
        result = diff_entries(desired, live, self._spec)
        self._last_desired, self._last_live, self._last = desired, live, result
        if not result.is_empty:
            self.history.append(DiffRecord(now_ns, len(result.cancels), len(result.places)))
        return result
