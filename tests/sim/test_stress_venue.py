"""Venue faults for stress tests: stream stalls (delay/drop), restart, hedge mode off, routes."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from hedgegridd.sim import SimConfig, SimExchange
from tests.sim.client import SignedClient
from tests.sim.market_watch import until
from tests.sim.test_control import FLAT, fault
from tests.sim.test_stress_market import SWING


@pytest_asyncio.fixture
async def api() -> AsyncIterator[SignedClient]:
    """A simulator on a flat path (fast clock) and a signed client."""
    async with (
        SimExchange(SimConfig(speed=600), bars=FLAT * 100) as sim,
        aiohttp.ClientSession() as session,
    ):
        yield SignedClient(sim, session)


class UserStream:
    """A user-data-stream connection recording every event."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.events: list[dict[str, Any]] = []
        self.closed = False
        self._task = asyncio.create_task(self._pump())

    async def _pump(self) -> None:
        async for msg in self.ws:
            if msg.type == aiohttp.WSMsgType.TEXT:
                self.events.append(json.loads(msg.data))
        self.closed = True

    def order_ids(self) -> list[str]:
        """Client ids of the ORDER_TRADE_UPDATE events, in arrival order."""
        return [e["o"]["c"] for e in self.events if e.get("e") == "ORDER_TRADE_UPDATE"]

    async def close(self) -> None:
        """Close the connection and stop recording."""
        self._task.cancel()
        await self.ws.close()


async def user_stream(api: SignedClient) -> UserStream:
    """A new listenKey and its user stream."""
    status, body, _ = await api.call("POST", "/fapi/v1/listenKey", signed=False)
    assert status == 200
    ws = await api.session.ws_connect(f"{api.sim.base_url_ws}/ws?listenKey={body['listenKey']}")
    return UserStream(ws)


async def rest_order(api: SignedClient, cid: str, price: str = "59000") -> None:
    """A resting BUY LONG order with client id ``cid``."""
    status, body = await api.order(
        side="BUY", positionSide="LONG", price=price, quantity="0.010", newClientOrderId=cid
    )
    assert status == 200, body


@pytest.mark.asyncio
async def test_user_stall_delay_delivers_withheld_events_in_order(api: SignedClient) -> None:
    """mode=delay: nothing arrives during the stall, then every event in order."""
    stream = await user_stream(api)
    assert (await fault(api, "stall_streams", {"seconds": 1.0, "kind": "user", "mode": "delay"}))[
        0
    ] == 200
    for cid in ("d1", "d2", "d3"):
        await rest_order(api, cid)
    assert stream.order_ids() == []
    await until(lambda: len(stream.order_ids()) == 3, "the delayed events")
    assert stream.order_ids() == ["d1", "d2", "d3"]
    await rest_order(api, "d4")
    await until(lambda: "d4" in stream.order_ids(), "a live event after the stall")
    assert stream.order_ids() == ["d1", "d2", "d3", "d4"]
    await stream.close()


@pytest.mark.asyncio
async def test_user_stall_drop_loses_events_but_rest_shows_them(api: SignedClient) -> None:
    """mode=drop: events in the window are lost for good; openOrders still lists the orders."""
    stream = await user_stream(api)
    api.sim.stall_streams(0.5, "user", "drop")
    await rest_order(api, "lost")
    await until(lambda: not api.sim.faults.is_stalled("user"), "the stall to end")
    await rest_order(api, "after")
    await until(lambda: "after" in stream.order_ids(), "the event after the stall")
    assert stream.order_ids() == ["after"]
    assert api.sim.hub.dropped["user"] >= 1
    _, orders, _ = await api.call("GET", "/fapi/v1/openOrders", {"symbol": "BTCUSDT"})
    assert {o["clientOrderId"] for o in orders} == {"lost", "after"}
    await stream.close()


@pytest.mark.asyncio
@pytest.mark.parametrize("mode", ["delay", "drop"])
async def test_market_stall_modes(mode: str) -> None:
    """Market stalls: delay keeps the aggTrade id sequence whole, drop leaves a hole."""
    async with (
        SimExchange(SimConfig(speed=600), bars=SWING) as sim,
        aiohttp.ClientSession() as session,
    ):
        ws = await session.ws_connect(f"{sim.base_url_ws}/ws/btcusdt@aggTrade")
        ids: list[int] = []

        async def pump() -> None:
            async for msg in ws:
                ids.append(json.loads(msg.data)["a"])

        task = asyncio.create_task(pump())
        await until(lambda: len(ids) >= 3, "trades before the stall")
        sim.stall_streams(0.3, "market", mode)
        before = len(ids)
        await until(lambda: not sim.faults.is_stalled("market"), "the stall to end")
        await until(lambda: len(ids) >= before + 20, "trades after the stall")
        gaps = [b - a for a, b in itertools.pairwise(ids) if b - a != 1]
        if mode == "delay":
            assert gaps == []
        else:
            assert len(gaps) == 1
            assert gaps[0] > 1
        task.cancel()
        await ws.close()


@pytest.mark.asyncio
async def test_restart_drops_everything_then_serves_the_same_account(api: SignedClient) -> None:
    """Restart: sockets closed, 503 and refused upgrades while down, keys invalid, state kept."""
    sim = api.sim
    await api.order(
        side="BUY", positionSide="LONG", type="MARKET", quantity="0.010", timeInForce=None
    )
    await rest_order(api, "resting")
    _, old_key, _ = await api.call("POST", "/fapi/v1/listenKey", signed=False)
    stream = await user_stream(api)
    market = await api.session.ws_connect(f"{sim.base_url_ws}/ws/btcusdt@aggTrade")
    wallet = sim.engine.wallet
    status, body = await fault(api, "restart", {"down_s": 1.0})
    assert (status, body["closed"]) == (200, 2)
    await until(lambda: stream.closed, "the user stream to close")
    msg = await market.receive(timeout=10)
    while msg.type == aiohttp.WSMsgType.TEXT:
        msg = await market.receive(timeout=10)
    assert msg.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
    assert (await api.call("GET", "/fapi/v1/time", signed=False))[0] == 503
    assert (await api.call("GET", "/fapi/v1/openOrders", {"symbol": "BTCUSDT"}))[0] == 503
    with pytest.raises(aiohttp.WSServerHandshakeError) as err:
        await api.session.ws_connect(f"{sim.base_url_ws}/ws/btcusdt@aggTrade")
    assert err.value.status == 503
    state = await (await api.session.get(f"{sim.base_url_http}/_sim/state")).json()
    assert state["down"] is True
    await until(lambda: not sim.faults.is_down(), "the venue to come back")
    status, body, _ = await api.call(
        "PUT", "/fapi/v1/listenKey", {"listenKey": old_key["listenKey"]}, signed=False
    )
    assert (status, body["code"]) == (400, -1125)
    fresh = await user_stream(api)
    await rest_order(api, "after-restart", "58000")
    await until(lambda: "after-restart" in fresh.order_ids(), "an event on the new listenKey")
    _, orders, _ = await api.call("GET", "/fapi/v1/openOrders", {"symbol": "BTCUSDT"})
    assert {o["clientOrderId"] for o in orders} == {"resting", "after-restart"}
    assert sim.engine.positions["LONG"].amt == Decimal("0.010")
    assert sim.engine.wallet == wallet
    again = await api.session.ws_connect(f"{sim.base_url_ws}/ws/btcusdt@aggTrade")
    assert (await again.receive(timeout=10)).type == aiohttp.WSMsgType.TEXT
    await again.close()
    await fresh.close()
    await stream.close()
    await market.close()


@pytest.mark.asyncio
async def test_hedge_mode_off_over_http_gives_4061_until_switched_back(api: SignedClient) -> None:
    """hedge_mode off: GET dual is false and LONG/SHORT orders get -4061; on again: accepted."""
    await fault(api, "hedge_mode", {"enabled": False})
    _, dual, _ = await api.call("GET", "/fapi/v1/positionSide/dual")
    assert dual == {"dualSidePosition": False}
    status, body = await api.order(
        side="SELL", positionSide="SHORT", price="61000", quantity="0.010"
    )
    assert (status, body["code"], body["msg"]) == (
        400,
        -4061,
        "Order's position side does not match user's setting.",
    )
    await fault(api, "hedge_mode", {"enabled": True})
    _, dual, _ = await api.call("GET", "/fapi/v1/positionSide/dual")
    assert dual == {"dualSidePosition": True}
    status, _ = await api.order(side="SELL", positionSide="SHORT", price="61000", quantity="0.010")
    assert status == 200


@pytest.mark.asyncio
async def test_scenario_routes_schedule_list_and_clear(api: SignedClient) -> None:
    """POST /_sim/scenario validates and schedules, GET lists, DELETE clears (no snap back)."""
    base = f"{api.sim.base_url_http}/_sim/scenario"
    async with api.session.post(base, json={"kind": "crash", "pct": 10, "seconds": 30}) as r:
        assert r.status == 400
        assert "'pct' must be negative" in (await r.json())["error"]
    steps = [
        {"kind": "bleed", "pct": -5, "minutes": 600},
        {"kind": "gap", "pct": -1, "at_s": 86_400},
    ]
    async with api.session.post(base, json={"steps": steps}) as r:
        assert r.status == 200
        assert [s["kind"] for s in (await r.json())["scheduled"]] == ["bleed", "gap"]
    await until(lambda: api.sim.shaper.moves, "the bleed to start")
    async with api.session.get(base) as r:
        listed = await r.json()
    assert [s["kind"] for s in listed["active"]] == ["bleed"]
    assert [s["kind"] for s in listed["pending"]] == ["gap"]
    await until(lambda: api.sim.engine.price < 59_990, "the bleed to move the price")
    async with api.session.delete(base) as r:
        assert r.status == 200
    level = api.sim.engine.price
    assert api.sim.director.idle
    n = api.sim.ticker.bar_index
    await until(lambda: api.sim.ticker.bar_index >= n + 2, "two more bars")
    assert api.sim.engine.price == level


@pytest.mark.asyncio
async def test_premium_and_funding_routes_and_state(api: SignedClient) -> None:
    """mark_premium/funding_rate routes change the mark and rate; /_sim/state reports them."""
    status, body = await fault(api, "mark_premium", {"bps": "-100"})
    assert (status, body["mark"]) == (200, "59400.00")
    status, body = await fault(api, "funding_rate", {"rate": "-0.002"})
    assert (status, body["funding_rate"]) == (200, "-0.00200000")
    assert (await fault(api, "mark_premium", {}))[0] == 400
    assert (await fault(api, "funding_rate", {"rate": "1"}))[0] == 400
    assert (await fault(api, "stall_streams", {"seconds": 1, "mode": "later"}))[0] == 400
    assert (await fault(api, "restart", {"down_s": -1}))[0] == 400
    async with api.session.get(f"{api.sim.base_url_http}/_sim/state") as r:
        state = await r.json()
    assert (state["last"], state["mark"], state["funding_rate"]) == (
        "60000.00",
        "59400.00",
        "-0.00200000",
    )
    assert (await fault(api, "funding_rate", {"rate": None}))[1]["funding_rate"] == "0.00010000"
