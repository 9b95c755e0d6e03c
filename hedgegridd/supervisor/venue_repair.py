"""The venue watch's repair step, once a difference with the venue is confirmed.

1. Every order of ours the venue no longer lists open (or lists with less left) is
   looked up (``VenueReader.order_fate``: final status, the order that carried the
   fills, each fill with its trade id).
2. What the lost stream events would have said is replayed through the exec client
   (``NodeVenue.apply_fates``, see ``hedgegridd.supervisor.venue_replay``), in the
   venue's time order, while the strategy holds its decisions (``Reconciler.hold``): it
   re-plans once, from the repaired state, instead of acting on states already past.
3. What that cannot explain (a leg still different, an order open only at the venue,
   fills the venue did not list, or a repair asked for after a stream event) gets a
   Nautilus mass status, still under the hold.

The caller then adopts untracked orders, re-plans exits, re-reads and concludes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import structlog

from hedgegridd.strategy.reconciler import Finding, Lookup, Reconciler, VenueView, needs_mass_status
from hedgegridd.supervisor.node_venue import NodeVenue
from hedgegridd.supervisor.venue_reader import OrderFate, VenueReader, VenueReadError

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class RepairDone:
    """What one repair step did (counted in the watch's stats)."""

    lookups: int = 0  # orders looked up at the venue
    fills: int = 0  # lost fills replayed
    mass_status: bool = False  # a mass status was run


class VenueRepair:
    """Looks lost events up at the venue, replays them, falls back to a mass status."""

    def __init__(
        self,
        *,
        reader: VenueReader,
        node: NodeVenue,
        reconciler: Reconciler,
        heartbeat: Callable[[], None],
    ) -> None:
        self._reader = reader
        self._node = node
        self._rec = reconciler
        self._beat = heartbeat

    async def run(self, view: VenueView, reasons: tuple[str, ...], *, forced: bool) -> RepairDone:
        """One repair step against ``view`` (the confirmed reading)."""
        fates, looked_up = await self._look_up(self._rec.lookups(view))
        fills = 0
        with self._rec.hold():  # the strategy decides once, from the repaired state
            replayed = await self._node.apply_fates(fates) if fates else None
            if replayed is not None:
                fills = replayed.fills
                log.info(
                    "reconcile.replayed",
                    orders=len(fates),
                    fills=replayed.fills,
                    closed=replayed.closed,
                    relinked=replayed.relinked,
                    incomplete=list(replayed.incomplete),
                    lag_s=_lag_s(replayed.first_fill_ms),
                )
            incomplete = replayed is not None and bool(replayed.incomplete)
            left = self._rec.differs(view)
            if not (incomplete or needs_mass_status(left, forced=forced)):
                return RepairDone(looked_up, fills)
            self._beat()
            applied = await self._node.mass_status()
            log.info(
                "reconcile.mass_status", applied=applied, reasons=list(reasons), left=_fields(left)
            )
        return RepairDone(looked_up, fills, mass_status=True)

    async def _look_up(self, lookups: tuple[Lookup, ...]) -> tuple[list[OrderFate], int]:
        """Each order's fate at the venue, for those with something to replay."""
        fates: list[OrderFate] = []
        answered = 0
        for item in lookups:
            self._beat()
            try:
                fate = await self._reader.order_fate(item.client_id, algo=item.algo)
            except VenueReadError as exc:
                log.warning("reconcile.lookup_failed", order_id=item.client_id, error=str(exc))
                continue
            answered += 1
            if fate is None:
                log.warning("reconcile.lookup_unknown", order_id=item.client_id)
            elif not fate.is_open or fate.traded > 0:
                fates.append(fate)
        return fates, answered


def _lag_s(first_ms: int | None) -> float | None:
    """Seconds from the oldest replayed fill (venue time) to now: how late it was heard."""
    return None if first_ms is None else round(time.time() - first_ms / 1000, 3)


def _fields(findings: tuple[Finding, ...]) -> list[dict[str, str]]:
    return [f.as_fields() for f in findings[:10]]
