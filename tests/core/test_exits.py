"""Exit planner: resting TP qty and SL qty each equal the position, never more."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hedgegridd.core import (
    ExitKind,
    ExitSpec,
    InstrumentRules,
    Position,
    RestingExit,
    Side,
    plan_exits,
    protected_qty,
)
from hedgegridd.core.exits import ExitPlan, plan_side_exits

from .conftest import BTC_RULES

D = Decimal
SPEC = ExitSpec(tp_bps=D(40), sl_bps=D(400))


def _exit(oid: str, side: Side, kind: ExitKind, qty: str, pending: bool = False) -> RestingExit:
    return RestingExit(oid, side, kind, D("1"), D(qty), pending_cancel=pending)


def test_new_position_gets_tp_and_sl_for_full_qty() -> None:
    """A fresh LONG position gets one TP (sell above) and one SL (stop below) of its size."""
    plan = plan_side_exits(Position(Side.LONG, D("0.004"), D("50000")), (), SPEC, BTC_RULES)
    assert plan.cancels == ()
    assert [(p.kind, p.qty) for p in plan.places] == [
        (ExitKind.TP, D("0.004")),
        (ExitKind.SL, D("0.004")),
    ]
    assert plan.places[0].price == D("50200.0")
    assert plan.places[1].price == D("48000.0")


def test_repeat_fill_at_same_level_tops_up() -> None:
    """A second fill at one level adds exits for the new quantity only."""
    resting = (
        _exit("tp1", Side.SHORT, ExitKind.TP, "0.003"),
        _exit("sl1", Side.SHORT, ExitKind.SL, "0.003"),
    )
    plan = plan_side_exits(Position(Side.SHORT, D("0.006"), D("50000")), resting, SPEC, BTC_RULES)
    assert plan.cancels == ()
    assert {(p.kind, p.qty) for p in plan.places} == {
        (ExitKind.TP, D("0.003")),
        (ExitKind.SL, D("0.003")),
    }


def test_tp_fill_cancels_partner_sl_quantity() -> None:
    """When a TP fills and the position shrinks, the now-excess SL is cancelled (OCO)."""
    resting = (
        _exit("tp2", Side.LONG, ExitKind.TP, "0.003"),
        _exit("sl1", Side.LONG, ExitKind.SL, "0.003"),
        _exit("sl2", Side.LONG, ExitKind.SL, "0.003"),
    )
    plan = plan_side_exits(Position(Side.LONG, D("0.003"), D("50000")), resting, SPEC, BTC_RULES)
    assert [c.order_id for c in plan.cancels] == ["sl2"]
    assert plan.places == ()


def test_flat_side_cancels_all_its_exits() -> None:
    """A flat side keeps no exit (an exit could otherwise open a position)."""
    resting = (
        _exit("a", Side.LONG, ExitKind.TP, "0.003"),
        _exit("b", Side.SHORT, ExitKind.SL, "1"),
    )
    plan = plan_exits((Position(Side.LONG),), resting, SPEC, BTC_RULES)
    assert [c.order_id for c in plan.cancels] == ["a"]


def test_pending_cancel_exits_are_not_protection() -> None:
    """An exit with a cancel in flight is not counted; a replacement is placed."""
    resting = (
        _exit("tp", Side.LONG, ExitKind.TP, "0.004", pending=True),
        _exit("sl", Side.LONG, ExitKind.SL, "0.004"),
    )
    plan = plan_side_exits(Position(Side.LONG, D("0.004"), D("50000")), resting, SPEC, BTC_RULES)
    assert [(p.kind, p.qty) for p in plan.places] == [(ExitKind.TP, D("0.004"))]
    assert protected_qty(resting, Side.LONG, ExitKind.TP) == 0


def test_restart_adopts_position_without_lots() -> None:
    """After a restart with a position and no known exits, both exits cover it fully."""
    plan = plan_exits(
        (Position(Side.LONG, D("0.01"), D("100")), Position(Side.SHORT, D("0.02"), D("120"))),
        (),
        SPEC,
        BTC_RULES,
    )
    for side, qty in ((Side.LONG, D("0.01")), (Side.SHORT, D("0.02"))):
        for kind in ExitKind:
            assert sum(p.qty for p in plan.places if p.side is side and p.kind is kind) == qty


def test_sub_min_shortfall_consolidates_and_uncovered_reported() -> None:
    """A shortfall below min_qty replaces exits by one; an unplaceable rest is reported."""
    rules = InstrumentRules(D("0.1"), D("0.001"), D("0.005"), D("1000"), D("5"))
    resting = (
        _exit("tp", Side.LONG, ExitKind.TP, "0.005"),
        _exit("sl", Side.LONG, ExitKind.SL, "0.005"),
    )
    plan = plan_side_exits(Position(Side.LONG, D("0.007"), D("100")), resting, SPEC, rules)
    assert sorted(c.order_id for c in plan.cancels) == ["sl", "tp"]
    assert sorted(p.qty for p in plan.places) == [D("0.007"), D("0.007")]
    odd = plan_side_exits(Position(Side.LONG, D("0.0075"), D("100")), (), SPEC, rules)
    assert [u.qty for u in odd.uncovered] == [D("0.0005"), D("0.0005")]


def test_large_position_split_at_max_qty() -> None:
    """Exits larger than max_qty are split into chunks that sum to the position."""
    rules = InstrumentRules(D("0.1"), D("0.001"), D("0.001"), D("1"), D("5"))
    plan = plan_side_exits(Position(Side.SHORT, D("2.5"), D("100")), (), SPEC, rules)
    tps = [p.qty for p in plan.places if p.kind is ExitKind.TP]
    assert tps == [D("1"), D("1"), D("0.5")]


# --- property: any sequence of fills, partial fills, cancels and restarts -------------------

STEP = D("0.001")
ops = st.lists(
    st.tuples(
        st.sampled_from(["entry", "exit_fill", "cancel_resolve", "external_cancel", "restart"]),
        st.sampled_from([Side.LONG, Side.SHORT]),
        st.integers(min_value=1, max_value=7),
        st.integers(min_value=0, max_value=50),
    ),
    min_size=1,
    max_size=40,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(ops)
def test_exit_coverage_equals_position_after_any_sequence(
    sequence: list[tuple[str, Side, int, int]],
) -> None:
    """After every planned step, active TP qty == SL qty == position per side, never above."""
    pos = {Side.LONG: Position(Side.LONG), Side.SHORT: Position(Side.SHORT)}
    exits: list[RestingExit] = []
    for counter, (op, side, units, pick) in enumerate(sequence):
        p = pos[side]
        if op == "entry":
            add = STEP * units
            price = D(50000 + pick * 10)
            avg = (
                price
                if p.avg_price is None
                else (p.avg_price * p.qty + price * add) / (p.qty + add)
            )
            pos[side] = Position(side, p.qty + add, avg)
        elif op == "exit_fill":
            mine = [e for e in exits if e.side is side]
            if mine:
                e = mine[pick % len(mine)]
                fill = min(e.qty, STEP * units, p.qty)
                if fill > 0:
                    remaining = p.qty - fill
                    pos[side] = Position(side, remaining, p.avg_price if remaining > 0 else None)
                    exits.remove(e)
                    if e.qty > fill:
                        exits.append(replace(e, qty=e.qty - fill))
        elif op == "cancel_resolve":
            exits = [e for e in exits if not e.pending_cancel]
        elif op == "external_cancel" and exits:
            exits.pop(pick % len(exits))
        elif op == "restart":
            exits = [e for e in exits if not e.pending_cancel and pick % 2 == 0]
        plan = plan_exits((pos[Side.LONG], pos[Side.SHORT]), tuple(exits), SPEC, BTC_RULES)
        exits = _apply(exits, plan, counter)
        for s in Side:
            for kind in ExitKind:
                assert protected_qty(exits, s, kind) == pos[s].qty
        assert plan_exits((pos[Side.LONG], pos[Side.SHORT]), tuple(exits), SPEC, BTC_RULES).is_empty
        for placed in plan.places:
            assert placed.qty > 0


def _apply(exits: list[RestingExit], plan: ExitPlan, n: int) -> list[RestingExit]:
    cancelled = {c.order_id for c in plan.cancels}
    out = [replace(e, pending_cancel=True) if e.order_id in cancelled else e for e in exits]
    for i, p in enumerate(plan.places):
        out.append(RestingExit(f"x{n}-{i}", p.side, p.kind, p.price, p.qty))
    return out
