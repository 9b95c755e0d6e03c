"""GridEngine.decide: the whole per-bar decision, caching and entry modes."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hedgegridd.core import (
    DecisionInputs,
    EntryMode,
    ExitKind,
    FundingState,
    GridEngine,
    LiveEntry,
    Position,
    Regime,
    RestingExit,
    RiskSpec,
    Side,
    protected_qty,
)
from hedgegridd.core.engine import Decision
from hedgegridd.errors import DomainError

from .conftest import BTC_RULES, grid_params

D = Decimal
MIN = 60_000_000_000


def _inputs(**kw: object) -> DecisionInputs:
    base: dict[str, object] = {
        "mid": D("50000"),
        "center": D("50000"),
        "regime": Regime.SIDEWAYS,
        "now_ns": 0,
        "long": Position(Side.LONG),
        "short": Position(Side.SHORT),
    }
    base.update(kw)
    return DecisionInputs(**base)  # type: ignore[arg-type]


def _apply(live: tuple[LiveEntry, ...], d: Decision) -> tuple[LiveEntry, ...]:
    gone = {c.order_id for c in d.entries.cancels}
    kept = [o for o in live if o.order_id not in gone]
    kept += [
        LiveEntry(
            f"n{p.rung.side}{p.rung.level}{p.rung.price}",
            p.rung.side,
            p.rung.level,
            p.rung.price,
            p.rung.qty,
        )
        for p in d.entries.places
    ]
    return tuple(kept)


def test_first_decision_places_both_ladders() -> None:
    """From nothing, the engine places every rung of both ladders (non-zero orders)."""
    engine = GridEngine(grid_params(), BTC_RULES)
    d = engine.decide(_inputs(center=None))
    assert d.recentered
    assert d.center == D("50000")
    assert len(d.entries.places) == 20
    assert all(p.rung.price < d.center for p in d.entries.places if p.rung.side is Side.LONG)
    assert all(p.rung.price > d.center for p in d.entries.places if p.rung.side is Side.SHORT)
    assert d.intents == d.entries.places


def test_nothing_changed_is_cached_and_empty() -> None:
    """Deciding again on unchanged inputs returns the same ladders and no intents."""
    engine = GridEngine(grid_params(), BTC_RULES)
    first = engine.decide(_inputs())
    live = _apply((), first)
    second = engine.decide(_inputs(live_entries=live, now_ns=MIN))
    third = engine.decide(_inputs(live_entries=live, now_ns=2 * MIN, mid=D("50010")))
    assert second.intents == ()
    assert third.intents == ()
    assert third.long is second.long


def test_recenter_requotes_and_keeps_passive_side() -> None:
    """A drift beyond recenter_bps moves the center and requotes; no rung crosses mid."""
    engine = GridEngine(grid_params(recenter_bps=D(100)), BTC_RULES)
    live = _apply((), engine.decide(_inputs()))
    d = engine.decide(_inputs(mid=D("51000"), live_entries=live))
    assert d.recentered
    assert d.center == D("51000")
    assert d.entries.cancels
    assert d.entries.places
    assert all(r.price < D("51000") for r in d.long.rungs)
    no_recenter = engine.decide(_inputs(mid=D("49740"), live_entries=live))
    assert not no_recenter.recentered
    assert all(r.price < D("49740") for r in no_recenter.long.rungs)
    assert len(no_recenter.long) == 8  # levels 1 and 2 would cross mid


def test_entry_modes_freeze_and_withdraw() -> None:
    """FREEZE sends no entry operations; WITHDRAW cancels every live entry."""
    engine = GridEngine(grid_params(), BTC_RULES)
    live = _apply((), engine.decide(_inputs()))
    frozen = engine.decide(_inputs(mid=D("52000"), entry_mode=EntryMode.FREEZE, live_entries=live))
    assert frozen.entries.is_empty
    withdrawn = engine.decide(_inputs(entry_mode=EntryMode.WITHDRAW, live_entries=live))
    assert len(withdrawn.entries.cancels) == 20
    assert withdrawn.entries.places == ()


def test_exits_planned_even_when_frozen() -> None:
    """Positions get TP and SL for their full size regardless of the entry mode."""
    engine = GridEngine(grid_params(), BTC_RULES)
    d = engine.decide(
        _inputs(long=Position(Side.LONG, D("0.006"), D("49900")), entry_mode=EntryMode.FREEZE)
    )
    assert {(p.side, p.kind, p.qty) for p in d.exits.places} == {
        (Side.LONG, ExitKind.TP, D("0.006")),
        (Side.LONG, ExitKind.SL, D("0.006")),
    }
    resting = tuple(
        RestingExit(f"x{i}", p.side, p.kind, p.price, p.qty) for i, p in enumerate(d.exits.places)
    )
    again = engine.decide(
        _inputs(long=Position(Side.LONG, D("0.006"), D("49900")), resting_exits=resting)
    )
    assert again.exits.is_empty


def test_throttle_funding_and_policy_compose() -> None:
    """Throttle scales all, funding scales the payer, the policy thins the counter side."""
    engine = GridEngine(grid_params(base_qty=D("0.01")), BTC_RULES)
    half = engine.decide(_inputs(throttle=D("0.5")))
    assert {r.qty for r in half.desired_rungs} == {D("0.005")}
    zero = engine.decide(_inputs(throttle=D(0)))
    assert zero.desired_rungs == ()
    funding = FundingState(rate=D("0.001"), next_funding_ns=30 * MIN)
    d = engine.decide(_inputs(funding=funding, now_ns=10 * MIN))
    assert d.funding.paying_side is Side.LONG
    assert {r.qty for r in d.long.rungs} == {D("0.005")}
    assert {r.qty for r in d.short.rungs} == {D("0.01")}
    up = engine.decide(_inputs(regime=Regime.UP))
    assert {r.qty for r in up.short.rungs} == {D("0.005")}


def test_inventory_cap_is_a_notice_not_an_exception() -> None:
    """Hitting the inventory cap in the bar path yields a notice and a shorter ladder."""
    engine = GridEngine(grid_params(max_inventory_qty=D("0.02")), BTC_RULES)
    d = engine.decide(_inputs(short=Position(Side.SHORT, D("0.012"), D("50100"))))
    short_notice = [n for n in d.notices if n.side is Side.SHORT]
    assert len(short_notice) == 1
    assert short_notice[0].position_qty == D("0.012")
    assert D("0.012") + d.short.total_qty <= D("0.02")
    assert d.long.total_qty <= D("0.02")


def test_uncached_engine_agrees_with_cached() -> None:
    """The cache never changes results: cached and uncached engines decide the same."""
    cached = GridEngine(grid_params(), BTC_RULES)
    plain = GridEngine(grid_params(), BTC_RULES, cache=False)
    live: tuple[LiveEntry, ...] = ()
    for i, mid in enumerate(["50000", "50020", "50400", "50400", "49000", "49010"]):
        inp = _inputs(
            mid=D(mid), center=None if i == 0 else D("50000"), live_entries=live, now_ns=i * MIN
        )
        a, b = cached.decide(inp), plain.decide(inp)
        assert a == b
        live = _apply(live, a)


mids = st.integers(min_value=40_000, max_value=60_000).map(D)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            mids,
            st.sampled_from(list(Regime)),
            st.sampled_from([D(0), D("0.5"), D(1)]),
            st.integers(min_value=0, max_value=9),
        ),
        min_size=1,
        max_size=12,
    )
)
def test_decide_apply_decide_converges(steps: list[tuple[Decimal, Regime, Decimal, int]]) -> None:
    """After applying a decision, deciding again on the same inputs sends nothing;
    no entry is on the wrong side of mid; prices on tick, qty on step; across recenters
    and position changes the resting TP and SL quantities each equal the position."""
    engine = GridEngine(grid_params(), BTC_RULES)
    live: tuple[LiveEntry, ...] = ()
    resting: tuple[RestingExit, ...] = ()
    center: Decimal | None = None
    for n, (mid, regime, throttle, lots) in enumerate(steps):
        long = Position(Side.LONG, D("0.003") * lots, D(49_000) if lots else None)
        inp = _inputs(
            mid=mid,
            center=center,
            regime=regime,
            throttle=throttle,
            live_entries=live,
            resting_exits=resting,
            long=long,
            now_ns=n * MIN,
        )
        d = engine.decide(inp)
        center = d.center
        live = _apply(live, d)
        gone = {c.order_id for c in d.exits.cancels}
        resting = tuple(e for e in resting if e.order_id not in gone) + tuple(
            RestingExit(f"x{n}-{i}", p.side, p.kind, p.price, p.qty)
            for i, p in enumerate(d.exits.places)
        )
        again = engine.decide(replace(inp, center=center, live_entries=live, resting_exits=resting))
        assert again.entries.is_empty
        assert again.exits.is_empty
        for kind in ExitKind:
            assert protected_qty(resting, Side.LONG, kind) == long.qty
            assert protected_qty(resting, Side.SHORT, kind) == 0
        for r in d.desired_rungs:
            assert (r.price < mid) if r.side is Side.LONG else (r.price > mid)
            assert r.price % BTC_RULES.tick == 0
            assert r.qty % BTC_RULES.step == 0


def test_invalid_throttle_rejected_at_the_edge() -> None:
    """A throttle outside [0, 1] cannot even be put into DecisionInputs."""
    with pytest.raises(DomainError, match=r"within \[0, 1\]"):
        _inputs(throttle=D("1.5"))


def test_desired_ladders_respect_risk_position_limit() -> None:
    """Position + desired entries never exceed the risk gate's max_position_qty."""
    params = grid_params()
    params = replace(params, risk=RiskSpec(max_position_qty=D("0.01")))
    engine = GridEngine(params, BTC_RULES)
    d = engine.decide(_inputs(long=Position(Side.LONG, D("0.004"), D("49000"))))
    assert d.desired_rungs
    assert D("0.004") + d.long.total_qty <= D("0.01")
    assert d.short.total_qty <= D("0.01")


edge_decimals = st.sampled_from(
    [D(0), D("0.0001"), D("0.1"), D(1), D(50000), D("1e9"), D("-1"), D("1e-12")]
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    mid=edge_decimals,
    center=st.one_of(st.none(), edge_decimals),
    levels=st.sampled_from([0, 1, 5]),
    throttle=st.sampled_from([D(0), D("0.001"), D(1)]),
    qty=st.sampled_from([D(0), D("0.001"), D(5)]),
    avg=st.sampled_from([D("0.0001"), D("0.1"), D(50000)]),
    rate=st.sampled_from([D(0), D("-0.01"), D("0.01")]),
    mode=st.sampled_from(list(EntryMode)),
)
def test_no_division_by_zero_on_edge_inputs(
    mid: Decimal,
    center: Decimal | None,
    levels: int,
    throttle: Decimal,
    qty: Decimal,
    avg: Decimal,
    rate: Decimal,
    mode: EntryMode,
) -> None:
    """Zero levels, zero/negative/tiny prices, zero throttle or rate never raise."""
    engine = GridEngine(grid_params(levels_per_side=levels), BTC_RULES)
    pos = Position(Side.LONG, qty, avg if qty > 0 else None)
    d = engine.decide(
        _inputs(
            mid=mid,
            center=center,
            throttle=throttle,
            long=pos,
            short=Position(Side.SHORT, qty, avg if qty > 0 else None),
            funding=FundingState(rate, 5 * MIN),
            now_ns=4 * MIN,
            entry_mode=mode,
        )
    )
    for r in d.desired_rungs:
        assert r.price > 0
        assert r.qty > 0
    for p in d.exits.places:
        assert p.price > 0
        assert 0 < p.qty <= qty


def test_stop_already_through_market_is_flagged() -> None:
    """An SL to place that the market already crossed is reported in exits.stop_breached."""
    engine = GridEngine(grid_params(), BTC_RULES)
    long = Position(Side.LONG, D("0.006"), D("50000"))  # SL at 48000.0
    d = engine.decide(_inputs(mid=D("47000"), center=D("47000"), long=long))
    assert [(b.side, b.stop_price, b.qty) for b in d.exits.stop_breached] == [
        (Side.LONG, D("48000.0"), D("0.006"))
    ]
    fine = engine.decide(_inputs(mid=D("49000"), center=D("49000"), long=long))
    assert fine.exits.stop_breached == ()
    short = Position(Side.SHORT, D("0.006"), D("50000"))  # SL at 52000.0
    d2 = engine.decide(_inputs(mid=D("52000"), center=D("52000"), short=short))
    assert [b.side for b in d2.exits.stop_breached] == [Side.SHORT]


def test_fill_recaps_without_repricing() -> None:
    """A position change re-applies only the inventory cap: unchanged ladders are reused."""
    engine = GridEngine(grid_params(), BTC_RULES)
    first = engine.decide(_inputs())
    filled = engine.decide(_inputs(long=Position(Side.LONG, D("0.003"), D("49875"))))
    assert filled.long is first.long
    assert filled.short is first.short
    capped = GridEngine(grid_params(max_inventory_qty=D("0.03")), BTC_RULES)
    base = capped.decide(_inputs())
    after = capped.decide(_inputs(long=Position(Side.LONG, D("0.009"), D("49875"))))
    assert after.long is not base.long
    assert len(after.long) == 7
