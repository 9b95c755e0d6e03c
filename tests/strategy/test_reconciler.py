"""The reconciler's decisions: what differs between the book and the venue, and escalation."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from hedgegridd.core.order_ids import OrderKind, encode
from hedgegridd.core.types import Position, Side
from hedgegridd.strategy.reconciler import (
    SETTLE_NS,
    VENUE_MISMATCH,
    Finding,
    FindingKind,
    LocalOrder,
    LocalView,
    Lookup,
    Reconciler,
    VenueOrder,
    VenueView,
    Verdict,
    compare,
    exit_caps,
    needs_mass_status,
    plan_lookups,
)

D = Decimal
LONG, SHORT = Side.LONG, Side.SHORT


def oid(kind: OrderKind, side: Side, level: int | None = None, seq: int = 1) -> str:
    return encode(kind, side, level, 1_700_000_000_000, seq)


TP_L = oid(OrderKind.TP, LONG, seq=1)
SL_L = oid(OrderKind.SL, LONG, seq=2)
ENTRY_L = oid(OrderKind.ENTRY, LONG, 1, seq=3)


def venue(long: str = "0", short: str = "0", *orders: VenueOrder) -> VenueView:
    return VenueView(dual_side=True, legs={LONG: D(long), SHORT: D(short)}, orders=orders)


def covered_long(qty: str) -> tuple[VenueOrder, VenueOrder]:
    return (
        VenueOrder(TP_L, "LONG", "SELL", D(qty)),
        VenueOrder(SL_L, "LONG", "SELL", D(qty), algo=True),
    )


def local(
    long: str = "0", short: str = "0", orders: dict[str, LocalOrder] | None = None, **kw: Any
) -> LocalView:
    return LocalView(legs={LONG: D(long), SHORT: D(short)}, orders=orders or {}, **kw)


def exits_local(qty: str, settled: bool = True) -> dict[str, LocalOrder]:
    return {
        TP_L: LocalOrder(LONG, "tp", D(qty), settled),
        SL_L: LocalOrder(LONG, "sl", D(qty), settled),
    }


def kinds(findings: tuple[Any, ...]) -> list[FindingKind]:
    return [f.kind for f in findings]


def test_agreeing_book_has_no_findings() -> None:
    """Same legs, same orders, exits == leg: nothing to repair."""
    assert (
        compare(
            local("0.003", orders=exits_local("0.003")), venue("0.003", "0", *covered_long("0.003"))
        )
        == ()
    )


def test_missed_fill_is_a_position_and_coverage_finding() -> None:
    """The venue's LONG grew (a lost fill) and its exits do not cover it."""
    found = compare(local("0", orders={}), venue("0.003"))
    assert found[0].kind is FindingKind.POSITION
    assert (found[0].side, found[0].local, found[0].venue) == (LONG, "0", "0.003")
    assert kinds(found).count(FindingKind.UNCOVERED) == 2


def test_order_gone_at_the_venue_is_missing_only_once_settled() -> None:
    """A settled local order absent at the venue is reported; one in flight is not."""
    entry = {ENTRY_L: LocalOrder(LONG, "entry", D("0.001"), settled=True)}
    assert kinds(compare(local(orders=entry), venue())) == [FindingKind.MISSING_AT_VENUE]
    young = {ENTRY_L: LocalOrder(LONG, "entry", D("0.001"), settled=False)}
    assert compare(local(orders=young), venue()) == ()


def test_partial_fill_not_heard_is_a_quantity_finding() -> None:
    """Same order on both sides, different remaining quantity."""
    entry = {ENTRY_L: LocalOrder(LONG, "entry", D("0.002"), settled=True)}
    found = compare(
        local(orders=entry), venue("0", "0", VenueOrder(ENTRY_L, "LONG", "BUY", D("0.001")))
    )
    assert kinds(found) == [FindingKind.QUANTITY]
    assert (found[0].local, found[0].venue, found[0].order_id) == ("0.002", "0.001", ENTRY_L)


def test_our_order_only_at_the_venue_is_untracked_unless_young_or_foreign() -> None:
    """Ours at the venue, not in the book: untracked; unless just closed here or not ours."""
    seen = VenueOrder(ENTRY_L, "LONG", "BUY", D("0.001"))
    assert kinds(compare(local(), venue("0", "0", seen))) == [FindingKind.UNTRACKED]
    assert compare(local(young=frozenset({ENTRY_L})), venue("0", "0", seen)) == ()
    foreign = VenueOrder("web_abc123", "LONG", "BUY", D("0.001"))
    assert compare(local(), venue("0", "0", foreign)) == ()


def test_exit_shortfall_below_tolerance_and_closing_sides_are_not_uncovered() -> None:
    """A remainder no exit can carry, or a side being closed at market, is not a finding."""
    legs = local("0.0035", orders=exits_local("0.003"))
    view = venue("0.0035", "0", *covered_long("0.003"))
    assert compare(legs, view, tolerance=D("0.001")) == ()
    assert kinds(compare(legs, view)) == [FindingKind.UNCOVERED, FindingKind.UNCOVERED]
    closing = local("0.0035", orders=exits_local("0.003"), flattening=frozenset({LONG}))
    assert compare(closing, view) == ()


def test_exits_left_on_a_flat_leg_are_uncovered() -> None:
    """A TP/SL resting while the venue's leg is flat would open a position: reported."""
    found = compare(
        local("0", orders=exits_local("0.003")), venue("0", "0", *covered_long("0.003"))
    )
    assert kinds(found) == [FindingKind.UNCOVERED, FindingKind.UNCOVERED]


@given(
    long=st.integers(0, 50).map(lambda n: D(n) / 1000),
    short=st.integers(0, 50).map(lambda n: D(n) / 1000),
)
def test_a_venue_built_from_the_book_never_differs(long: Decimal, short: Decimal) -> None:
    """Whatever the legs: a venue that mirrors a covered book yields no finding."""
    orders: dict[str, LocalOrder] = {}
    at_venue: list[VenueOrder] = []
    for n, (side, qty) in enumerate(((LONG, long), (SHORT, short))):
        if qty == 0:
            continue
        closing = "SELL" if side is LONG else "BUY"
        for i, kind in enumerate((OrderKind.TP, OrderKind.SL)):
            key = oid(kind, side, seq=10 * n + i)
            orders[key] = LocalOrder(side, kind.value, qty, settled=True)
            at_venue.append(VenueOrder(key, side.value, closing, qty, algo=kind is OrderKind.SL))
    view = VenueView(dual_side=True, legs={LONG: long, SHORT: short}, orders=tuple(at_venue))
    assert compare(LocalView(legs={LONG: long, SHORT: short}, orders=orders), view) == ()


def test_lookups_name_every_acknowledged_order_the_venue_no_longer_lists() -> None:
    """A stop that triggered (cancel in flight or not), an exit gone: looked up; in flight
    at submit or still listed with the same quantity: not; entries last."""
    orders = {
        ENTRY_L: LocalOrder(LONG, "entry", D("0.001"), settled=True),
        SL_L: LocalOrder(LONG, "sl", D("0.003"), settled=False, algo=True),
        TP_L: LocalOrder(LONG, "tp", D("0.003"), settled=True),
        "HG-SUBMITTED": LocalOrder(LONG, "tp", D("0.003"), settled=False, placed=False),
    }
    view = venue("0", "0", VenueOrder(TP_L, "LONG", "SELL", D("0.003")))
    assert plan_lookups(local("0.003", orders=orders), view) == (
        Lookup(SL_L, LONG, algo=True),
        Lookup(ENTRY_L, LONG, algo=False),
    )
    partly = venue("0", "0", VenueOrder(TP_L, "LONG", "SELL", D("0.001")))
    assert Lookup(TP_L, LONG, algo=False) in plan_lookups(local(orders=orders), partly)
    assert len(plan_lookups(local(orders=orders), venue(), limit=1)) == 1


def test_mass_status_only_for_what_lookups_cannot_explain() -> None:
    """After the lookups: a leg still different or an order open only at the venue."""
    gone = Finding(FindingKind.MISSING_AT_VENUE, LONG, "open", "absent", order_id=SL_L)
    uncovered = Finding(FindingKind.UNCOVERED, LONG, "tp=0", "leg=0.003")
    assert not needs_mass_status((gone, uncovered))
    assert needs_mass_status((gone,), forced=True)
    assert needs_mass_status(compare(local("0.003"), venue("0")))
    untracked = VenueOrder(TP_L, "LONG", "SELL", D("0.003"))
    assert needs_mass_status(compare(local(), venue("0", "0", untracked)))


def test_exit_caps_come_from_legs_the_venue_holds_smaller() -> None:
    """Venue leg below the book's: capped at it; above it: not capped (a lost entry)."""
    found = compare(local("0.006", "0.001"), venue("0", "0.004"))
    assert exit_caps(found) == {LONG: D("0")}


# -- the Reconciler on a fake strategy ----------------------------------------------------


@dataclass
class FakeOrder:
    """Just what the reconciler reads of a Nautilus order."""

    key: str
    qty: Decimal
    ts_last: int = 0
    is_closed: bool = False
    is_inflight: bool = False
    venue_order_id: str | None = "1"
    has_trigger_price: bool = False

    @property
    def client_order_id(self) -> Any:
        return type("Cid", (), {"value": self.key})()

    @property
    def leaves_qty(self) -> Any:
        return type("Q", (), {"as_decimal": lambda _s: self.qty})()


@dataclass
class FakeBook:
    open_ids: dict[str, Any] = field(default_factory=dict)
    cancelling: set[str] = field(default_factory=set)
    tracked: list[str] = field(default_factory=list)

    def track(self, order: FakeOrder, meta: Any) -> None:
        self.open_ids[order.key] = meta
        self.tracked.append(order.key)


class FakeCache:
    def __init__(self) -> None:
        self.orders: dict[str, FakeOrder] = {}

    def order(self, cid: Any) -> FakeOrder | None:
        return self.orders.get(cid.value)

    def orders_open(self, instrument_id: Any = None) -> list[FakeOrder]:
        return [o for o in self.orders.values() if not o.is_closed]


class FakeClock:
    def __init__(self) -> None:
        self.ns = 10_000_000_000

    def timestamp_ns(self) -> int:
        return self.ns


class FakeStrategy:
    """The reconciler's host: legs, book, cache, pause/resume and re-plan calls recorded."""

    def __init__(self) -> None:
        self.book = FakeBook()
        self.cache = FakeCache()
        self.clock = FakeClock()
        self.rules = None
        self.instrument_id = "BTCUSDT-PERP.BINANCE"
        self.id = "HedgeGridStrategy-000"
        self.legs = {LONG: D(0), SHORT: D(0)}
        self.calls: list[tuple[str, str]] = []

    def confirmed_positions(self) -> tuple[Position, Position]:
        return Position(LONG, self.legs[LONG], D(60000) if self.legs[LONG] else None), Position(
            SHORT, self.legs[SHORT], D(60000) if self.legs[SHORT] else None
        )

    def pause(self, reason: str) -> None:
        self.calls.append(("pause", reason))

    def resume(self, reason: str | None = None) -> None:
        self.calls.append(("resume", str(reason)))

    def _sync(self, source: str, *, entries: bool = True) -> None:
        self.calls.append(("sync", f"{source}:{entries}"))

    def _enter_degraded(self, where: str, exc: BaseException) -> None:
        self.calls.append(("degraded", where))


def test_check_reads_book_and_cache_and_ignores_orders_in_flight() -> None:
    """Settled book orders are compared; an order with a cancel in flight is not judged."""
    host = FakeStrategy()
    rec = Reconciler(host)
    host.book.open_ids[ENTRY_L] = type("M", (), {"side": LONG, "kind": "entry"})()
    host.cache.orders[ENTRY_L] = FakeOrder(ENTRY_L, D("0.001"))
    assert kinds(rec.check(venue())) == [FindingKind.MISSING_AT_VENUE]
    host.book.cancelling.add(ENTRY_L)
    assert rec.check(venue()) == ()
    assert rec.stats.checks == 2
    assert rec.stats.findings == 1


def test_adopt_untracked_tracks_our_open_orders_the_book_lost() -> None:
    """An open order of ours in the cache but not in the book is tracked again; foreign is not."""
    host = FakeStrategy()
    rec = Reconciler(host)
    host.cache.orders[TP_L] = FakeOrder(TP_L, D("0.001"))
    host.cache.orders["web_xyz"] = FakeOrder("web_xyz", D("0.001"))
    assert rec.adopt_untracked() == 1
    assert host.book.tracked == [TP_L]
    assert host.book.open_ids[TP_L].kind == "tp"


def test_replan_plans_exits_only() -> None:
    """A repair re-plans exits from the confirmed position, never entries."""
    host = FakeStrategy()
    Reconciler(host).replan()
    assert host.calls == [("sync", "reconcile:False")]


def test_escalation_pauses_after_failed_repairs_and_a_clean_round_resumes() -> None:
    """Repaired -> no pause; N failed repairs -> venue_mismatch pause once; clean -> resumed."""
    host = FakeStrategy()
    rec = Reconciler(host, alert_after=2)
    found = compare(local("0"), venue("0.003"))
    assert rec.conclude((), ()) is Verdict.CLEAN
    assert rec.conclude(found, ()) is Verdict.REPAIRED
    assert rec.conclude(found, found) is Verdict.PENDING
    assert host.calls == []
    assert rec.conclude(found, found) is Verdict.ESCALATED
    assert rec.conclude(found, found) is Verdict.PENDING  # paused once, not again
    assert host.calls == [("pause", VENUE_MISMATCH)]
    assert rec.conclude((), ()) is Verdict.RESOLVED
    assert host.calls[-1] == ("resume", VENUE_MISMATCH)
    assert rec.stats.escalations == 1
    assert rec.stats.repairs == 1


def test_local_view_marks_placed_and_conditional_orders() -> None:
    """No venue id: placed only once submitted SETTLE_NS ago (its acceptance may be lost);
    a stop is conditional (algo)."""
    host = FakeStrategy()
    for key, kind in ((TP_L, "tp"), (SL_L, "sl")):
        host.book.open_ids[key] = type("M", (), {"side": LONG, "kind": kind})()
    now = host.clock.ns
    host.cache.orders[TP_L] = FakeOrder(TP_L, D("0.003"), ts_last=now, venue_order_id=None)
    host.cache.orders[SL_L] = FakeOrder(SL_L, D("0.003"), ts_last=now, has_trigger_price=True)
    view = Reconciler(host).local_view()
    assert (view.orders[TP_L].placed, view.orders[TP_L].algo) == (False, False)
    assert (view.orders[SL_L].placed, view.orders[SL_L].algo) == (True, True)
    host.clock.ns += SETTLE_NS
    assert Reconciler(host).local_view().orders[TP_L].placed


def test_escalation_caps_exits_at_the_venue_leg_and_resolution_lifts_the_cap() -> None:
    """Unrepaired: exits planned for the venue's smaller leg (re-planned); clean: uncapped."""
    host = FakeStrategy()
    rec = Reconciler(host, alert_after=1)
    found = compare(local("0.006"), venue("0"))
    held = Position(LONG, D("0.006"), D(60000))
    assert rec.effective(held) == held
    assert rec.conclude(found, found) is Verdict.ESCALATED
    assert rec.effective(held) == Position(LONG, D("0"), None)
    assert ("sync", "reconcile_caps:False") in host.calls
    assert rec.conclude((), ()) is Verdict.RESOLVED
    assert rec.effective(held) == held
