"""``SimExchange.run``: the long-running component contract (started, heartbeat, cancel)."""

from __future__ import annotations

from decimal import Decimal

import aiohttp
import anyio
import pytest
from structlog.testing import LogCapture

from hedgegridd.sim import SimBar, SimConfig, SimExchange

FLAT = [SimBar(Decimal("60000"), Decimal("60000"), Decimal("60000"), Decimal("60000"))] * 10


@pytest.mark.asyncio
async def test_run_starts_beats_and_stops_on_cancel(log_events: LogCapture) -> None:
    """tg.start(sim.run) returns once listening; heartbeats flow; cancel closes the port."""
    beat = anyio.Event()
    sim = SimExchange(SimConfig(speed=60), bars=FLAT)
    async with anyio.create_task_group() as tg:
        await tg.start(lambda task_status: sim.run(task_status=task_status, heartbeat=beat.set))
        url = sim.base_url_http
        async with aiohttp.ClientSession() as session:
            async with session.get(url + "/fapi/v1/time") as resp:
                assert resp.status == 200
            with anyio.fail_after(10):
                await beat.wait()
            assert not sim.order_requests()
        tg.cancel_scope.cancel()
    events = [e["event"] for e in log_events.entries]
    assert "sim.started" in events
    assert "sim.stopped" in events
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ClientConnectionError):
            async with session.get(url + "/fapi/v1/time"):
                pass
