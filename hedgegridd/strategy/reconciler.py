"""Venue truth for ``HedgeGridStrategy``: its book compared with what the venue reports.

Who checks what (see also ``hedgegridd.venues.nodes``):

- Nautilus' ``LiveExecutionEngine`` keeps the *cache* honest order by order (startup
  reconciliation, in-flight queries, the open-order status check, a mass status after
  every user-stream resubscribe). It cannot see a fill whose event was lost on an order
  the venue no longer lists as open, and its position check does not work in hedge mode.
- This ``Reconciler`` (one per strategy, created by it, owning its own state) compares
  the strategy's confirmed legs and its open orders with the venue's ``positionRisk``
  legs and ``openOrders`` / ``openAlgoOrders`` (a ``VenueView`` the supervisor's venue
  watch fetched), reports the differences (``Finding``), decides the repair
  (``plan_lookups``: every order of ours the venue no longer lists open, or lists with
  less left, is looked up one by one and its fills applied; ``needs_mass_status``: what
  lookups cannot explain goes to a Nautilus mass status), repairs what is local (adopts
  an order of ours the venue shows open but the book lost, re-plans exits from the
  repaired position) and keeps the escalation state: a difference that survives
  ``alert_after`` repairs pauses entries with ``venue_mismatch`` until a clean check
  clears it; meanwhile a leg the venue holds smaller than the book caps the exits
  planned for it (``effective``), so exits the venue would refuse (-2022) are not
  re-sent on every retry.

The decisions (``compare``, ``plan_lookups``, ``needs_mass_status``, ``exit_caps``)
are pure, in ``hedgegridd.strategy.venue_truth`` (re-exported here), so they are
unit-tested without a node. Everything here runs on the node's event loop.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol

import structlog
from nautilus_trader.model.identifiers import ClientOrderId

from hedgegridd.core.types import ZERO, Position, Side
from hedgegridd.strategy.orders import meta_from_client_id
from hedgegridd.strategy.venue_truth import (
    Finding,
    FindingKind,
    LocalOrder,
    LocalView,
    Lookup,
    VenueOrder,
    VenueView,
    compare,
    exit_caps,
    needs_mass_status,
    plan_lookups,
)

__all__ = [
    "SETTLE_NS",
    "VENUE_MISMATCH",
    "Finding",
    "FindingKind",
    "LocalOrder",
    "LocalView",
    "Lookup",
    "ReconcileStats",
    "Reconciler",
    "VenueOrder",
    "VenueView",
    "Verdict",
    "compare",
    "exit_caps",
    "needs_mass_status",
    "plan_lookups",
]

log = structlog.get_logger(__name__)

VENUE_MISMATCH = "venue_mismatch"  # pause reason while a difference survives repairs
SETTLE_NS = 2_000_000_000  # an order touched this recently is not judged yet


class Verdict(enum.StrEnum):
    """What one reconciliation round concluded."""

    CLEAN = "clean"  # book and venue agree
    REPAIRED = "repaired"  # they differed and a repair made them agree
    PENDING = "pending"  # still different; the next round repairs again
    ESCALATED = "escalated"  # still different after ``alert_after`` repairs: entries paused
    RESOLVED = "resolved"  # agree again after an escalation: the pause is lifted


@dataclass(slots=True)
class ReconcileStats:
    """Counters for metrics and status."""

    checks: int = 0
    findings: int = 0
    repairs: int = 0
    escalations: int = 0
    last_findings: tuple[Finding, ...] = ()
    by_kind: dict[str, int] = field(default_factory=dict)


class _Host(Protocol):
    """What the reconciler reads and calls on ``HedgeGridStrategy``."""

    book: Any
    cache: Any
    clock: Any
    rules: Any
    instrument_id: Any
    id: Any

    def confirmed_positions(self) -> tuple[Position, Position]: ...

    def pause(self, reason: str) -> None: ...

    def resume(self, reason: str | None = None) -> None: ...

    def _sync(self, source: str, *, entries: bool = True) -> None: ...

    def _enter_degraded(self, where: str, exc: BaseException) -> None: ...


class Reconciler:
    """The strategy's venue-truth collaborator: compare, repair locally, escalate."""

    def __init__(self, host: _Host, *, alert_after: int = 2, settle_ns: int = SETTLE_NS) -> None:
        self._host = host
        self.alert_after = alert_after
        self._settle_ns = settle_ns
        self.failed_repairs = 0
        self.escalated = False
        self.caps: dict[Side, Decimal] = {}  # while escalated: the venue's smaller legs
        self.holding = False  # lost events are being replayed: the strategy decides after
        self.stats = ReconcileStats()

    # -- reading ---------------------------------------------------------------------
    def local_view(self, venue_ids: Iterable[str] = ()) -> LocalView:
        """The strategy's legs and open orders now (from its book and the node's cache).

        ``venue_ids``: orders the venue lists; those the book does not hold are looked up
        in the cache to tell a just-closed order (young) from one the book lost.
        """
        host = self._host
        now = host.clock.timestamp_ns()
        long, short = host.confirmed_positions()
        orders: dict[str, LocalOrder] = {}
        cancelling = host.book.cancelling
        for key, meta in host.book.open_ids.items():
            order = host.cache.order(ClientOrderId(key))
            if order is None or order.is_closed:
                continue
            settled = (
                not order.is_inflight
                and key not in cancelling
                and now - order.ts_last >= self._settle_ns
            )
            orders[key] = LocalOrder(
                meta.side,
                meta.kind,
                order.leaves_qty.as_decimal(),
                settled=settled,
                placed=order.venue_order_id is not None or now - order.ts_last >= self._settle_ns,
                algo=bool(order.has_trigger_price),
            )
        young: set[str] = set()
        for key in venue_ids:
            if key in orders:
                continue
            order = host.cache.order(ClientOrderId(key))
            if order is not None and (order.is_inflight or now - order.ts_last < self._settle_ns):
                young.add(key)
        return LocalView(
            legs={Side.LONG: long.qty, Side.SHORT: short.qty},
            orders=orders,
            young=frozenset(young),
            flattening=self._closing_sides(),
        )

    def _closing_sides(self) -> frozenset[Side]:
        """Sides being closed at market (their exits cover only the kept part)."""
        closer = getattr(self._host, "closer", None)
        if closer is None:
            return frozenset()
        return frozenset(s for s in (Side.LONG, Side.SHORT) if closer.is_closing(s))

    def differs(self, venue: VenueView) -> tuple[Finding, ...]:
        """Compare the book with ``venue`` now, without counting it (after a repair step)."""
        rules = self._host.rules
        tolerance = rules.min_qty if rules is not None else ZERO
        return compare(
            self.local_view(o.client_id for o in venue.orders), venue, tolerance=tolerance
        )

    def lookups(self, venue: VenueView) -> tuple[Lookup, ...]:
        """The orders to look up at the venue (``plan_lookups`` on the book now)."""
        return plan_lookups(self.local_view(o.client_id for o in venue.orders), venue)

    @contextmanager
    def hold(self) -> Iterator[None]:
        """While lost events are replayed, the strategy makes no decision (``_sync`` is a
        no-op): it would act on states already past (exits for a fill followed by a stop
        that triggered). Exits are re-planned from the final state after (``replan``)."""
        self.holding = True
        try:
            yield
        finally:
            self.holding = False

    def effective(self, position: Position) -> Position:
        """``position`` as the exit planner should see it: capped at the venue's leg while
        an unrepaired difference says the venue holds less (its exits would be refused)."""
        cap = self.caps.get(position.side)
        if cap is None or position.qty <= cap:
            return position
        return Position(position.side, cap, position.avg_price if cap > 0 else None)

    def check(self, venue: VenueView) -> tuple[Finding, ...]:
        """Compare the book with ``venue`` now; counted in the stats."""
        rules = self._host.rules
        tolerance = rules.min_qty if rules is not None else ZERO
        local = self.local_view(o.client_id for o in venue.orders)
        findings = compare(local, venue, tolerance=tolerance)
        self.stats.checks += 1
        self.stats.last_findings = findings
        for f in findings:
            self.stats.by_kind[f.kind.value] = self.stats.by_kind.get(f.kind.value, 0) + 1
        if findings:
            self.stats.findings += 1
        return findings

    # -- local repairs -----------------------------------------------------------------
    def adopt_untracked(self) -> int:
        """Track again every open order of ours the cache has but the book lost."""
        host = self._host
        adopted = 0
        for order in host.cache.orders_open(instrument_id=host.instrument_id):
            key = order.client_order_id.value
            if key in host.book.open_ids:
                continue
            meta = meta_from_client_id(order.client_order_id)
            if meta is None:
                continue
            host.book.track(order, meta)
            adopted += 1
        if adopted:
            log.warning("reconcile.adopted", orders=adopted)
        return adopted

    def replan(self, source: str = "reconcile") -> None:
        """Re-plan exits (never entries) from the confirmed position, now."""
        try:
            self._host._sync(source, entries=False)
        except Exception as exc:  # noqa: BLE001 - the same boundary as a handler
            self._host._enter_degraded(source, exc)

    # -- escalation -------------------------------------------------------------------
    def conclude(self, before: tuple[Finding, ...], after: tuple[Finding, ...]) -> Verdict:
        """Record one round: ``before`` the repair (empty: clean), ``after`` it.

        A difference still there after ``alert_after`` consecutive repairs pauses
        entries (``venue_mismatch``); the first clean round afterwards lifts the pause.
        """
        if not before or not after:
            if before:
                self.stats.repairs += 1
            self.failed_repairs = 0
            if self.escalated:
                self.escalated = False
                self._set_caps({})
                self._host.resume(VENUE_MISMATCH)
                log.info("reconcile.resolved")
                return Verdict.RESOLVED
            return Verdict.REPAIRED if before else Verdict.CLEAN
        self.failed_repairs += 1
        if self.escalated:
            self._set_caps(exit_caps(after))
        if self.failed_repairs >= self.alert_after and not self.escalated:
            self.escalated = True
            self.stats.escalations += 1
            self._host.pause(VENUE_MISMATCH)
            self._set_caps(exit_caps(after))
            log.error(
                "reconcile.escalated",
                repairs=self.failed_repairs,
                findings=[f.as_fields() for f in after],
            )
            return Verdict.ESCALATED
        return Verdict.PENDING

    def _set_caps(self, caps: dict[Side, Decimal]) -> None:
        """New exit caps; exits are re-planned at once when they change."""
        if caps == self.caps:
            return
        self.caps = caps
        log.warning("reconcile.exit_caps", caps={s.value: str(q) for s, q in caps.items()})
        self.replan("reconcile_caps")
