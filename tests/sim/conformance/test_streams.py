"""User data and market streams through Binance's connector WebSocket client, on the
routed (/public, /market, /private) and legacy paths."""

from __future__ import annotations

from typing import Any

import pytest

from tests.sim.conformance.harness import WsInbox, connector, in_thread, running_sim


@pytest.mark.asyncio
async def test_user_data_stream_on_private_route() -> None:
    """User Data Streams ("Start User Data Stream", base wss://fstream.binance.com/private):
    a fill pushes "Event: Order Update" (ORDER_TRADE_UPDATE) and "Event: Balance and
    Position Update" (ACCOUNT_UPDATE, reason ORDER)."""
    async with running_sim() as sim:
        client = connector(sim)
        key = (await in_thread(client.new_listen_key))["listenKey"]
        inbox = WsInbox(f"{sim.base_url_ws}/private")
        ws = await inbox.open()
        try:
            await in_thread(ws.user_data, listen_key=key, id=1)
            await inbox.until(lambda m: m.get("id") == 1 and "result" in m)
            placed = await in_thread(
                client.new_order,
                symbol="BTCUSDT",
                side="BUY",
                positionSide="LONG",
                type="MARKET",
                quantity="0.010",
            )
            seen = await inbox.until(
                lambda m: m.get("e") == "ACCOUNT_UPDATE" and m["a"]["m"] == "ORDER"
            )
            orders = [m for m in seen if m.get("e") == "ORDER_TRADE_UPDATE"]
            assert orders, seen
            assert orders[-1]["o"]["i"] == placed["orderId"]
            assert orders[-1]["o"]["X"] == "FILLED"
            assert orders[-1]["o"]["ps"] == "LONG"
            account = seen[-1]["a"]
            assert [p["ps"] for p in account["P"] if p["pa"] != "0"] == ["LONG"]
            assert sim.hub.route_connects["private"] == 1
        finally:
            await inbox.close()


@pytest.mark.asyncio
async def test_market_streams_on_routed_paths() -> None:
    """Websocket Market Streams (routed endpoints): "Kline/Candlestick Streams" and
    "Mark Price Stream" on /market, "Individual Symbol Book Ticker Streams" on /public."""
    async with running_sim(speed=1200) as sim:
        market = WsInbox(f"{sim.base_url_ws}/market")
        public = WsInbox(f"{sim.base_url_ws}/public", is_combined=True)
        kl = await market.open()
        bt = await public.open()
        try:
            await in_thread(kl.kline, symbol="btcusdt", interval="1m")
            await in_thread(kl.mark_price, symbol="btcusdt", speed=1)
            await in_thread(bt.book_ticker, symbol="btcusdt")
            seen = await market.until(lambda m: m.get("e") == "kline")
            assert seen[-1]["k"]["i"] == "1m"
            await market.until(lambda m: m.get("e") == "markPriceUpdate")
            quote = await public.until(lambda m: m.get("stream") == "btcusdt@bookTicker")
            assert quote[-1]["data"]["s"] == "BTCUSDT"
            assert sim.hub.route_connects["market"] == sim.hub.route_connects["public"] == 1
        finally:
            await market.close()
            await public.close()


@pytest.mark.asyncio
async def test_market_stream_on_wrong_route_is_not_pushed() -> None:
    """Important WebSocket Change Notice: a /market stream (markPrice) subscribed on
    /public is acknowledged but never pushed, while /public data flows."""
    async with running_sim(speed=1200) as sim:
        public = WsInbox(f"{sim.base_url_ws}/public")
        ws = await public.open()
        try:
            await in_thread(ws.mark_price, symbol="btcusdt", speed=1, id=5)
            await in_thread(ws.book_ticker, symbol="btcusdt", id=6)
            seen = await public.until(lambda m: m.get("id") == 6)
            assert {"result": None, "id": 5} in seen
            count = 0
            while count < 20:
                batch = await public.until(lambda m: m.get("e") == "bookTicker")
                assert not [m for m in batch if m.get("e") == "markPriceUpdate"]
                count += 1
            assert sim.hub.misrouted["public"] == 1
        finally:
            await public.close()


@pytest.mark.asyncio
async def test_legacy_paths_carry_public_streams() -> None:
    """Websocket Market Streams: connections without a routed path (/ws, /stream) receive
    /public data ("Individual Symbol Book Ticker Streams")."""
    async with running_sim(speed=1200) as sim:
        raw = WsInbox(sim.base_url_ws)
        combined = WsInbox(sim.base_url_ws, is_combined=True)
        a = await raw.open()
        b = await combined.open()
        try:
            await in_thread(a.book_ticker, symbol="btcusdt")
            await in_thread(b.book_ticker, symbol="btcusdt")
            await raw.until(lambda m: m.get("e") == "bookTicker")
            await combined.until(lambda m: m.get("stream") == "btcusdt@bookTicker")
            assert sim.hub.route_connects["legacy"] == 2
        finally:
            await raw.close()
            await combined.close()


@pytest.mark.asyncio
async def test_unknown_stream_subscription_is_refused() -> None:
    """Live Subscribing/Unsubscribing "Error Messages": SUBSCRIBE to a stream that does
    not exist answers code 2 "Invalid request: invalid stream"; LIST_SUBSCRIPTIONS
    lists only what was accepted."""
    async with running_sim() as sim:
        inbox = WsInbox(f"{sim.base_url_ws}/market")
        ws = await inbox.open()
        try:
            await in_thread(ws.agg_trade, symbol="nopeusdt", id=3)
            seen = await inbox.until(lambda m: m.get("id") == 3)
            assert seen[-1]["error"] == {"code": 2, "msg": "Invalid request: invalid stream"}
            await in_thread(ws.agg_trade, symbol="btcusdt", id=4)
            await inbox.until(lambda m: m.get("id") == 4)
            await in_thread(ws.list_subscribe, id=7)
            listed = await inbox.until(lambda m: m.get("id") == 7)
            assert listed[-1]["result"] == ["btcusdt@aggTrade"]
        finally:
            await inbox.close()


@pytest.mark.asyncio
async def test_streams_of_several_symbols_on_one_connection() -> None:
    """Websocket Market Streams (stream mode, combined): klines and marks of two symbols on
    one /market connection, each message naming its own stream and symbol."""
    async with running_sim(speed=1200, symbols=("BTCUSDT", "ETHUSDT")) as sim:
        inbox = WsInbox(f"{sim.base_url_ws}/market", is_combined=True)
        ws = await inbox.open()
        try:
            await in_thread(
                ws.subscribe,
                ["btcusdt@kline_1m", "ethusdt@kline_1m", "ethusdt@markPrice@1s"],
                id=1,
            )
            names: set[str] = set()
            wanted = {"btcusdt@kline_1m", "ethusdt@kline_1m", "ethusdt@markPrice@1s"}

            def all_seen(m: dict[str, Any]) -> bool:
                if "stream" in m:
                    assert m["data"]["s"] == m["stream"].split("@")[0].upper()
                    names.add(m["stream"])
                return names >= wanted

            await inbox.until(all_seen)
        finally:
            await inbox.close()
