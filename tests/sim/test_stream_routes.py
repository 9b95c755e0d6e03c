"""Routed (/public, /market, /private) and legacy stream paths, and the control protocol."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import aiohttp
import pytest

from hedgegridd.sim import SimBar, SimConfig, SimExchange
from hedgegridd.sim.wsroutes import MARKET, PUBLIC, delivers, split_path, stream_route
from tests.sim.client import SignedClient

SWING = [SimBar(Decimal("60000"), Decimal("60050"), Decimal("59950"), Decimal("60010"))] * 500


async def read_json(ws: aiohttp.ClientWebSocketResponse, limit_s: float = 30.0) -> Any:
    """The next JSON message (generous deadline)."""
    msg = await ws.receive(timeout=limit_s)
    assert msg.type == aiohttp.WSMsgType.TEXT, msg
    return json.loads(msg.data)


async def collect(
    ws: aiohttp.ClientWebSocketResponse, done: Callable[[list[Any]], bool]
) -> list[Any]:
    """Messages until ``done(messages)``."""
    deadline = time.monotonic() + 30.0
    out: list[Any] = []
    while not done(out):
        assert time.monotonic() < deadline, f"condition not met: {out[-3:]}"
        out.append(await read_json(ws))
    return out


def test_stream_to_route_mapping() -> None:
    """bookTicker and depth are /public, the rest /market; legacy carries /public only
    unless the simulator's lenient legacy mode is on."""
    assert stream_route("btcusdt@bookTicker") == PUBLIC
    assert stream_route("btcusdt@depth20@100ms") == PUBLIC
    assert stream_route("!bookTicker") == PUBLIC
    assert stream_route("btcusdt@trade") == PUBLIC
    for name in ("btcusdt@kline_1m", "btcusdt@markPrice@1s", "btcusdt@aggTrade"):
        assert stream_route(name) == MARKET
    assert not delivers("legacy", "btcusdt@kline_1m", legacy_all=False)
    assert delivers("legacy", "btcusdt@bookTicker", legacy_all=False)
    assert delivers("legacy", "btcusdt@kline_1m", legacy_all=True)
    assert split_path("/market/stream") == ("market", "stream", "")
    assert split_path("/private/ws/KEY") == ("private", "ws", "KEY")
    assert split_path("/ws/btcusdt@aggTrade/x@y") == ("legacy", "ws", "btcusdt@aggTrade/x@y")


@pytest.mark.asyncio
async def test_routed_paths_push_their_streams_and_ack_misrouted_ones_silently() -> None:
    """/public pushes bookTicker, /market klines and marks; markPrice on /public is
    acknowledged and listed but never pushed (counted in hub.misrouted)."""
    async with (
        SimExchange(SimConfig(speed=1200), bars=SWING) as sim,
        aiohttp.ClientSession() as session,
    ):
        pub = await session.ws_connect(f"{sim.base_url_ws}/public/ws/btcusdt@bookTicker")
        await pub.send_json({"method": "SUBSCRIBE", "params": ["btcusdt@markPrice"], "id": 1})
        mkt = await session.ws_connect(
            f"{sim.base_url_ws}/market/stream?streams=btcusdt@kline_1m/btcusdt@markPrice"
        )
        marks = await collect(
            mkt, lambda m: sum(x["stream"] == "btcusdt@markPrice" for x in m) >= 3
        )
        assert {x["data"]["e"] for x in marks} >= {"markPriceUpdate"}
        got = await collect(pub, lambda m: sum(x.get("e") == "bookTicker" for x in m) >= 20)
        assert {"result": None, "id": 1} in got
        assert not [x for x in got if x.get("e") == "markPriceUpdate"]
        await pub.send_json({"method": "LIST_SUBSCRIPTIONS", "id": 2})
        listed = await collect(pub, lambda m: bool(m) and m[-1].get("id") == 2)
        assert listed[-1]["result"] == ["btcusdt@bookTicker", "btcusdt@markPrice"]
        assert sim.hub.misrouted["public"] == 1
        assert sim.hub.route_connects["public"] == 1
        assert sim.hub.route_connects["market"] == 1
        await pub.close()
        await mkt.close()


@pytest.mark.asyncio
async def test_unknown_streams_and_control_errors() -> None:
    """SUBSCRIBE to streams the simulator lacks answers code 2 "invalid stream" (names in
    the URL are ignored); SET/GET_PROPERTY combined and the documented error objects."""
    async with (
        SimExchange(SimConfig(speed=1200), bars=SWING) as sim,
        aiohttp.ClientSession() as session,
    ):
        ws = await session.ws_connect(f"{sim.base_url_ws}/market/ws")
        cases: list[tuple[dict[str, Any], dict[str, Any]]] = [
            (
                {"method": "SUBSCRIBE", "params": ["btcusdt@kline_5m"], "id": 1},
                {"error": {"code": 2, "msg": "Invalid request: invalid stream"}, "id": 1},
            ),
            (
                {"method": "SUBSCRIBE", "params": ["ethusdt@kline_1m"], "id": 2},
                {"error": {"code": 2, "msg": "Invalid request: invalid stream"}, "id": 2},
            ),
            (
                {"method": "GET_PROPERTY", "params": ["combined"], "id": 3},
                {"result": False, "id": 3},
            ),
            (
                {"method": "SET_PROPERTY", "params": ["combined", True], "id": 4},
                {"result": None, "id": 4},
            ),
            (
                {"method": "GET_PROPERTY", "params": ["combined"], "id": 5},
                {"result": True, "id": 5},
            ),
            (
                {"method": "SET_PROPERTY", "params": ["combined", "yes"], "id": 6},
                {"error": {"code": 1, "msg": "Invalid value type: expected Boolean"}, "id": 6},
            ),
            (
                {"method": "GET_PROPERTY", "params": ["speed"], "id": 7},
                {"error": {"code": 0, "msg": "Unknown property"}, "id": 7},
            ),
            ({"method": "LIST_SUBSCRIPTIONS", "id": 8}, {"result": [], "id": 8}),
        ]
        for request, reply in cases:
            await ws.send_json(request)
            assert await read_json(ws) == reply
        await ws.send_json({"method": "LIST_SUBSCRIPTIONS", "id": "x"})
        bad_id = await read_json(ws)
        assert bad_id["error"]["code"] == 2
        assert "unsigned integer" in bad_id["error"]["msg"]
        await ws.send_json({"method": "SUBSCRIBE", "params": ["btcusdt@aggTrade"], "id": 9})
        assert await read_json(ws) == {"result": None, "id": 9}
        trade = await collect(ws, lambda m: bool(m) and "stream" in m[-1])
        assert trade[-1]["stream"] == "btcusdt@aggTrade"  # combined framing after SET_PROPERTY
        await ws.close()
        url = await session.ws_connect(f"{sim.base_url_ws}/market/ws/btcusdt@nothing/x-1")
        await url.send_json({"method": "LIST_SUBSCRIPTIONS", "id": 10})
        assert await read_json(url) == {"result": [], "id": 10}  # ignored, no error frame
        assert sim.hub.ignored_url_streams == 2
        await url.close()


@pytest.mark.asyncio
async def test_strict_legacy_paths_carry_public_data_only() -> None:
    """With legacy_all off (Binance since the retirement) /stream pushes bookTicker but
    not klines."""
    async with (
        SimExchange(SimConfig(speed=1200), bars=SWING) as sim,
        aiohttp.ClientSession() as session,
    ):
        sim.hub.legacy_all = False
        ws = await session.ws_connect(
            f"{sim.base_url_ws}/stream?streams=btcusdt@kline_1m/btcusdt@bookTicker"
        )
        got = await collect(ws, lambda m: len(m) >= 30)
        assert {x["stream"] for x in got} == {"btcusdt@bookTicker"}
        assert sim.hub.misrouted["legacy"] == 1
        await ws.close()


@pytest.mark.asyncio
async def test_private_route_user_stream_with_event_filter_and_combined_mode() -> None:
    """/private/ws?listenKey=K&events=... pushes only the named events; /private/stream
    wraps them as {"stream": K, "data": ...}; /private/ws/K and SUBSCRIBE [K] are raw."""
    async with (
        SimExchange(SimConfig(speed=1), bars=SWING) as sim,
        aiohttp.ClientSession() as session,
    ):
        api = SignedClient(sim, session)
        _, body, _ = await api.call("POST", "/fapi/v1/listenKey", signed=False)
        key = body["listenKey"]
        base = sim.base_url_ws
        only_acct = await session.ws_connect(
            f"{base}/private/ws?listenKey={key}&events=ACCOUNT_UPDATE"
        )
        combined = await session.ws_connect(
            f"{base}/private/stream?listenKey={key}&events=ORDER_TRADE_UPDATE/ACCOUNT_UPDATE"
        )
        raw = await session.ws_connect(f"{base}/private/ws/{key}")
        by_subscribe = await session.ws_connect(f"{base}/private/ws")
        await by_subscribe.send_json({"method": "SUBSCRIBE", "params": [key], "id": 1})
        assert await read_json(by_subscribe) == {"result": None, "id": 1}
        assert sim.hub.route_connects["private"] == 4
        status, _ = await api.order(
            side="BUY", positionSide="LONG", type="MARKET", quantity="0.010", timeInForce=None
        )
        assert status == 200
        first = await read_json(only_acct)
        assert first["e"] == "ACCOUNT_UPDATE"
        wrapped = await collect(combined, lambda m: len(m) >= 2)
        assert {m["stream"] for m in wrapped} == {key}
        assert {m["data"]["e"] for m in wrapped} <= {"ORDER_TRADE_UPDATE", "ACCOUNT_UPDATE"}
        plain = await collect(raw, lambda m: any(x["e"] == "TRADE_LITE" for x in m))
        assert "ORDER_TRADE_UPDATE" in {x["e"] for x in plain}
        subscribed = await collect(by_subscribe, lambda m: len(m) >= 1)
        assert subscribed[0]["e"] in {"ORDER_TRADE_UPDATE", "TRADE_LITE", "ACCOUNT_UPDATE"}
        async with session.get(f"{base}/private/ws?listenKey=nope") as resp:
            assert resp.status == 400
            assert (await resp.json())["code"] == -1125
        for ws in (only_acct, combined, raw, by_subscribe):
            await ws.close()
