"""Test helper: record every market-stream print of a simulator and wait for conditions."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

import aiohttp

from hedgegridd.sim import SimExchange

STREAMS = ("btcusdt@aggTrade", "btcusdt@markPrice", "btcusdt@kline_1m", "btcusdt@bookTicker")


def price_of(stream: str, data: dict[str, Any]) -> Decimal:
    """The last-price field of a print (trade p, mark i, kline c, bid b)."""
    if stream.endswith("aggTrade"):
        return Decimal(data["p"])
    if stream.endswith("markPrice"):
        return Decimal(data["i"])
    if stream.endswith("kline_1m"):
        return Decimal(data["k"]["c"])
    return Decimal(data["b"])


class MarketWatch:
    """Every (stream, data) received, in order."""

    def __init__(self) -> None:
        self.prints: list[tuple[str, dict[str, Any]]] = []

    def prices(self, stream: str = "btcusdt@aggTrade", since: int = 0) -> list[Decimal]:
        """Last prices printed on ``stream`` from index ``since``."""
        return [price_of(s, d) for s, d in self.prints[since:] if s == stream]

    def marks(self, since: int = 0) -> list[Decimal]:
        """Mark prices (``p``) of markPrice prints from index ``since``."""
        return [Decimal(d["p"]) for s, d in self.prints[since:] if s.endswith("markPrice")]

    def closed_klines(self, since: int = 0) -> list[dict[str, Any]]:
        """Closed klines (``k`` objects) from index ``since``."""
        return [d["k"] for s, d in self.prints[since:] if s.endswith("kline_1m") and d["k"]["x"]]


async def until(cond: Callable[[], Any], what: str, limit_s: float = 30.0) -> Any:
    """Poll ``cond`` until truthy (generous deadline); returns its value."""
    deadline = time.monotonic() + limit_s
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


@asynccontextmanager
async def watching(sim: SimExchange, session: aiohttp.ClientSession) -> AsyncIterator[MarketWatch]:
    """Subscribe to trades, marks, klines and quotes; record them while the block runs."""
    watch = MarketWatch()
    url = f"{sim.base_url_ws}/stream?streams={'/'.join(STREAMS)}"
    ws = await session.ws_connect(url)

    async def pump() -> None:
        async for msg in ws:
            if msg.type == aiohttp.WSMsgType.TEXT:
                body = json.loads(msg.data)
                if "stream" in body:
                    watch.prints.append((body["stream"], body["data"]))

    task = asyncio.create_task(pump())
    try:
        await until(lambda: watch.prices(), "first trade print")
        yield watch
    finally:
        task.cancel()
        await ws.close()
