"""The whole core driven bar by bar against a toy matcher: invariants hold on every bar."""

from __future__ import annotations

import random
from decimal import Decimal

import pytest

from hedgegridd.core import (
    DecisionInputs,
    ExitKind,
    FundingState,
    GridEngine,
    LiveEntry,
    Position,
    RegimeDetector,
    RegimeSpec,
    RestingExit,
    Side,
    protected_qty,
)

from .conftest import BTC_RULES, grid_params

D = Decimal
MIN = 60_000_000_000
CAP = D("0.03")


def _reduce(pos: Position, qty: Decimal) -> tuple[Position, Decimal]:
    done = min(qty, pos.qty)
    left = pos.qty - done
    return Position(pos.side, left, pos.avg_price if left > 0 else None), done


def _grow(pos: Position, qty: Decimal, price: Decimal) -> Position:
    total = pos.qty + qty
    avg = price if pos.avg_price is None else (pos.avg_price * pos.qty + price * qty) / total
    return Position(pos.side, total, avg)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_core_loop_keeps_invariants(seed: int) -> None:
    """Over 1200 random bars with fills, exits always equal positions, caps hold, no
    entry rests on the wrong side of mid, and the grid actually trades."""
    rng = random.Random(seed)
    engine = GridEngine(grid_params(max_inventory_qty=CAP, step_bps=D(15)), BTC_RULES)
    detector = RegimeDetector(RegimeSpec(ema_fast=5, ema_slow=20, adx_period=7, atr_period=7))
    pos = {Side.LONG: Position(Side.LONG), Side.SHORT: Position(Side.SHORT)}
    live: list[LiveEntry] = []
    resting: list[RestingExit] = []
    center: Decimal | None = None
    close = D(50_000)
    entry_fills = exit_fills = ids = 0
    for n in range(1, 1201):
        drift = D(rng.choice([-1, 1])) * D(rng.randint(0, 120))
        high = close + abs(drift) + D(rng.randint(0, 40))
        low = close - abs(drift) - D(rng.randint(0, 40))
        close = (close + drift).quantize(D("0.1"))
        # toy matching against the bar's range
        for order in list(live):
            buy = order.side is Side.LONG
            if (buy and low <= order.price) or (not buy and high >= order.price):
                live.remove(order)
                pos[order.side] = _grow(pos[order.side], order.qty, order.price)
                entry_fills += 1
        for ex in list(resting):
            long = ex.side is Side.LONG
            hit_low, hit_high = low <= ex.price, high >= ex.price
            tp_hit = hit_high if long else hit_low
            sl_hit = hit_low if long else hit_high
            if (ex.kind is ExitKind.TP and tp_hit) or (ex.kind is ExitKind.SL and sl_hit):
                resting.remove(ex)
                pos[ex.side], _ = _reduce(pos[ex.side], ex.qty)
                exit_fills += 1
        regime = detector.update(high, low, close)
        d = engine.decide(
            DecisionInputs(
                mid=close,
                center=center,
                regime=regime,
                now_ns=n * MIN,
                long=pos[Side.LONG],
                short=pos[Side.SHORT],
                live_entries=tuple(live),
                resting_exits=tuple(resting),
                funding=FundingState(D("0.0005"), (n // 480 + 1) * 480 * MIN),
            )
        )
        center = d.center
        gone = {c.order_id for c in d.entries.cancels} | {c.order_id for c in d.exits.cancels}
        live = [o for o in live if o.order_id not in gone]
        resting = [e for e in resting if e.order_id not in gone]
        for p in d.entries.places:
            ids += 1
            r = p.rung
            live.append(LiveEntry(f"e{ids}", r.side, r.level, r.price, r.qty))
        for x in d.exits.places:
            ids += 1
            resting.append(RestingExit(f"x{ids}", x.side, x.kind, x.price, x.qty))
        for side in Side:
            for kind in ExitKind:
                assert protected_qty(resting, side, kind) == pos[side].qty
            pending = sum((o.qty for o in live if o.side is side), D(0))
            assert pos[side].qty + pending <= CAP
        for o in live:
            assert (o.price < close) if o.side is Side.LONG else (o.price > close)
    assert entry_fills > 0
    assert exit_fills > 0
