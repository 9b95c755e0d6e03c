"""Algo (conditional) order types: each triggers in the right direction and fills as Binance.

STOP_MARKET / TAKE_PROFIT_MARKET become MARKET orders at the trigger; STOP / TAKE_PROFIT
become LIMIT orders at their price; closePosition closes exactly the leg; workingType
picks last or mark; the checks answer Binance's codes.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from hedgegridd.sim.engine import MatchingEngine
from hedgegridd.sim.matching import trigger_marked, walk
from hedgegridd.sim.orders import VenueError
from tests.sim.test_engine import engine, limit

D = Decimal


def algo(side: str, ps: str, otype: str, trigger: str, **extra: str) -> dict[str, str]:
    """POST /fapi/v1/algoOrder params (add quantity, price, closePosition... as extra)."""
    return {
        "symbol": "BTCUSDT",
        "algoType": "CONDITIONAL",
        "side": side,
        "positionSide": ps,
        "type": otype,
        "triggerPrice": trigger,
        **extra,
    }


def with_legs(long: str = "0.010", short: str = "0.010") -> MatchingEngine:
    """An engine at 60000 holding a LONG and a SHORT leg."""
    eng = engine()
    eng.new_order(limit("BUY", "LONG", "60000.10", long), 1)
    eng.new_order(limit("SELL", "SHORT", "60000.00", short), 1)
    return eng


def trades(events: list[dict[str, Any]]) -> list[tuple[str, str, str, bool]]:
    """(order type, orig type, fill price, maker) of every fill in ``events``."""
    return [
        (e["o"]["o"], e["o"]["ot"], e["o"]["L"], e["o"]["m"])
        for e in events
        if e["e"] == "ORDER_TRADE_UPDATE" and e["o"]["x"] == "TRADE"
    ]


def algo_states(events: list[dict[str, Any]]) -> list[str]:
    """ALGO_UPDATE statuses in order."""
    return [e["o"]["X"] for e in events if e["e"] == "ALGO_UPDATE"]


CASES = [
    # (side, leg, type, trigger, price, walk to, fill type, fill price, maker)
    ("SELL", "LONG", "STOP_MARKET", "59000", "", "58900", "MARKET", "59000.00", False),
    ("BUY", "SHORT", "STOP_MARKET", "61000", "", "61100", "MARKET", "61000.00", False),
    ("SELL", "LONG", "TAKE_PROFIT_MARKET", "61000", "", "61100", "MARKET", "61000.00", False),
    ("BUY", "SHORT", "TAKE_PROFIT_MARKET", "59000", "", "58900", "MARKET", "59000.00", False),
    ("SELL", "LONG", "STOP", "59000", "58950", "58900", "LIMIT", "59000.00", False),
    ("BUY", "SHORT", "STOP", "61000", "61050", "61100", "LIMIT", "61000.10", False),
    ("SELL", "LONG", "TAKE_PROFIT", "61000", "61000", "61100", "LIMIT", "61000.00", False),
    ("BUY", "SHORT", "TAKE_PROFIT", "59000", "59000", "58900", "LIMIT", "59000.00", True),
]


@pytest.mark.parametrize(
    ("side", "leg", "otype", "trigger", "price", "to", "ftype", "fpx", "maker"), CASES
)
def test_each_type_triggers_and_closes_its_leg(
    side: str,
    leg: str,
    otype: str,
    trigger: str,
    price: str,
    to: str,
    ftype: str,
    fpx: str,
    maker: bool,
) -> None:
    """Each algo type triggers on its side of the market and closes the leg at its price."""
    eng = with_legs()
    extra = {"quantity": "0.010", **({"price": price} if price else {})}
    rest, placed = eng.new_algo_order(algo(side, leg, otype, trigger, **extra), 2)
    assert (rest["orderType"], rest["algoStatus"], algo_states(placed)) == (otype, "NEW", ["NEW"])
    assert walk(eng, D("60000"), 3) == []  # not reached yet
    events = walk(eng, D(to), 4)
    assert trades(events) == [(ftype, otype, fpx, maker)]
    assert eng.positions[leg].amt == 0
    assert eng.positions["SHORT" if leg == "LONG" else "LONG"].amt != 0
    assert algo_states(events) == ["TRIGGERED", "FINISHED"]
    finished = [e for e in events if e["e"] == "ALGO_UPDATE"][-1]["o"]
    assert (finished["act"], finished["aq"], finished["ap"]) == (ftype, "0.010", fpx)


def test_stop_limit_that_does_not_cross_rests_until_the_price_comes_back() -> None:
    """A SELL STOP with its limit above the trigger rests (TRIGGERED), fills later as maker."""
    eng = with_legs()
    eng.new_algo_order(algo("SELL", "LONG", "STOP", "59000", quantity="0.010", price="59100"), 2)
    events = walk(eng, D("58500"), 3)
    assert algo_states(events) == ["TRIGGERED"]
    assert trades(events) == []
    resting = eng.open_orders()
    assert [(o.type, o.orig_type, o.price, o.stop_price) for o in resting] == [
        ("LIMIT", "STOP", D("59100"), D("59000"))
    ]
    assert eng.open_algos() == []
    later = walk(eng, D("59200"), 4)
    assert trades(later) == [("LIMIT", "STOP", "59100.00", True)]
    assert algo_states(later) == ["FINISHED"]
    assert eng.positions["LONG"].amt == 0


def test_stop_limit_ioc_that_cannot_fill_expires_and_finishes() -> None:
    """An IOC stop-limit whose price the market has passed expires; the algo is FINISHED."""
    eng = with_legs()
    eng.new_algo_order(
        algo("SELL", "LONG", "STOP", "59000", quantity="0.010", price="59100", timeInForce="IOC"),
        2,
    )
    events = walk(eng, D("58500"), 3)
    assert [e["o"]["x"] for e in events if e["e"] == "ORDER_TRADE_UPDATE"] == ["NEW", "EXPIRED"]
    assert algo_states(events) == ["TRIGGERED", "FINISHED"]
    assert eng.positions["LONG"].amt == D("0.010")


def test_cancelling_the_triggered_limit_finishes_the_algo() -> None:
    """Cancelling the LIMIT a stop-limit placed reports ALGO_UPDATE FINISHED."""
    eng = with_legs()
    eng.new_algo_order(algo("SELL", "LONG", "STOP", "59000", quantity="0.010", price="59100"), 2)
    walk(eng, D("58500"), 3)
    _, events = eng.cancel_order(eng.open_orders()[0], 4)
    assert algo_states(events) == ["FINISHED"]


@pytest.mark.parametrize(
    ("side", "leg", "to"), [("SELL", "LONG", "58000"), ("BUY", "SHORT", "62000")]
)
def test_close_position_closes_exactly_the_leg(side: str, leg: str, to: str) -> None:
    """closePosition (no quantity) closes the whole leg as it is at the trigger, no more."""
    eng = with_legs(long="0.030", short="0.020")
    trigger = "59000" if side == "SELL" else "61000"
    rest, _ = eng.new_algo_order(algo(side, leg, "STOP_MARKET", trigger, closePosition="true"), 2)
    assert (rest["closePosition"], rest["quantity"]) == (True, "0.000")
    eng.new_order(limit("BUY", "LONG", "59900.00", "0.010"), 2)  # the long grows first
    eng.new_order(limit("SELL", "SHORT", "60100.00", "0.010"), 2)  # and the short
    events = walk(eng, D(to), 3)
    closed = [e["o"] for e in events if e["e"] == "ORDER_TRADE_UPDATE" and e["o"]["ot"] != "LIMIT"]
    assert [(o["o"], o["q"], o["cp"]) for o in closed] == [
        ("MARKET", "0.040" if leg == "LONG" else "0.030", True)
    ]
    assert eng.positions[leg].amt == 0
    assert algo_states(events) == ["TRIGGERED", "FINISHED"]


def test_close_position_with_a_flat_leg_expires() -> None:
    """A closePosition stop that triggers with nothing to close expires (no order, no flip)."""
    eng = with_legs()
    eng.new_algo_order(algo("SELL", "LONG", "STOP_MARKET", "59000", closePosition="true"), 2)
    eng.new_order({**limit("SELL", "LONG", "60000.00", "0.010"), "type": "MARKET", "price": ""}, 2)
    events = walk(eng, D("58000"), 3)
    assert algo_states(events) == ["EXPIRED"]
    assert eng.positions["LONG"].amt == 0
    assert trades(events) == []


def test_close_position_rules() -> None:
    """quantity or reduceOnly with closePosition: -1106; the opening direction: -2022;
    a second one on the same side and type: -4130; a limit type: -1106."""
    eng = with_legs()
    cases = [
        (
            algo("SELL", "LONG", "STOP_MARKET", "59000", closePosition="true", quantity="0.010"),
            -1106,
        ),
        (algo("BUY", "LONG", "STOP_MARKET", "61000", closePosition="true"), -2022),
        (algo("SELL", "LONG", "STOP", "59000", closePosition="true", price="58900"), -1106),
    ]
    for params, code in cases:
        with pytest.raises(VenueError) as refused:
            eng.new_algo_order(params, 2)
        assert refused.value.code == code
    assert "'quantity' sent when not required" in _refusal(eng, cases[0][0])
    eng.new_algo_order(algo("SELL", "LONG", "STOP_MARKET", "59000", closePosition="true"), 2)
    with pytest.raises(VenueError) as dup:
        eng.new_algo_order(algo("SELL", "LONG", "STOP_MARKET", "58000", closePosition="true"), 2)
    assert dup.value.code == -4130
    eng.new_algo_order(algo("SELL", "LONG", "TAKE_PROFIT_MARKET", "61000", closePosition="true"), 2)


def _refusal(eng: MatchingEngine, params: dict[str, str]) -> str:
    try:
        eng.new_algo_order(params, 2)
    except VenueError as exc:
        return exc.msg
    raise AssertionError("accepted")


def test_immediate_trigger_and_parameter_checks() -> None:
    """-2021 for each type already triggered; a limit type needs a price (-1102);
    TRAILING_STOP_MARKET is refused (-1116); priceProtect is accepted and echoed."""
    eng = with_legs()
    for otype, side in [("STOP", "SELL"), ("TAKE_PROFIT", "BUY"), ("STOP", "BUY")]:
        trigger = "60100" if side == "SELL" else ("60100" if otype == "TAKE_PROFIT" else "59900")
        leg = "LONG" if side == "SELL" else "SHORT"
        with pytest.raises(VenueError) as now:
            eng.new_algo_order(algo(side, leg, otype, trigger, quantity="0.010", price=trigger), 2)
        assert now.value.code == -2021
    with pytest.raises(VenueError) as no_price:
        eng.new_algo_order(algo("SELL", "LONG", "STOP", "59000", quantity="0.010"), 2)
    assert no_price.value.code == -1102
    with pytest.raises(VenueError) as trailing:
        eng.new_algo_order(
            algo("SELL", "LONG", "TRAILING_STOP_MARKET", "59000", quantity="0.010"), 2
        )
    assert trailing.value.code == -1116
    rest, events = eng.new_algo_order(
        algo("SELL", "LONG", "STOP_MARKET", "59000", quantity="0.010", priceProtect="TRUE"), 2
    )
    assert (rest["priceProtect"], events[0]["o"]["pP"]) == (True, True)


def test_mark_price_stop_limit_triggers_on_the_mark() -> None:
    """A MARK_PRICE stop-limit ignores the last price and triggers when the mark gets there."""
    eng = with_legs()
    eng.ledger.set_premium(D("0"), D("-500"))  # mark = last - 500
    eng.new_algo_order(
        algo(
            "SELL",
            "LONG",
            "STOP",
            "59000",
            quantity="0.010",
            price="58000",
            workingType="MARK_PRICE",
        ),
        2,
    )
    assert walk(eng, D("59600"), 3) == []  # last 59600, mark 59100: not yet
    events = walk(eng, D("59400"), 4)  # mark reaches 59000 at last 59500
    assert trades(events) == [("LIMIT", "STOP", "59500.00", False)]
    order = next(o for o in eng.orders.values() if o.orig_type == "STOP")
    assert order.to_rest(eng.fmt)["workingType"] == "MARK_PRICE"


def test_one_way_close_position_closes_the_both_leg() -> None:
    """One-way mode: a BUY closePosition TAKE_PROFIT_MARKET closes a short BOTH leg."""
    eng = engine(dual=False)
    eng.new_order(
        {
            "symbol": "BTCUSDT",
            "side": "SELL",
            "positionSide": "BOTH",
            "type": "MARKET",
            "quantity": "0.020",
        },
        1,
    )
    eng.new_algo_order(algo("BUY", "BOTH", "TAKE_PROFIT_MARKET", "59000", closePosition="true"), 2)
    events = walk(eng, D("58000"), 3)
    assert trades(events) == [("MARKET", "TAKE_PROFIT_MARKET", "59000.00", False)]
    assert eng.positions["BOTH"].amt == 0


def test_stop_limit_close_larger_than_the_leg_expires_without_flipping() -> None:
    """A triggered STOP close bigger than what is left of the leg expires; the leg stays."""
    eng = with_legs(long="0.010")
    eng.new_algo_order(algo("SELL", "LONG", "STOP", "59000", quantity="0.020", price="58900"), 2)
    events = walk(eng, D("58000"), 3)
    assert algo_states(events) == ["EXPIRED"]
    assert trades(events) == []
    assert eng.positions["LONG"].amt == D("0.010")


def test_opening_stop_entries_open_legs_on_a_breakout() -> None:
    """BUY LONG STOP_MARKET and SELL SHORT STOP open legs when the price breaks out."""
    eng = engine()
    eng.new_algo_order(algo("BUY", "LONG", "STOP_MARKET", "60500", quantity="0.010"), 1)
    eng.new_algo_order(algo("SELL", "SHORT", "STOP", "59500", quantity="0.010", price="59400"), 1)
    up = walk(eng, D("60600"), 2)
    assert trades(up) == [("MARKET", "STOP_MARKET", "60500.00", False)]
    down = walk(eng, D("59000"), 3)
    assert trades(down) == [("LIMIT", "STOP", "59500.00", False)]
    assert (eng.positions["LONG"].amt, eng.positions["SHORT"].amt) == (D("0.010"), D("-0.010"))


def test_premium_change_triggers_a_mark_price_take_profit_limit() -> None:
    """A mark premium that moves the mark through a MARK_PRICE TAKE_PROFIT triggers it."""
    eng = with_legs()
    eng.new_algo_order(
        algo(
            "SELL",
            "LONG",
            "TAKE_PROFIT",
            "60500",
            quantity="0.010",
            price="59990",
            workingType="MARK_PRICE",
        ),
        2,
    )
    eng.ledger.set_premium(D("100"), D("0"))  # mark = last * 1.01 = 60600
    events = trigger_marked(eng, 3)
    assert trades(events) == [("LIMIT", "TAKE_PROFIT", "60000.00", False)]
    assert algo_states(events) == ["TRIGGERED", "FINISHED"]


def test_opening_trigger_without_margin_is_rejected() -> None:
    """An opening stop the account can no longer margin at trigger is ALGO_UPDATE REJECTED."""
    eng = engine(balance="100")
    eng.new_algo_order(algo("BUY", "LONG", "STOP_MARKET", "60500", quantity="0.050"), 1)
    events = walk(eng, D("60600"), 2)
    assert algo_states(events) == ["REJECTED"]
    assert trades(events) == []
    assert eng.positions["LONG"].amt == 0
