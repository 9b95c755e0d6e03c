"""Order diff: minimal cancels/placements by (side, level) key, tolerances, bounded history."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hedgegridd.core import DiffSpec, LiveEntry, Rung, Side, diff_entries
from hedgegridd.core.diff import EntryDiff, EntryDiffer

D = Decimal
EXACT = DiffSpec()


def _rung(side: Side, level: int, price: str, qty: str = "0.01") -> Rung:
    return Rung(side, level, D(price), D(qty))


def _live(oid: str, side: Side, level: int, price: str, qty: str = "0.01") -> LiveEntry:
    return LiveEntry(oid, side, level, D(price), D(qty))


def test_identical_orders_are_kept() -> None:
    """Live orders equal to the desired rungs produce no operations."""
    desired = [_rung(Side.LONG, 1, "100"), _rung(Side.SHORT, 1, "102")]
    live = [_live("a", Side.LONG, 1, "100"), _live("b", Side.SHORT, 1, "102")]
    result = diff_entries(desired, live, EXACT)
    assert result.is_empty
    assert result.kept == 2


def test_moved_rung_is_replaced_and_stale_key_cancelled() -> None:
    """A rung whose price changed is cancelled and re-placed; a vanished level is cancelled."""
    desired = [_rung(Side.LONG, 1, "99")]
    live = [_live("a", Side.LONG, 1, "100"), _live("b", Side.LONG, 2, "98")]
    result = diff_entries(desired, live, EXACT)
    assert [c.order_id for c in result.cancels] == ["a", "b"]
    assert [p.rung for p in result.places] == desired
    assert result.places[0].key == ("LONG", 1)


def test_tolerance_keeps_close_orders() -> None:
    """Orders within price (bps) and qty (%) tolerance are kept; beyond it, replaced."""
    spec = DiffSpec(price_tolerance_bps=D(10), qty_tolerance_pct=D(5))
    desired = [_rung(Side.LONG, 1, "100", "1")]
    assert diff_entries(desired, [_live("a", Side.LONG, 1, "100.1", "1.05")], spec).is_empty
    assert not diff_entries(desired, [_live("a", Side.LONG, 1, "100.11", "1")], spec).is_empty
    assert not diff_entries(desired, [_live("a", Side.LONG, 1, "100", "1.06")], spec).is_empty


def test_duplicates_at_one_key_keep_one() -> None:
    """Two live orders at one key (e.g. after a restart) keep one and cancel the other."""
    desired = [_rung(Side.SHORT, 2, "105")]
    live = [_live("a", Side.SHORT, 2, "105"), _live("b", Side.SHORT, 2, "105")]
    result = diff_entries(desired, live, EXACT)
    assert [c.order_id for c in result.cancels] == ["b"]
    assert result.places == ()


def test_pending_cancel_orders_are_ignored() -> None:
    """Orders with a cancel in flight are neither matched nor cancelled again."""
    pending = LiveEntry("a", Side.LONG, 1, D("100"), D("0.01"), pending_cancel=True)
    result = diff_entries([_rung(Side.LONG, 1, "100")], [pending], EXACT)
    assert result.cancels == ()
    assert len(result.places) == 1


def test_differ_caches_and_bounds_history() -> None:
    """EntryDiffer returns the cached result for equal inputs and keeps a bounded history."""
    differ = EntryDiffer(EXACT, history=3)
    desired = (_rung(Side.LONG, 1, "100"),)
    first = differ.diff(desired, (), 1)
    assert differ.diff(desired, (), 2) is first
    for i in range(10):
        differ.diff((_rung(Side.LONG, 1, str(90 + i)),), (), 10 + i)
    assert len(differ.history) == 3
    assert differ.history[-1].at_ns == 19


def _apply(live: list[LiveEntry], result: EntryDiff) -> list[LiveEntry]:
    cancelled = {c.order_id for c in result.cancels}
    out = [o for o in live if o.order_id not in cancelled]
    for i, p in enumerate(result.places):
        r = p.rung
        out.append(LiveEntry(f"new{i}", r.side, r.level, r.price, r.qty))
    return out


sides = st.sampled_from([Side.LONG, Side.SHORT])
levels = st.integers(min_value=1, max_value=8)
px = st.integers(min_value=90, max_value=110).map(D)
qty = st.sampled_from([D("0.01"), D("0.02"), D("0.03")])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.tuples(sides, levels, px, qty), max_size=16),
    st.lists(st.tuples(sides, levels, px, qty, st.booleans()), max_size=16),
    st.sampled_from([EXACT, DiffSpec(price_tolerance_bps=D(100), qty_tolerance_pct=D(50))]),
)
def test_diff_apply_diff_is_empty(
    desired_raw: list[tuple[Side, int, Decimal, Decimal]],
    live_raw: list[tuple[Side, int, Decimal, Decimal, bool]],
    spec: DiffSpec,
) -> None:
    """Diff, apply, diff again: no operations; every desired key ends with exactly one order."""
    desired = list({(s, lv): Rung(s, lv, p, q) for s, lv, p, q in desired_raw}.values())
    live = [
        LiveEntry(f"o{i}", s, lv, p, q, pending_cancel=pc)
        for i, (s, lv, p, q, pc) in enumerate(live_raw)
    ]
    first = diff_entries(desired, live, spec)
    cancelled = {c.order_id for c in first.cancels}
    assert all(not o.pending_cancel for o in live if o.order_id in cancelled)
    after = _apply(live, first)
    assert diff_entries(desired, after, spec).is_empty
    active = [o for o in after if not o.pending_cancel]
    assert sorted(o.key for o in active) == sorted(r.key for r in desired)
