"""The ``/_sim`` HTTP fault-injection and inspection API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
import pytest_asyncio

from hedgegridd.sim import SimBar, SimConfig, SimExchange
from tests.sim.client import SignedClient

FLAT = [SimBar(Decimal("60000"), Decimal("60000"), Decimal("60000"), Decimal("60000"))] * 50


@pytest_asyncio.fixture
async def api() -> AsyncIterator[SignedClient]:
    """A simulator on a flat path (slow clock) and a signed client."""
    async with (
        SimExchange(SimConfig(speed=1), bars=FLAT) as sim,
        aiohttp.ClientSession() as session,
    ):
        yield SignedClient(sim, session)


async def fault(api: SignedClient, name: str, body: dict[str, Any]) -> tuple[int, Any]:
    """POST /_sim/faults/<name>."""
    async with api.session.post(f"{api.sim.base_url_http}/_sim/faults/{name}", json=body) as r:
        return r.status, await r.json()


@pytest.mark.asyncio
async def test_reject_orders_and_server_errors_over_http(api: SignedClient) -> None:
    """reject_orders fails the next N placements with the code; server_errors answers 5xx."""
    assert (await fault(api, "reject_orders", {"count": 1, "code": -4164}))[0] == 200
    status, body = await api.order(side="BUY", positionSide="LONG", price="59000", quantity="0.01")
    assert (status, body["code"]) == (400, -4164)
    status, body = await api.order(side="BUY", positionSide="LONG", price="59000", quantity="0.01")
    assert status == 200
    assert (await fault(api, "server_errors", {"count": 2, "status": 502}))[0] == 200
    statuses = [(await api.call("GET", "/fapi/v1/time", signed=False))[0] for _ in range(3)]
    assert statuses == [502, 502, 200]


@pytest.mark.asyncio
async def test_latency_price_jump_hedge_mode_and_weight_over_http(api: SignedClient) -> None:
    """latency, price_jump, hedge_mode and weight_limit change what the venue does."""
    assert (await fault(api, "latency", {"seconds": 0.2}))[0] == 200
    assert api.sim.faults.latency_for("/fapi/v1/time") == 0.2
    assert (await api.call("GET", "/fapi/v1/time", signed=False))[0] == 200
    status, body = await fault(api, "price_jump", {"pct": "-5"})
    assert (status, body["price"]) == (200, "57000.00")
    _, ticker, _ = await api.call(
        "GET", "/fapi/v1/ticker/bookTicker", {"symbol": "BTCUSDT"}, signed=False
    )
    assert ticker["bidPrice"] == "57000.00"
    assert (await fault(api, "hedge_mode", {"enabled": False}))[0] == 200
    _, dual, _ = await api.call("GET", "/fapi/v1/positionSide/dual")
    assert dual == {"dualSidePosition": False}
    assert (await fault(api, "partial_fills", {"enabled": True}))[0] == 200
    assert api.sim.engine.partial_fills
    assert (await fault(api, "weight_limit", {"limit": 0}))[0] == 200
    assert (await api.call("GET", "/fapi/v1/time", signed=False))[0] == 429
    assert (await fault(api, "clear", {}))[0] == 200
    assert (await api.call("GET", "/fapi/v1/time", signed=False))[0] == 200
    assert api.sim.faults.latency_s == 0
    assert not api.sim.engine.partial_fills


@pytest.mark.asyncio
async def test_stream_faults_and_inspection_over_http(api: SignedClient) -> None:
    """drop_streams, stall_streams, expire_listen_key answer; requests/state report."""
    _, body, _ = await api.call("POST", "/fapi/v1/listenKey", signed=False)
    ws = await api.session.ws_connect(f"{api.sim.base_url_ws}/ws?listenKey={body['listenKey']}")
    status, body = await fault(api, "expire_listen_key", {})
    assert (status, body["expired"]) == (200, 1)
    status, body = await fault(api, "drop_streams", {"kind": "user"})
    assert (status, body["closed"]) == (200, 1)
    assert (await fault(api, "stall_streams", {"seconds": 1, "kind": "market"}))[0] == 200
    assert api.sim.faults.is_stalled("market")
    await ws.close()
    async with api.session.get(f"{api.sim.base_url_http}/_sim/requests?prefix=/fapi/v1/") as r:
        rows = (await r.json())["requests"]
    assert {"method": "POST", "path": "/fapi/v1/listenKey"} in [
        {"method": x["method"], "path": x["path"]} for x in rows
    ]
    async with api.session.get(f"{api.sim.base_url_http}/_sim/state") as r:
        state = await r.json()
    assert state["price"] == "60000.00"
    assert state["dual_side_position"] is True


@pytest.mark.asyncio
async def test_bad_fault_requests_are_refused_without_internals(api: SignedClient) -> None:
    """Unknown faults are 404, bad fields 400 naming the field; garbage ids give -1100."""
    assert (await fault(api, "meteor", {}))[0] == 404
    status, body = await fault(api, "reject_orders", {"count": "many"})
    assert status == 400
    assert "count" in body["error"]
    status, body = await fault(api, "drop_streams", {"kind": "everything"})
    assert status == 400
    status, body, _ = await api.call(
        "GET", "/fapi/v1/order", {"symbol": "BTCUSDT", "orderId": "abc"}
    )
    assert (status, body["code"]) == (400, -1100)
    assert "Traceback" not in str(body)


@pytest.mark.asyncio
async def test_countdown_cancel_all_fires(api: SignedClient) -> None:
    """countdownCancelAll cancels every open order when not refreshed in time."""
    await api.order(side="BUY", positionSide="LONG", price="59000", quantity="0.01")
    status, body, _ = await api.call(
        "POST", "/fapi/v1/countdownCancelAll", {"symbol": "BTCUSDT", "countdownTime": 100}
    )
    assert (status, body["countdownTime"]) == (200, "100")
    import asyncio

    for _ in range(200):
        if not api.sim.engine.open_orders():
            break
        await asyncio.sleep(0.02)
    assert not api.sim.engine.open_orders()
