"""Price walks against the book: gaps, mark vs last triggering, take-profits, no leg flips."""

from __future__ import annotations

from decimal import Decimal

import pytest

from hedgegridd.sim.matching import trigger_marked, walk
from hedgegridd.sim.orders import VenueError
from tests.sim.test_engine import engine, limit

D = Decimal


def algo(
    side: str, ps: str, otype: str, trigger: str, qty: str, wt: str = "", cid: str = ""
) -> dict:
    """POST /fapi/v1/algoOrder params."""
    params = {
        "symbol": "BTCUSDT",
        "side": side,
        "positionSide": ps,
        "type": otype,
        "algoType": "CONDITIONAL",
        "triggerPrice": trigger,
        "quantity": qty,
        "clientAlgoId": cid or f"{otype}-{trigger}-{wt}",
    }
    if wt:
        params["workingType"] = wt
    return params


def long_engine(qty: str = "0.010") -> object:
    """An engine at 60000 holding a LONG leg of ``qty``."""
    eng = engine()
    eng.new_order({**limit("BUY", "LONG", "60000.10", qty)}, 1)
    return eng


def fills(events: list[dict]) -> list[tuple[str, str]]:
    """(client id, fill price) of every fill in ``events``."""
    return [
        (e["o"]["c"], e["o"]["L"])
        for e in events
        if e["e"] == "ORDER_TRADE_UPDATE" and e["o"]["x"] == "TRADE"
    ]


def test_gap_fills_a_stop_at_the_market_after_the_gap() -> None:
    """A jump through a stop fills it at the post-gap price; a continuous move at its trigger."""
    eng = long_engine()
    eng.new_algo_order(algo("SELL", "LONG", "STOP_MARKET", "59000", "0.010", cid="sl"), 2)
    events = walk(eng, D("57000"), 3, gap=True)
    assert fills(events) == [("sl", "57000.00")]
    assert eng.positions["LONG"].amt == 0
    smooth = long_engine()
    smooth.new_algo_order(algo("SELL", "LONG", "STOP_MARKET", "59000", "0.010", cid="sl"), 2)
    assert fills(walk(smooth, D("57000"), 3)) == [("sl", "59000.00")]


def test_walk_processes_orders_in_path_order() -> None:
    """A falling move hits the stop (59000) before a resting buy lower down (58000)."""
    eng = long_engine()
    eng.new_algo_order(algo("SELL", "LONG", "STOP_MARKET", "59000", "0.010", cid="sl"), 2)
    eng.new_order(limit("BUY", "LONG", "58000", "0.010", cid="entry"), 2)
    events = walk(eng, D("57000"), 3)
    assert fills(events) == [("sl", "59000.00"), ("entry", "58000.00")]
    assert eng.positions["LONG"].amt == D("0.010")


def test_take_profit_market_triggers_on_the_way_up_and_refuses_immediate_trigger() -> None:
    """A SELL TAKE_PROFIT_MARKET fires when the price rises to it; one at/below it is -2021."""
    eng = long_engine()
    with pytest.raises(VenueError) as err:
        eng.new_algo_order(algo("SELL", "LONG", "TAKE_PROFIT_MARKET", "60000", "0.010"), 2)
    assert err.value.code == -2021
    assert err.value.msg == "Order would immediately trigger."
    eng.new_algo_order(algo("SELL", "LONG", "TAKE_PROFIT_MARKET", "60500", "0.010", cid="tp"), 2)
    assert fills(walk(eng, D("60400"), 3)) == []
    assert fills(walk(eng, D("60600"), 4)) == [("tp", "60500.00")]
    assert eng.positions["LONG"].amt == 0


def test_mark_price_orders_trigger_on_the_mark_contract_price_on_last() -> None:
    """With a +100 bps premium, MARK_PRICE stops see 60600 while CONTRACT_PRICE see 60000."""
    eng = engine()
    eng.new_order(limit("BUY", "LONG", "60000.10", "0.010"), 1)
    eng.new_order(limit("SELL", "SHORT", "60000", "0.010"), 1)
    eng.ledger.set_premium(bps=D(100))
    assert eng.mark == D("60600")
    # Immediate-trigger checks use the order's own working price.
    with pytest.raises(VenueError) as err:
        eng.new_algo_order(
            algo("SELL", "LONG", "TAKE_PROFIT_MARKET", "60300", "0.010", "MARK_PRICE"), 2
        )
    assert err.value.code == -2021
    with pytest.raises(VenueError) as err:
        eng.new_algo_order(
            algo("SELL", "LONG", "STOP_MARKET", "60300", "0.010", "CONTRACT_PRICE"), 2
        )
    assert err.value.code == -2021
    eng.new_algo_order(
        algo("SELL", "LONG", "STOP_MARKET", "60300", "0.010", "MARK_PRICE", "mark-sl"), 2
    )
    eng.new_algo_order(
        algo("BUY", "SHORT", "STOP_MARKET", "60300", "0.010", "CONTRACT_PRICE", "last-sl"), 2
    )
    # Last falls to 59800: mark 60398 stays above the mark stop.
    assert fills(walk(eng, D("59800"), 3)) == []
    # Last falls to 59600: mark 60196 crosses 60300 when last = 60300 / 1.01 = 59702.97.
    assert fills(walk(eng, D("59600"), 4)) == [("mark-sl", "59703.00")]
    # The short's CONTRACT_PRICE stop ignores the mark (60600+) and fires on last 60300.
    assert fills(walk(eng, D("60200"), 5)) == []
    assert fills(walk(eng, D("60400"), 6)) == [("last-sl", "60300.00")]
    assert eng.positions["LONG"].amt == 0
    assert eng.positions["SHORT"].amt == 0


def test_premium_change_triggers_mark_orders_it_crosses() -> None:
    """Raising the premium moves the mark alone: a MARK_PRICE BUY stop above fires at once."""
    eng = engine()
    eng.new_order(limit("SELL", "SHORT", "60000", "0.010"), 1)
    eng.new_algo_order(algo("BUY", "SHORT", "STOP_MARKET", "60300", "0.010", "MARK_PRICE", "sl"), 2)
    assert trigger_marked(eng, 3) == []
    eng.ledger.set_premium(absolute=D(500))
    events = trigger_marked(eng, 4)
    assert fills(events) == [("sl", "60000.10")]  # a market buy at the ask
    assert eng.positions["SHORT"].amt == 0


def test_mark_values_the_legs() -> None:
    """Unrealized PnL, the ACCOUNT_UPDATE and margin use the mark, not the last price."""
    eng = long_engine()
    eng.ledger.set_premium(absolute=D(-1000))
    assert eng.ledger.unrealized() == (D("59000") - D("60000.10")) * D("0.010")
    event = eng.ledger.account_update("ORDER", 5, ["LONG"])
    assert event["a"]["P"][0]["up"] == f"{(D('59000') - D('60000.10')) * D('0.010'):.8f}"


def test_closing_market_orders_never_flip_a_hedge_leg() -> None:
    """Two full-size closing MARKETs: the first closes, the second is -2022; the leg stays 0."""
    eng = long_engine()
    market = {"symbol": "BTCUSDT", "side": "SELL", "positionSide": "LONG", "type": "MARKET"}
    with pytest.raises(VenueError) as err:
        eng.new_order({**market, "quantity": "0.011"}, 2)
    assert (err.value.code, err.value.msg) == (-2022, "ReduceOnly Order is rejected.")
    eng.new_order({**market, "quantity": "0.010"}, 2)
    with pytest.raises(VenueError) as err:
        eng.new_order({**market, "quantity": "0.010"}, 3)
    assert err.value.code == -2022
    assert eng.positions["LONG"].amt == 0


def test_closing_trigger_larger_than_the_leg_expires() -> None:
    """A stop for more than what is left of the leg expires instead of flipping it."""
    eng = long_engine("0.010")
    eng.new_algo_order(algo("SELL", "LONG", "STOP_MARKET", "59000", "0.020", cid="big"), 2)
    events = walk(eng, D("58000"), 3)
    assert fills(events) == []
    assert [e["o"]["X"] for e in events if e["e"] == "ALGO_UPDATE"] == ["EXPIRED"]
    assert eng.positions["LONG"].amt == D("0.010")


def test_hedge_mode_off_refuses_position_sides_with_4061() -> None:
    """With dualSidePosition off, LONG/SHORT orders and algo orders get -4061."""
    eng = engine()
    eng.dual_side = False
    with pytest.raises(VenueError) as err:
        eng.new_order(limit("BUY", "LONG", "59000", "0.010"), 1)
    assert (err.value.code, err.value.msg) == (
        -4061,
        "Order's position side does not match user's setting.",
    )
    with pytest.raises(VenueError) as err:
        eng.new_algo_order(algo("BUY", "SHORT", "STOP_MARKET", "61000", "0.010"), 1)
    assert err.value.code == -4061
    eng.dual_side = True
    eng.new_order(limit("BUY", "LONG", "59000", "0.010"), 2)
