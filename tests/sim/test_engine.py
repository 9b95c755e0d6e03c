"""The matching engine alone: hedge-mode fills, PnL, fees, stops, funding, venue rules."""

from __future__ import annotations

from decimal import Decimal

import pytest

from hedgegridd.data.instruments import BTCUSDT_PERP
from hedgegridd.sim.engine import MatchingEngine
from hedgegridd.sim.matching import check_liquidation, walk
from hedgegridd.sim.orders import Formats, VenueError
from hedgegridd.sim.rules import SymbolRules

D = Decimal
RULES = SymbolRules(
    symbol="BTCUSDT",
    tick=BTCUSDT_PERP.tick_size,
    step=BTCUSDT_PERP.step_size,
    min_qty=BTCUSDT_PERP.min_qty,
    max_qty=BTCUSDT_PERP.max_qty,
    market_max_qty=BTCUSDT_PERP.market_max_qty,
    min_notional=BTCUSDT_PERP.min_notional,
    maker_fee=D("0.0002"),
    taker_fee=D("0.0005"),
)


def engine(dual: bool = True, price: str = "60000", balance: str = "10000") -> MatchingEngine:
    """A fresh engine at ``price``."""
    return MatchingEngine(
        RULES, Formats(2, 3), balance=D(balance), leverage=20, dual_side=dual, price=D(price)
    )


def limit(side: str, ps: str, price: str, qty: str, tif: str = "GTC", cid: str = "") -> dict:
    """POST /fapi/v1/order params of a LIMIT order."""
    params = {
        "symbol": "BTCUSDT",
        "side": side,
        "positionSide": ps,
        "type": "LIMIT",
        "timeInForce": tif,
        "price": price,
        "quantity": qty,
    }
    if cid:
        params["newClientOrderId"] = cid
    return params


def test_resting_orders_fill_as_maker_when_the_path_crosses() -> None:
    """A buy below and a sell above fill at their prices with maker fees, events in order."""
    eng = engine()
    _, ev = eng.new_order(limit("BUY", "LONG", "59900", "0.010"), 1)
    assert [e["o"]["x"] for e in ev] == ["NEW"]
    eng.new_order(limit("SELL", "SHORT", "60100", "0.010"), 1)
    events = walk(eng, D("59850"), 2)
    kinds = [e["e"] for e in events]
    assert kinds == ["TRADE_LITE", "ORDER_TRADE_UPDATE", "ACCOUNT_UPDATE"]
    fill = events[1]["o"]
    assert (fill["x"], fill["X"], fill["L"], fill["l"], fill["m"]) == (
        "TRADE",
        "FILLED",
        "59900.00",
        "0.010",
        True,
    )
    assert fill["n"] == "0.11980000"  # 0.010 * 59900 * 0.0002
    assert eng.positions["LONG"].amt == D("0.010")
    walk(eng, D("60150"), 3)
    assert eng.positions["SHORT"].amt == D("-0.010")
    assert eng.wallet == D("10000") - D("0.1198") - D("0.1202")


def test_close_realizes_pnl_and_reduce_beyond_position_is_refused() -> None:
    """Closing the long leg realizes (exit - entry) * qty; over-closing gives -2022."""
    eng = engine()
    eng.new_order(limit("BUY", "LONG", "60000.10", "0.010"), 1)  # takes the ask
    assert eng.positions["LONG"].entry == D("60000.10")
    with pytest.raises(VenueError) as err:
        eng.new_order(limit("SELL", "LONG", "60500", "0.011"), 2)
    assert err.value.code == -2022
    eng.new_order(limit("SELL", "LONG", "60500", "0.010"), 2)
    walk(eng, D("60600"), 3)
    assert eng.positions["LONG"].amt == 0
    assert eng.positions["LONG"].realized == D("4.999")


def test_stop_market_triggers_at_its_price_and_rejects_immediate_trigger() -> None:
    """A SELL stop below the price triggers when crossed; one at/above it gives -2021."""
    eng = engine()
    eng.new_order(limit("BUY", "LONG", "60000.10", "0.010"), 1)
    base = {
        "symbol": "BTCUSDT",
        "side": "SELL",
        "positionSide": "LONG",
        "type": "STOP_MARKET",
        "quantity": "0.010",
        "algoType": "CONDITIONAL",
        "clientAlgoId": "stop-1",
    }
    with pytest.raises(VenueError) as err:
        eng.new_algo_order({**base, "triggerPrice": "60100"}, 2)
    assert err.value.code == -2021
    rest, ev = eng.new_algo_order({**base, "triggerPrice": "59500"}, 2)
    assert (rest["algoStatus"], ev[0]["o"]["X"]) == ("NEW", "NEW")
    events = walk(eng, D("59400"), 3)
    algo_states = [e["o"]["X"] for e in events if e["e"] == "ALGO_UPDATE"]
    assert algo_states == ["TRIGGERED", "FINISHED"]
    fill = next(e["o"] for e in events if e["e"] == "ORDER_TRADE_UPDATE")
    assert (fill["c"], fill["o"], fill["ot"], fill["L"], fill["m"]) == (
        "stop-1",
        "MARKET",
        "STOP_MARKET",
        "59500.00",
        False,
    )
    assert eng.positions["LONG"].amt == 0


def test_funding_long_pays_short_receives() -> None:
    """With a positive rate, the long leg pays and the short leg receives amt * mark * rate."""
    eng = engine()
    eng.new_order(limit("BUY", "LONG", "60000.10", "0.020"), 1)
    eng.new_order(limit("SELL", "SHORT", "60000", "0.010"), 1)
    wallet = eng.wallet
    (event,) = eng.ledger.settle_funding(D("0.0001"), 5)
    assert event["a"]["m"] == "FUNDING_FEE"
    assert event["a"]["P"] == []  # cross margin: balance only
    assert D(event["a"]["B"][0]["bc"]) == -D("0.12") + D("0.06")
    assert eng.wallet - wallet == -D("0.12") + D("0.06")


def test_reduce_only_flag_is_refused_in_hedge_mode() -> None:
    """Hedge mode closes by position side; sending reduceOnly=true gives -1106."""
    eng = engine()
    with pytest.raises(VenueError) as err:
        eng.new_order({**limit("SELL", "LONG", "61000", "0.010"), "reduceOnly": "true"}, 1)
    assert err.value.code == -1106
    one_way = engine(dual=False)
    reduce = {**limit("SELL", "BOTH", "61000", "0.010"), "reduceOnly": "true"}
    with pytest.raises(VenueError) as err:
        one_way.new_order(reduce, 1)  # flat: nothing to reduce
    assert err.value.code == -2022
    one_way.new_order(limit("BUY", "BOTH", "60000.10", "0.010"), 2)
    rest, _ = one_way.new_order(reduce, 3)
    assert rest["reduceOnly"] is True


def test_one_way_mode_uses_both_and_flips() -> None:
    """With hedge mode off, BOTH is required and a larger opposite fill flips the position."""
    eng = engine(dual=False)
    with pytest.raises(VenueError) as err:
        eng.new_order(limit("BUY", "LONG", "59000", "0.010"), 1)
    assert err.value.code == -4061
    eng.new_order(limit("BUY", "BOTH", "60000.10", "0.010"), 1)
    eng.new_order(limit("SELL", "BOTH", "60000", "0.030"), 2)
    assert eng.positions["BOTH"].amt == D("-0.020")
    assert eng.positions["BOTH"].entry == D("60000")


def test_margin_modify_and_cancel_rules() -> None:
    """Open-order margin counts against new orders; modify re-prices; cancel twice is -2011."""
    eng = engine(balance="100")
    eng.new_order(limit("BUY", "LONG", "59000", "0.030", cid="m1"), 1)  # 88.5 margin
    with pytest.raises(VenueError) as err:
        eng.new_order(limit("BUY", "LONG", "59000", "0.010"), 1)
    assert err.value.code == -2019
    order = eng.find_order(None, "m1")
    rest, ev = eng.modify_order(order, {"price": "58000", "quantity": "0.020"}, 2)
    assert (rest["price"], ev[0]["o"]["x"]) == ("58000.00", "AMENDMENT")
    eng.cancel_order(order, 3)
    with pytest.raises(VenueError) as err:
        eng.cancel_order(order, 4)
    assert err.value.code == -2011
    with pytest.raises(VenueError) as err:
        eng.find_order("not-a-number", None)
    assert err.value.code == -1100


def test_history_is_bounded() -> None:
    """Trades and closed orders are pruned beyond max_history; open orders are kept."""
    eng = MatchingEngine(
        RULES,
        Formats(2, 3),
        balance=D("1000000"),
        leverage=20,
        dual_side=True,
        price=D("60000"),
        max_history=10,
    )
    eng.new_order(limit("BUY", "LONG", "50000", "0.010", cid="keep"), 0)
    for i in range(30):
        eng.new_order(limit("BUY", "LONG", "60000.10", "0.010"), i)
    assert len(eng.trades) == 10
    assert len(eng.orders) <= 11
    assert eng.find_order(None, "keep").is_open


def test_ioc_that_cannot_fill_expires() -> None:
    """An IOC buy below the ask does not rest: it expires at once."""
    eng = engine()
    rest, events = eng.new_order(limit("BUY", "LONG", "59000", "0.010", tif="IOC"), 1)
    assert rest["status"] == "EXPIRED"
    assert [(e["o"]["x"], e["o"]["X"]) for e in events] == [("NEW", "NEW"), ("EXPIRED", "EXPIRED")]
    assert not eng.open_orders()


def test_close_orders_beyond_the_leg_expire_when_it_shrinks() -> None:
    """Hedge mode: after a stop closes the leg, the resting take-profit on it expires."""
    eng = engine()
    eng.new_order(limit("BUY", "LONG", "60000.10", "0.010"), 1)
    eng.new_order(limit("SELL", "LONG", "61000", "0.010", cid="tp"), 2)
    stop = {
        "symbol": "BTCUSDT",
        "side": "SELL",
        "positionSide": "LONG",
        "type": "STOP_MARKET",
        "quantity": "0.010",
        "triggerPrice": "59500",
        "clientAlgoId": "sl",
    }
    eng.new_algo_order(stop, 2)
    events = walk(eng, D("59400"), 3)
    expired = [
        e["o"] for e in events if e["e"] == "ORDER_TRADE_UPDATE" and e["o"]["x"] == "EXPIRED"
    ]
    assert [o["c"] for o in expired] == ["tp"]
    assert eng.find_order(None, "tp").status == "EXPIRED"
    walk(eng, D("61500"), 4)  # the path reaches the old TP price: nothing fills
    assert eng.positions["LONG"].amt == 0
    assert len(eng.trades) == 2


def test_partial_fills_split_a_touched_order() -> None:
    """With partial fills on, each touch fills half (on the step) until the order is done."""
    eng = engine()
    eng.partial_fills = True
    eng.new_order(limit("BUY", "LONG", "59900", "0.005", cid="p"), 1)
    first = walk(eng, D("59850"), 2)
    fill = next(e["o"] for e in first if e["e"] == "ORDER_TRADE_UPDATE")
    assert (fill["X"], fill["l"], fill["z"]) == ("PARTIALLY_FILLED", "0.002", "0.002")
    for ts in (3, 4, 5):
        walk(eng, D("59800"), ts)
    order = eng.find_order(None, "p")
    assert order.status == "FILLED"
    assert [t.qty for t in eng.trades] == [D("0.002"), D("0.001"), D("0.001"), D("0.001")]


def test_liquidation_closes_every_leg_when_margin_runs_out() -> None:
    """Below maintenance margin: orders cancelled, legs closed by autoclose- CALCULATED fills."""
    eng = engine(balance="200")
    eng.new_order(limit("BUY", "LONG", "60000.10", "0.030"), 1)
    eng.new_order(limit("SELL", "LONG", "65000", "0.010", cid="rest"), 1)  # a resting close
    assert check_liquidation(eng, 2) == []  # healthy at 60000
    walk(eng, D("52000"), 3)  # upnl ~ -240 > wallet ~ 199
    events = check_liquidation(eng, 4)
    updates = [e["o"] for e in events if e["e"] == "ORDER_TRADE_UPDATE"]
    assert (updates[0]["c"], updates[0]["x"]) == ("rest", "CANCELED")
    liq = updates[-1]
    assert liq["c"].startswith("autoclose-")
    assert (liq["x"], liq["X"], liq["S"], liq["ps"], liq["L"]) == (
        "CALCULATED",
        "FILLED",
        "SELL",
        "LONG",
        "52000.00",
    )
    assert eng.positions["LONG"].amt == 0
    assert not eng.open_orders()
    assert eng.wallet < 0  # the loss exceeded the wallet (no insurance fund here)
