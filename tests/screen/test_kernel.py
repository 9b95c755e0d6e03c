"""The screening kernel: trades, books exits within the position, follows the core's rules."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest

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


def test_orders_are_matched_in_nautilus_order() -> None:
    """BUY orders by price descending, then SELL orders ascending; ties in placement order."""
    from hedgegridd.screen import kernel as k

    ot = np.zeros((16, k.O_COLS), np.int64)
    st = np.zeros(k.S_N_ST, np.int64)
    rows = [  # (kind, side, price ticks): placement order
        (k.TP, k.LONG, 500_106),  # SELL limit, placed first, farthest
        (k.ENTRY, k.LONG, 499_356),  # BUY limit
        (k.TP, k.LONG, 499_805),  # SELL limit
        (k.SL, k.SHORT, 501_000),  # BUY stop
        (k.TP, k.LONG, 499_705),  # SELL limit, nearest
        (k.ENTRY, k.LONG, 499_356),  # BUY limit, same price as the first: after it
        (k.SL, k.LONG, 480_000),  # SELL stop
        (k.FLAT, k.LONG, 0),  # market close: not matched here
    ]
    for kind, side, px in rows:
        k._add_order(ot, st, np.zeros(k.R_N), kind, side, 0, px, 3, 0, -1)
    ot[: st[k.S_N], k.O_LIVE] = 1
    ot[6, k.O_LIVE] = 0  # not arrived yet: skipped
    ip = np.zeros(k.I_N, np.int64)
    ip[k.I_RAW_MULT] = 10**15  # tick 0.1 at FIXED_PRECISION 16; these keys do not wrap
    wide = 1 << 60
    assert list(k._match_order(ot, st, ip, -wide, wide, wide, -wide)) == [3, 1, 5, 4, 2, 0]
    # bounds (a point at 499_800): BUY limits >= 499_800, SELL limits <= 499_800, stops
    # as far as the targets can move the market
    assert list(k._match_order(ot, st, ip, 499_800, 499_800, 499_800, 499_705)) == [4]


@pytest.mark.slow
def test_fill_sequence_follows_nautilus_through_stacked_exits() -> None:
    """Exits of lots placed at different averages fill nearest first, one per tick, as in
    Nautilus: the first 36 fills of a day agree in time, side, price and quantity."""
    from hedgegridd.optimize import evaluate, screen_evaluator
    from hedgegridd.optimize.config import parse_optimize_config
    from hedgegridd.optimize.space import base_document, build_params
    from hedgegridd.optimize.windows import split_windows
    from hedgegridd.optimize.worker import WorkerJob, task_for
    from tests.optimize.helpers import REAL, config_doc

    doc = config_doc(backtest__evaluator=REAL)
    doc["data"]["synthetic"] = {"seed": 3, "minutes": 1440}
    config = parse_optimize_config(doc)
    windows = split_windows(config)
    base = base_document(config)
    params = build_params(base, {"grid.step_bps": 12.0, "exits.tp_bps": 15.0})
    job = WorkerJob(config, "", 1, 0, windows, base)
    task = task_for(
        job, params.model_dump(mode="json"), windows.train.start_ns, windows.train.end_ns
    )

    def key(f: object) -> tuple[object, ...]:
        return (f.ts_ns, f.position_side, f.order_side, f.price.normalize(), f.quantity)  # type: ignore[attr-defined]

    screen = [key(f) for f in screen_evaluator.run_backtest(task).fills]
    nautilus = [key(f) for f in evaluate.run_backtest(task).fills]
    assert len(nautilus) > 36
    # fills 0-12 agreed before too; fill 13 is where placement-order matching went wrong
    assert screen[:36] == nautilus[:36]


def test_exits_pass_the_strategys_reduce_gate() -> None:
    """As the strategy's _place_exits: cancel-pending exits still count (core
    closing.Exposure.headroom), so of a TP/SL pair only the admitted TP goes, unlinked."""
    from hedgegridd.core.closing import Exposure, ReduceKind
    from hedgegridd.screen import kernel as k

    ot = np.zeros((16, k.O_COLS), np.int64)
    st = np.zeros(k.S_N_ST, np.int64)
    out = np.zeros(k.R_N)
    ip = np.zeros(k.I_N, np.int64)
    ip[k.I_MAX_QTY], ip[k.I_PAIR] = 1000, 1
    fp = np.zeros(k.F_N)
    fp[k.F_TICK], fp[k.F_TP], fp[k.F_SL] = 0.1, 20.0, 500.0
    st[k.S_POS_S] = 6  # a short of 6 steps; its SL of 6 is being cancelled (still counts)
    k._add_order(ot, st, out, k.SL, k.SHORT, 0, 530_000, 6, 0, -1)
    ot[0, k.O_PC], ot[0, k.O_CANCEL_AT] = 1, 10
    core = Exposure(position=Decimal(6), tp=Decimal(0), sl=Decimal(6))
    assert k._headroom(ot, st, k.SHORT, k.TP) == int(core.headroom(ReduceKind.TP)) == 6
    assert k._headroom(ot, st, k.SHORT, k.SL) == int(core.headroom(ReduceKind.SL)) == 0
    k._place_exit_chunks(ot, st, out, ip, fp, k.SHORT, 50_000.0, 6, 6, 5)
    rows = [(int(r[k.O_KIND]), int(r[k.O_QTY]), int(r[k.O_TWIN])) for r in ot[: st[k.S_N]]]
    assert rows == [(k.SL, 6, -1), (k.TP, 6, -1)]  # the TP alone, no OUO twin


def test_an_ouo_cancel_re_plans_once_per_cancel_event() -> None:
    """The venue cancels an exit, then its OUO twin, each with its own event: the strategy
    re-plans on the first while the twin still rests, so the replacements go as a lone SL
    and then a lone TP (one re-plan after both would send a linked pair)."""
    from hedgegridd.screen import kernel as k

    ot = np.zeros((16, k.O_COLS), np.int64)
    st = np.zeros(k.S_N_ST, np.int64)
    out = np.zeros(k.R_N)
    ip = np.zeros(k.I_N, np.int64)
    ip[k.I_MAX_QTY], ip[k.I_PAIR], ip[k.I_MIN_QTY] = 1000, 1, 1
    ip[k.I_LATENCY_NS], ip[k.I_RAW_MULT] = 50_000_000, 10**15
    fp = np.zeros(k.F_N)
    fp[k.F_TICK], fp[k.F_STEP], fp[k.F_TP], fp[k.F_SL] = 0.1, 0.001, 20.0, 500.0
    close = 500_000
    st[k.S_POS_L], st[k.S_LAST_PX], st[k.S_BAR] = 6, close, close
    st[k.S_BID] = st[k.S_ASK] = close
    pos_avg = np.array([50_000.0, 0.0])
    for tp_id in (0, 2):  # two lots, each a TP/SL pair
        k._add_order(ot, st, out, k.TP, k.LONG, 0, 501_000, 3, 0, tp_id + 1)
        k._add_order(ot, st, out, k.SL, k.LONG, 0, 475_000, 3, 0, tp_id)
    ot[:4, k.O_LIVE] = 1
    st[k.S_NOW] = 1_000
    ot[3, k.O_PC], ot[3, k.O_CANCEL_AT] = 1, st[k.S_NOW]  # the second lot's SL: cancelled
    fl = np.zeros((8, 7), np.int64)
    rej = np.zeros((8, 2), np.int64)
    k._settle(ot, st, pos_avg, np.zeros(1), out, fl, ip, fp, 0, close, rej)
    rows = [(int(r[k.O_ID]), int(r[k.O_KIND]), int(r[k.O_TWIN])) for r in ot[: st[k.S_N]]]
    assert out[k.R_FILLS] == 0
    assert rows == [(0, k.TP, 1), (1, k.SL, 0), (4, k.SL, -1), (5, k.TP, -1)]


def _exit_state() -> tuple[object, ...]:
    """A short of 6 steps at 50000 protected by two TP/SL pairs (rows 0-3), all resting."""
    from hedgegridd.screen import kernel as k

    ot = np.zeros((16, k.O_COLS), np.int64)
    st = np.zeros(k.S_N_ST, np.int64)
    out = np.zeros(k.R_N)
    ip = np.zeros(k.I_N, np.int64)
    ip[k.I_MAX_QTY], ip[k.I_PAIR], ip[k.I_MIN_QTY] = 1000, 1, 1
    ip[k.I_LATENCY_NS], ip[k.I_RAW_MULT], ip[k.I_FILL_CAP] = 50_000_000, 10**15, 8
    fp = np.zeros(k.F_N)
    fp[k.F_TICK], fp[k.F_STEP], fp[k.F_TP], fp[k.F_SL] = 0.1, 0.001, 20.0, 500.0
    close = 500_000
    st[k.S_POS_S], st[k.S_LAST_PX], st[k.S_BAR] = 6, close, close
    st[k.S_BID] = st[k.S_ASK] = close
    for tp_id in (0, 2):
        k._add_order(ot, st, out, k.TP, k.SHORT, 0, 499_000, 3, 0, tp_id + 1)
        k._add_order(ot, st, out, k.SL, k.SHORT, 0, 525_000, 3, 0, tp_id)
    ot[:4, k.O_LIVE] = 1
    st[k.S_NOW] = 1_000
    return k, ot, st, out, ip, fp, close


def test_a_gap_close_waits_for_the_exits_in_its_way_as_the_closer_does() -> None:
    """Closing the newer lot at market (its stop refused) cancels that lot's exits first
    and sends the close only once their cancels are confirmed, as core plan_close decides
    (the reduce gate counts cancel-pending exits); the side then keeps the older lot."""
    from hedgegridd.core.closing import plan_close
    from hedgegridd.core.types import ExitKind, InstrumentRules, RestingExit

    k, ot, st, out, ip, fp, close = _exit_state()
    one = Decimal(1)
    rules = InstrumentRules(Decimal("0.1"), one, one, Decimal(1000), Decimal(0))

    def core_plan() -> tuple[tuple[str, ...], tuple[Decimal, ...]]:
        """Core plan_close for closing 3 of the short over the kernel's resting exits."""
        exits = [
            RestingExit(
                str(int(r[k.O_ID])),
                Side.SHORT,
                ExitKind.TP if r[k.O_KIND] == k.TP else ExitKind.SL,
                Decimal(int(r[k.O_PX])),
                Decimal(int(r[k.O_QTY])),
                pending_cancel=bool(r[k.O_PC]),
            )
            for r in ot[: st[k.S_N]]
            if r[k.O_KIND] in (k.TP, k.SL)
        ]
        held = Decimal(int(st[k.S_POS_S]))
        plan = plan_close(Side.SHORT, held, Decimal(3), exits, Decimal(0), rules)
        return plan.cancels, plan.send

    assert core_plan() == (("2", "3"), ())  # the newer lot's TP and SL go first
    k._close_request(ot, st, out, ip, k.SHORT, 3)
    assert (st[k.S_CLOSING_S], st[k.S_KEEP_S]) == (1, 3)
    assert [int(r[k.O_ID]) for r in ot[: st[k.S_N]] if r[k.O_PC] == 1] == [2, 3]
    assert not any(r[k.O_KIND] == k.FLAT for r in ot[: st[k.S_N]])  # gated: nothing sent
    st[k.S_NOW] += ip[k.I_LATENCY_NS]
    fl = np.zeros((8, 7), np.int64)
    rej = np.zeros((8, 2), np.int64)
    pos_avg = np.array([0.0, 50_000.0])
    k._settle(ot, st, pos_avg, np.zeros(1), out, fl, ip, fp, 0, close, rej)
    assert [int(r[k.O_ID]) for r in ot[: st[k.S_N]] if r[k.O_KIND] != k.FLAT] == [0, 1]
    assert core_plan() == ((), (Decimal(3),))
    assert [int(r[k.O_QTY]) for r in ot[: st[k.S_N]] if r[k.O_KIND] == k.FLAT] == [3]
    st[k.S_NOW] += ip[k.I_LATENCY_NS]
    k._settle(ot, st, pos_avg, np.zeros(1), out, fl, ip, fp, 0, close, rej)
    assert out[k.R_FILLS] == 1  # the close filled at market
    assert (st[k.S_POS_S], st[k.S_CLOSING_S]) == (3, 0)  # done: the older lot is kept


def test_the_venue_takes_due_commands_in_the_order_they_were_sent() -> None:
    """One latency for orders and cancels (Nautilus' in-flight queue): a cancel sent before
    an order is processed before it, although the order's row comes later."""
    k, ot, st, out, _ip, _fp, _close = _exit_state()
    k._send_cancel(ot, st, out, 0, st[k.S_NOW])  # the first lot's TP: cancel sent first
    k._add_order(ot, st, out, k.ENTRY, k.SHORT, 1, 501_000, 3, st[k.S_NOW], -1)
    assert k._next_command(ot, st) == (0, True)
    ot[0, k.O_PC] = 0  # taken
    assert k._next_command(ot, st) == (4, False)


def test_a_fill_cancels_an_in_flight_twin_whose_cancel_was_sent() -> None:
    """Nautilus counts an order with a cancel pending as open: a TP filling on arrival
    cancels its in-flight SL twin if the strategy already sent that SL's cancel (an event
    that re-plans the exits); without a pending cancel the SL arrives unlinked."""
    k, ot, st, out, ip, fp, close = _exit_state()
    for pending in (True, False):
        tp = k._add_order(ot, st, out, k.TP, k.SHORT, 0, 500_100, 3, st[k.S_NOW], -1)
        sl = k._add_order(ot, st, out, k.SL, k.SHORT, 0, 525_000, 3, st[k.S_NOW], tp)
        ot[k._find(ot, st, tp), k.O_TWIN] = sl
        ot[k._find(ot, st, tp), k.O_LIVE] = 1  # the TP arrives first; the SL is in flight
        if pending:
            k._send_cancel(ot, st, out, k._find(ot, st, sl), st[k.S_NOW] + 1)
        fl = np.zeros((8, 7), np.int64)
        pos_avg = np.array([0.0, 50_000.0])
        row = k._find(ot, st, tp)
        _side, _kind, had_twin, _q = k._apply_fill(
            ot, st, pos_avg, np.zeros(1), out, fl, fp, ip, row, close, False, 0
        )
        assert had_twin is pending
        twin_row = k._find(ot, st, sl)
        assert (twin_row < 0) is pending
        if not pending:
            assert ot[twin_row, k.O_TWIN] == -1  # arrives and rests unlinked
