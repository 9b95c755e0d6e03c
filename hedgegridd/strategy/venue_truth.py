"""Venue truth, the pure part: the strategy's book and the venue's answer compared, and
the repair decided, as plain values (no Nautilus, no I/O; used by ``reconciler``).

``compare`` lists the differences (``Finding``); ``plan_lookups`` names the orders of
ours whose fills may have been lost (looked up one by one at the venue and replayed);
``needs_mass_status`` says what lookups cannot explain; ``exit_caps`` the legs the venue
holds smaller than the book while a difference is unrepaired.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal

from hedgegridd.core.order_ids import OrderKind, decode
from hedgegridd.core.types import ZERO, Side


class FindingKind(enum.StrEnum):
    """What differs between the strategy's book and the venue."""

    POSITION = "position"  # confirmed leg != venue leg (a missed fill)
    MISSING_AT_VENUE = "missing_at_venue"  # our order open here, not at the venue
    UNTRACKED = "untracked"  # our order open at the venue, not in our book
    QUANTITY = "quantity"  # our order's remaining quantity differs
    UNCOVERED = "uncovered"  # the venue's TP or SL quantity of a side != its leg


@dataclass(frozen=True, slots=True)
class VenueOrder:
    """One open order as the venue lists it (regular or conditional)."""

    client_id: str
    position_side: str  # "LONG" | "SHORT" | "BOTH"
    side: str  # "BUY" | "SELL"
    remaining: Decimal  # original quantity minus executed
    algo: bool = False  # a conditional (stop) order from openAlgoOrders


@dataclass(frozen=True, slots=True)
class VenueView:
    """What the venue says now: hedge mode, each leg's size, the open orders."""

    dual_side: bool
    legs: Mapping[Side, Decimal]  # absolute size of each hedge leg
    orders: tuple[VenueOrder, ...] = ()


@dataclass(frozen=True, slots=True)
class LocalOrder:
    """One open order of the strategy's book, as the node's cache has it."""

    side: Side
    kind: str  # entry | tp | sl | flatten
    remaining: Decimal
    settled: bool  # no event for SETTLE_NS and nothing in flight (submit, cancel, modify)
    # The venue has it or had time to: a venue order id, or submitted SETTLE_NS ago (its
    # acceptance may have been lost with the stream). Only such orders are looked up.
    placed: bool = True
    algo: bool = False  # a conditional order (Binance's algo order API)


@dataclass(frozen=True, slots=True)
class LocalView:
    """The strategy's side of the comparison."""

    legs: Mapping[Side, Decimal]
    orders: Mapping[str, LocalOrder]  # by client order id
    young: frozenset[str] = frozenset()  # ids with cache activity within SETTLE_NS
    flattening: frozenset[Side] = frozenset()


@dataclass(frozen=True, slots=True)
class Finding:
    """One difference; ``local``/``venue`` are the two readings as text."""

    kind: FindingKind
    side: Side | None
    local: str
    venue: str
    order_id: str | None = None

    def as_fields(self) -> dict[str, str]:
        """Flat fields for logs and alerts."""
        out = {"kind": self.kind.value, "local": self.local, "venue": self.venue}
        if self.side is not None:
            out["side"] = self.side.value
        if self.order_id is not None:
            out["order_id"] = self.order_id
        return out


def _exit_qty(venue: VenueView, side: Side, kind: OrderKind) -> Decimal:
    total = ZERO
    for o in venue.orders:
        info = decode(o.client_id)
        if info is not None and info.kind is kind and o.position_side == side.value:
            total += o.remaining
    return total


def compare(
    local: LocalView, venue: VenueView, *, tolerance: Decimal = ZERO
) -> tuple[Finding, ...]:
    """Every difference between ``local`` and ``venue`` (pure; empty when they agree).

    ``tolerance``: a side's exit shortfall below it (a remainder no exit can carry,
    under the minimum quantity) is not reported as uncovered.
    """
    found: list[Finding] = []
    for side in (Side.LONG, Side.SHORT):
        here, there = local.legs.get(side, ZERO), venue.legs.get(side, ZERO)
        if here != there:
            found.append(Finding(FindingKind.POSITION, side, str(here), str(there)))
    at_venue = {o.client_id: o for o in venue.orders}
    for oid, order in local.orders.items():
        if not order.settled:
            continue
        seen = at_venue.get(oid)
        if seen is None:
            found.append(
                Finding(FindingKind.MISSING_AT_VENUE, order.side, "open", "absent", order_id=oid)
            )
        elif seen.remaining != order.remaining:
            found.append(
                Finding(
                    FindingKind.QUANTITY,
                    order.side,
                    str(order.remaining),
                    str(seen.remaining),
                    order_id=oid,
                )
            )
    for oid, seen in at_venue.items():
        info = decode(oid)
        if info is None or oid in local.orders or oid in local.young:
            continue
        found.append(
            Finding(FindingKind.UNTRACKED, info.side, "absent", str(seen.remaining), order_id=oid)
        )
    for side in (Side.LONG, Side.SHORT):
        if side in local.flattening:
            continue
        leg = venue.legs.get(side, ZERO)
        for kind in (OrderKind.TP, OrderKind.SL):
            qty = _exit_qty(venue, side, kind)
            if qty > leg or leg - qty > tolerance or (leg == 0 and qty > 0):
                found.append(
                    Finding(FindingKind.UNCOVERED, side, f"{kind.value}={qty}", f"leg={leg}")
                )
    return tuple(found)


@dataclass(frozen=True, slots=True)
class Lookup:
    """One of our orders whose final state and fills are to be read from the venue."""

    client_id: str
    side: Side
    algo: bool


def plan_lookups(local: LocalView, venue: VenueView, *, limit: int = 20) -> tuple[Lookup, ...]:
    """Orders of ours whose fills may have been lost: open in the book, placed at the
    venue, and either no longer listed open there or listed with less left (pure).

    Settled or not: an order whose cancel keeps failing, or whose fill event is late, is
    looked up too (a fill applied from the lookup carries the venue's trade id, so the
    late event is then a duplicate). At most ``limit`` (request weight), entries last.
    """
    at_venue = {o.client_id: o for o in venue.orders}
    found = [
        Lookup(oid, o.side, o.algo)
        for oid, o in local.orders.items()
        if o.placed and (oid not in at_venue or at_venue[oid].remaining < o.remaining)
    ]
    found.sort(key=lambda lk: local.orders[lk.client_id].kind == OrderKind.ENTRY.value)
    return tuple(found[:limit])


def needs_mass_status(findings: Iterable[Finding], *, forced: bool = False) -> bool:
    """Whether what is left after the lookups needs Nautilus' full mass status (pure):
    a leg still different, an order of ours open only at the venue, or a requested one."""
    wanted = (FindingKind.POSITION, FindingKind.UNTRACKED)
    return forced or any(f.kind in wanted for f in findings)


def exit_caps(findings: Iterable[Finding]) -> dict[Side, Decimal]:
    """Legs the venue holds smaller than the book, from unrepaired findings (pure)."""
    caps: dict[Side, Decimal] = {}
    for f in findings:
        if f.kind is FindingKind.POSITION and f.side is not None:
            here, there = Decimal(f.local), Decimal(f.venue)
            if there < here:
                caps[f.side] = there
    return caps
