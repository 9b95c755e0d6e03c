"""Hedge-mode orders, their errors, batch and algo orders through third-party clients."""

from __future__ import annotations

import json
from decimal import Decimal

import ccxt
import pytest
from binance.error import ClientError

from tests.sim.conformance.harness import SYMBOL, ccxt_client, connector, in_thread, running_sim


def _on_tick(price: Decimal, tick: Decimal) -> str:
    return str((price / tick).to_integral_value() * tick)


async def _touch(ex: ccxt.Exchange) -> tuple[float, float]:
    book = await ex.fetch_order_book(SYMBOL, limit=5)
    return book["bids"][0][0], book["asks"][0][0]


@pytest.mark.asyncio
async def test_limit_order_with_position_side_then_cancel() -> None:
    """Trade REST "New Order" (LIMIT GTC, positionSide LONG), "Current All Open Orders",
    "Cancel Order"."""
    async with running_sim() as sim, ccxt_client(sim) as ex:
        await ex.load_markets()
        bid, _ = await _touch(ex)
        price = round(bid * 0.95, 1)
        order = await ex.create_order(SYMBOL, "limit", "buy", 0.01, price, {"positionSide": "LONG"})
        assert order["status"] == "open"
        assert order["info"]["positionSide"] == "LONG"
        open_ids = [o["id"] for o in await ex.fetch_open_orders(SYMBOL)]
        assert open_ids == [order["id"]]
        cancelled = await ex.cancel_order(order["id"], SYMBOL)
        assert cancelled["status"] == "canceled"
        assert await ex.fetch_open_orders(SYMBOL) == []
        assert sim.seen("/fapi/v1/order", "DELETE")


@pytest.mark.asyncio
async def test_market_open_and_reduce_by_opposite_side() -> None:
    """Trade REST "New Order" in Hedge Mode: BUY LONG opens, SELL LONG closes the leg;
    SELL SHORT opens the other leg independently."""
    async with running_sim() as sim, ccxt_client(sim) as ex:
        await ex.load_markets()
        await ex.create_order(SYMBOL, "market", "buy", 0.02, None, {"positionSide": "LONG"})
        await ex.create_order(SYMBOL, "market", "sell", 0.01, None, {"positionSide": "SHORT"})
        await ex.create_order(SYMBOL, "market", "sell", 0.02, None, {"positionSide": "LONG"})
        legs = sim.engine.positions
        assert legs["LONG"].amt == 0
        assert legs["SHORT"].amt == Decimal("-0.010")
        trades = await ex.fetch_my_trades(SYMBOL)
        assert len(trades) == 3


@pytest.mark.asyncio
async def test_order_errors_map_to_ccxt_exceptions() -> None:
    """ "Error Codes": -2019 Margin is insufficient -> InsufficientFunds, -4164 notional
    below minimum -> InvalidOrder, -2022 over-sized hedge close -> InvalidOrder, -1121
    Invalid symbol -> BadSymbol."""
    async with running_sim() as sim, ccxt_client(sim) as ex:
        await ex.load_markets()
        bid, _ = await _touch(ex)
        price = round(bid * 0.99, 1)
        with pytest.raises(ccxt.InsufficientFunds):
            await ex.create_order(SYMBOL, "limit", "buy", 50, price, {"positionSide": "LONG"})
        with pytest.raises(ccxt.InvalidOrder):
            await ex.create_order(SYMBOL, "limit", "buy", 0.001, price, {"positionSide": "LONG"})
        with pytest.raises(ccxt.InvalidOrder):
            await ex.create_order(SYMBOL, "market", "sell", 0.01, None, {"positionSide": "LONG"})
        with pytest.raises(ccxt.BadSymbol):
            await ex.fapiPublicGetKlines({"symbol": "NOPEUSDT", "interval": "1m"})
        assert {-2019, -4164, -2022} <= set(sim.order_rejections)


@pytest.mark.asyncio
async def test_connector_batch_orders() -> None:
    """Trade REST "Place Multiple Orders": two hedge-mode limits in one batch (the
    connector percent-encodes the JSON list in the signed query)."""
    async with running_sim() as sim:
        client = connector(sim)
        book = await in_thread(client.depth, "BTCUSDT", limit=5)
        bid = Decimal(book["bids"][0][0])
        batch = [
            {
                "symbol": "BTCUSDT",
                "side": side,
                "positionSide": leg,
                "type": "LIMIT",
                "timeInForce": "GTC",
                "quantity": "0.010",
                "price": _on_tick(bid * factor, sim.spec.tick_size),
            }
            for side, leg, factor in (
                ("BUY", "LONG", Decimal("0.95")),
                ("SELL", "SHORT", Decimal("1.05")),
            )
        ]
        replies = await in_thread(client.new_batch_order, batch)
        assert [r.get("positionSide") for r in replies] == ["LONG", "SHORT"], json.dumps(replies)
        assert all(r["status"] == "NEW" for r in replies)
        assert len(sim.engine.open_orders()) == 2


@pytest.mark.asyncio
async def test_algo_stop_and_take_profit_via_ccxt() -> None:
    """Trade REST "New Algo Order" (STOP_MARKET and TAKE_PROFIT_MARKET, positionSide LONG),
    "Current All Algo Open Orders", "Cancel Algo Order"."""
    async with running_sim() as sim, ccxt_client(sim) as ex:
        await ex.load_markets()
        await ex.create_order(SYMBOL, "market", "buy", 0.02, None, {"positionSide": "LONG"})
        bid, _ = await _touch(ex)
        stop = await ex.create_order(
            SYMBOL,
            "STOP_MARKET",
            "sell",
            0.01,
            None,
            {"positionSide": "LONG", "triggerPrice": round(bid * 0.9, 1)},
        )
        take = await ex.create_order(
            SYMBOL,
            "TAKE_PROFIT_MARKET",
            "sell",
            0.01,
            None,
            {"positionSide": "LONG", "triggerPrice": round(bid * 1.1, 1)},
        )
        assert sim.seen("/fapi/v1/algoOrder", "POST")
        assert not [r for r in sim.seen("/fapi/v1/order", "POST") if "STOP" in str(r.params)]
        listed = await ex.fetch_open_orders(SYMBOL, params={"trigger": True})
        assert {o["id"] for o in listed} == {stop["id"], take["id"]}
        await ex.cancel_order(stop["id"], SYMBOL, {"trigger": True})
        left = await ex.fetch_open_orders(SYMBOL, params={"trigger": True})
        assert [o["id"] for o in left] == [take["id"]]


@pytest.mark.asyncio
async def test_algo_conditional_types_via_connector() -> None:
    """Trade REST "New Algo Order": STOP (limit) with workingType MARK_PRICE and a
    closePosition TAKE_PROFIT_MARKET are accepted as CONDITIONAL algo orders."""
    async with running_sim() as sim:
        client = connector(sim)
        book = await in_thread(client.depth, "BTCUSDT", limit=5)
        bid = Decimal(book["bids"][0][0])
        tick = sim.spec.tick_size
        base = {"algoType": "CONDITIONAL", "symbol": "BTCUSDT", "positionSide": "LONG"}
        stop_limit = await in_thread(
            client.sign_request,
            "POST",
            "/fapi/v1/algoOrder",
            {
                **base,
                "side": "SELL",
                "type": "STOP",
                "quantity": "0.010",
                "price": _on_tick(bid * Decimal("0.89"), tick),
                "triggerPrice": _on_tick(bid * Decimal("0.9"), tick),
                "timeInForce": "GTC",
                "workingType": "MARK_PRICE",
            },
        )
        assert stop_limit["orderType"] == "STOP"
        assert stop_limit["workingType"] == "MARK_PRICE"
        close_all = await in_thread(
            client.sign_request,
            "POST",
            "/fapi/v1/algoOrder",
            {
                **base,
                "side": "SELL",
                "type": "TAKE_PROFIT_MARKET",
                "triggerPrice": _on_tick(bid * Decimal("1.1"), tick),
                "closePosition": "true",
            },
        )
        assert close_all["closePosition"] is True
        opened = await in_thread(client.sign_request, "GET", "/fapi/v1/openAlgoOrders", {})
        assert {o["algoId"] for o in opened} == {stop_limit["algoId"], close_all["algoId"]}


@pytest.mark.asyncio
async def test_conditional_type_on_order_endpoint_points_to_algo_api() -> None:
    """ "Error Codes" -4120: STOP_MARKET on /fapi/v1/order is refused with the pointer to
    the Algo Order API."""
    async with running_sim() as sim:
        client = connector(sim)
        with pytest.raises(ClientError) as info:
            await in_thread(
                client.new_order,
                symbol="BTCUSDT",
                side="SELL",
                positionSide="LONG",
                type="STOP_MARKET",
                quantity="0.010",
                stopPrice="1000",
            )
        assert info.value.error_code == -4120
        assert "Algo Order API" in info.value.error_message
        assert sim.order_rejections[-4120] == 1
