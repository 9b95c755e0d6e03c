"""Market and user-data WebSocket streams of the simulator, with their faults."""

from __future__ import annotations

import asyncio
import json
import time
from decimal import Decimal
from typing import Any

import aiohttp
import pytest

from hedgegridd.sim import SimBar, SimConfig, SimExchange
from tests.sim.client import SignedClient

SWING = [SimBar(Decimal("60000"), Decimal("60050"), Decimal("59950"), Decimal("60010"))] * 500
FLAT = [SimBar(Decimal("60000"), Decimal("60000"), Decimal("60000"), Decimal("60000"))] * 500


async def receive_until(
    ws: aiohttp.ClientWebSocketResponse, match: Any, limit_s: float = 20.0
) -> dict[str, Any]:
    """Read JSON messages until ``match(msg)`` is true."""
    deadline = time.monotonic() + limit_s
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError("no matching message")
        msg = await ws.receive(timeout=remaining)
        if msg.type != aiohttp.WSMsgType.TEXT:
            raise AssertionError(f"stream ended: {msg.type}")
        data = json.loads(msg.data)
        if match(data):
            return data


@pytest.mark.asyncio
async def test_combined_stream_subscribe_and_klines() -> None:
    """SUBSCRIBE is acknowledged; klines close with tick-decimal prices; quotes and marks flow."""
    async with (
        SimExchange(SimConfig(speed=1200), bars=SWING) as sim,
        aiohttp.ClientSession() as session,
    ):
        ws = await session.ws_connect(f"{sim.base_url_ws}/stream?streams=btcusdt@kline_1m")
        await ws.send_json(
            {
                "method": "SUBSCRIBE",
                "params": ["btcusdt@bookTicker", "btcusdt@markPrice"],
                "id": 7,
            }
        )
        ack = await receive_until(ws, lambda m: m.get("id") == 7)
        assert ack == {"result": None, "id": 7}
        closed = await receive_until(
            ws, lambda m: m.get("stream") == "btcusdt@kline_1m" and m["data"]["k"]["x"]
        )
        k = closed["data"]["k"]
        assert (k["o"], k["h"], k["l"], k["c"]) == (
            "60000.00",
            "60050.00",
            "59950.00",
            "60010.00",
        )
        assert k["T"] == k["t"] + 59_999
        quote = await receive_until(ws, lambda m: m.get("stream") == "btcusdt@bookTicker")
        bid, ask = Decimal(quote["data"]["b"]), Decimal(quote["data"]["a"])
        assert ask - bid == Decimal("0.1")
        mark = await receive_until(ws, lambda m: m.get("stream") == "btcusdt@markPrice")
        assert mark["data"]["r"] == "0.00010000"
        assert mark["data"]["T"] % (8 * 3_600_000) == 0
        await ws.send_json({"method": "LIST_SUBSCRIPTIONS", "id": 8})
        listed = await receive_until(ws, lambda m: m.get("id") == 8)
        assert "btcusdt@bookTicker" in listed["result"]
        await ws.send_json({"method": "UNSUBSCRIBE", "params": ["btcusdt@bookTicker"], "id": 9})
        assert await receive_until(ws, lambda m: m.get("id") == 9) == {"result": None, "id": 9}
        await ws.send_json({"method": "LIST_SUBSCRIPTIONS", "id": 10})
        listed = await receive_until(ws, lambda m: m.get("id") == 10)
        assert "btcusdt@bookTicker" not in listed["result"]
        await ws.close()
        raw = await session.ws_connect(f"{sim.base_url_ws}/ws/btcusdt@aggTrade")
        trade = await receive_until(raw, lambda m: True)
        assert (trade["e"], trade["s"]) == ("aggTrade", "BTCUSDT")  # raw payload, no wrapper
        await raw.close()


@pytest.mark.asyncio
async def test_user_stream_order_events_and_listen_key_expiry() -> None:
    """Orders push ORDER_TRADE_UPDATE; expiry pushes listenKeyExpired and kills the key."""
    async with (
        SimExchange(SimConfig(speed=1), bars=FLAT) as sim,
        aiohttp.ClientSession() as session,
    ):
        api = SignedClient(sim, session)
        _, body, _ = await api.call("POST", "/fapi/v1/listenKey", signed=False)
        key = body["listenKey"]
        _, again, _ = await api.call("POST", "/fapi/v1/listenKey", signed=False)
        assert again["listenKey"] == key  # an active key is returned again
        ws = await session.ws_connect(f"{sim.base_url_ws}/ws?listenKey={key}")
        await api.order(
            side="BUY",
            positionSide="LONG",
            price="59000",
            quantity="0.01",
            newClientOrderId="u1",
        )
        event = await receive_until(ws, lambda m: m.get("e") == "ORDER_TRADE_UPDATE")
        assert event["o"]["c"] == "u1"
        assert (event["o"]["x"], event["o"]["X"], event["o"]["ps"]) == ("NEW", "NEW", "LONG")
        assert event["o"]["p"] == "59000.00"
        await sim.expire_listen_key()
        expired = await receive_until(ws, lambda m: m.get("e") == "listenKeyExpired")
        assert expired["listenKey"] == key
        status, body, _ = await api.call("PUT", "/fapi/v1/listenKey", signed=False)
        assert (status, body["code"]) == (400, -1125)
        async with session.get(f"{sim.base_url_http}/ws?listenKey={key}") as resp:
            assert resp.status == 400
        await ws.close()


@pytest.mark.asyncio
async def test_funding_settles_into_account_update() -> None:
    """Every 8 sim-hours open legs pay amt * mark * rate via ACCOUNT_UPDATE FUNDING_FEE."""
    async with (
        SimExchange(SimConfig(speed=20_000), bars=FLAT) as sim,
        aiohttp.ClientSession() as session,
    ):
        api = SignedClient(sim, session)
        _, body, _ = await api.call("POST", "/fapi/v1/listenKey", signed=False)
        ws = await session.ws_connect(f"{sim.base_url_ws}/ws?listenKey={body['listenKey']}")
        status, _ = await api.order(
            side="BUY", positionSide="LONG", type="MARKET", quantity="0.010", timeInForce=None
        )
        assert status == 200
        wallet_after_fill = sim.engine.wallet
        event = await receive_until(
            ws, lambda m: m.get("e") == "ACCOUNT_UPDATE" and m["a"]["m"] == "FUNDING_FEE"
        )
        assert event["a"]["P"] == []  # cross margin: balance only
        assert Decimal(event["a"]["B"][0]["bc"]) == -Decimal("0.06")
        wb = Decimal(event["a"]["B"][0]["wb"])
        mark = Decimal("60000")
        assert wb - wallet_after_fill == -(Decimal("0.010") * mark * Decimal("0.0001"))
        assert sim.ticker.funding_settlements >= 1
        await ws.close()


@pytest.mark.asyncio
async def test_drop_and_stall_faults_on_market_streams() -> None:
    """Drop closes market connections server-side; stall withholds messages for a while."""
    async with (
        SimExchange(SimConfig(speed=1200), bars=SWING) as sim,
        aiohttp.ClientSession() as session,
    ):
        ws = await session.ws_connect(f"{sim.base_url_ws}/stream?streams=btcusdt@bookTicker")
        await receive_until(ws, lambda m: m.get("stream") == "btcusdt@bookTicker")
        sim.stall_streams(3.0, "market")
        # Drain what was in flight, then nothing arrives during the stall.
        await asyncio.sleep(0.05)
        while True:
            try:
                await ws.receive(timeout=0.01)
            except TimeoutError:
                break
        with pytest.raises(TimeoutError):
            await ws.receive(timeout=0.5)
        await receive_until(ws, lambda m: m.get("stream") == "btcusdt@bookTicker")
        assert await sim.drop_streams("market") == 1
        msg = await ws.receive(timeout=5)
        while msg.type == aiohttp.WSMsgType.TEXT:
            msg = await ws.receive(timeout=5)
        assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
        assert sim.hub.market_connections == 0


@pytest.mark.asyncio
async def test_listen_key_expires_without_keepalive() -> None:
    """A key not kept alive within its TTL is expired with a listenKeyExpired event."""
    config = SimConfig(speed=1200, listen_key_ttl_s=0.3)
    async with SimExchange(config, bars=FLAT) as sim, aiohttp.ClientSession() as session:
        api = SignedClient(sim, session)
        _, body, _ = await api.call("POST", "/fapi/v1/listenKey", signed=False)
        key = body["listenKey"]
        ws = await session.ws_connect(f"{sim.base_url_ws}/ws?listenKey={key}")
        event = await receive_until(ws, lambda m: m.get("e") == "listenKeyExpired")
        assert event["listenKey"] == key
        assert key not in sim.hub.listen_keys
        await ws.close()
