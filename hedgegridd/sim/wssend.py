"""``send_text``: one WebSocket frame to one client, as the simulator's streams send.

A client that does not read within ``SEND_TIMEOUT_S`` would stall the simulated
clock: it is dropped (closed with 1008), as Binance drops slow consumers. A send on
a closed or reset connection is logged and skipped, never raised.
"""

from __future__ import annotations

import asyncio

import structlog
from aiohttp import web

log = structlog.get_logger(__name__)

SEND_TIMEOUT_S = 5.0


async def send_text(ws: web.WebSocketResponse, text: str) -> None:
    """Send ``text`` on ``ws``; a slow consumer is closed, a dead one skipped."""
    if ws.closed:
        return
    try:
        async with asyncio.timeout(SEND_TIMEOUT_S):
            await ws.send_str(text)
    except TimeoutError:
        # A consumer that does not read would stall the clock: drop it, as Binance does.
        log.warning("sim.ws_slow_consumer_dropped")
        try:
            async with asyncio.timeout(1.0):
                await ws.close(code=1008, message=b"slow consumer")
        except TimeoutError:
            log.warning("sim.ws_close_timed_out")
    except (ConnectionResetError, RuntimeError) as exc:
        log.info("sim.ws_send_failed", error=str(exc))
