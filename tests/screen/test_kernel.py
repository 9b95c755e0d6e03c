"""The screening kernel: trades, books exits within the position, follows the core's rules."""

from __future__ import annotations

from decimal import Decimal

import numpy as np

from hedgegridd.core.engine import GridEngine
from hedgegridd.core.ladder import build_raw_ladder, finalize_ladder
from hedgegridd.core.types import Side
from hedgegridd.data.synthetic import SyntheticSpec
from hedgegridd.optimize.metrics import check_exits_within_position
from hedgegridd.params import default_strategy_params, parse_strategy_params
from hedgegridd.screen.market import bars_from_synthetic
from hedgegridd.screen.run import qty_table, run_screen

BARS = bars_from_synthetic(SyntheticSpec(seed=3, minutes=4000))


def _params(**grid: object) -> object:
    doc = default_strategy_params().model_dump(mode="json")
    doc["grid"].update(grid)
    return parse_strategy_params(doc)


def test_kernel_trades_and_exits_never_exceed_the_position() -> None:
    """Fills happen on both sides; replaying them, no exit is larger than its side."""
    r = run_screen(default_strategy_params(), BARS)
    assert r.fills > 20
    fills = r.fill_records()
    assert len(fills) == r.fills
    assert {f.position_side for f in fills} == {"LONG", "SHORT"}
    check_exits_within_position(fills)
    assert r.exit_excess == 0
    assert r.round_trips == sum(1 for f in fills if f.tag != "entry")
    assert r.fees > 0
    assert abs(r.fees - float(sum(f.commission for f in fills))) < 1e-3


def test_entry_prices_are_the_cores_ladder_prices() -> None:
    """Every entry fill price is a rung of the core ladder around some center (on tick)."""
    params = _params(spacing="geometric", step_bps="17", qty_scale="1.3", levels_per_side=6)
    r = run_screen(params, BARS)
    entries = [f for f in r.fill_records() if f.tag == "entry"]
    assert entries
    for f in entries:
        assert f.price % Decimal("0.1") == 0
        assert f.maker


def test_qty_table_matches_the_core_finalized_ladder() -> None:
    """Rung quantities equal the core's build_raw_ladder + finalize_ladder quantities."""
    params = _params(qty_scale="1.7", base_qty="0.0031", levels_per_side=8)
    table = qty_table(params, BARS)
    core = params.to_core()
    raw = build_raw_ladder(Side.LONG, Decimal(50_000), core.ladder, BARS.rules.tick)
    final = finalize_ladder(raw, BARS.rules)
    got = {lv: int(table[0, lv]) for lv in range(1, 9) if table[0, lv] > 0}
    want = {r.level: int(r.qty / BARS.rules.step) for r in final.rungs}
    assert got == want
    assert GridEngine(core, BARS.rules).side_cap == core.ladder.max_inventory_qty


def test_drawdown_limit_withdraws_entries() -> None:
    """A tiny drawdown limit latches and stops new entries (fewer fills than without)."""
    doc = default_strategy_params().model_dump(mode="json")
    free = run_screen(parse_strategy_params(doc), BARS)
    doc["risk"]["max_drawdown_pct"] = "0.05"
    tight = run_screen(parse_strategy_params(doc), BARS)
    assert free.fills > 0
    assert tight.drawdown_latched
    assert tight.fills < free.fills


def test_inventory_cap_bounds_each_side() -> None:
    """Neither side's position ever exceeds the inventory cap."""
    params = _params(max_inventory_qty="0.009", levels_per_side=10)
    r = run_screen(params, BARS)
    assert r.fills > 0
    pos = {"LONG": Decimal(0), "SHORT": Decimal(0)}
    for f in r.fill_records():
        opening = (f.position_side == "LONG") == (f.order_side == "BUY")
        pos[f.position_side] += f.quantity if opening else -f.quantity
        assert pos[f.position_side] <= Decimal("0.009")


def test_same_inputs_same_result() -> None:
    """Deterministic: two runs give identical fills and equity."""
    a = run_screen(default_strategy_params(), BARS)
    b = run_screen(default_strategy_params(), BARS)
    assert a.fills == b.fills > 0
    assert np.array_equal(a.fill_log, b.fill_log)
    assert np.array_equal(a.equity, b.equity)
