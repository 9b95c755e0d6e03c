"""Third-party Binance clients (ccxt ``binanceusdm``, ``binance-futures-connector``)
pointed at an in-process simulator, and guards so nothing leaves the loopback."""

from __future__ import annotations

import asyncio
import json
import queue
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import ccxt.async_support as ccxt_async
import ccxt.pro as ccxt_pro
from binance.um_futures import UMFutures
from binance.websocket.um_futures.websocket_client import UMFuturesWebsocketClient

from hedgegridd.sim import SimConfig, SimExchange

SYMBOL = "BTC/USDT:USDT"
DEADLINE_S = 30.0


def sim_config(**overrides: Any) -> SimConfig:
    """A small synthetic market (fast start) with kline history, as on Binance."""
    base: dict[str, Any] = {"speed": 600, "minutes": 600, "history_bars": 200}
    base.update(overrides)
    return SimConfig(**base)


@asynccontextmanager
async def running_sim(**overrides: Any) -> AsyncIterator[SimExchange]:
    """A started simulator (real sockets on loopback)."""
    async with SimExchange(sim_config(**overrides)) as sim:
        yield sim


class OfflineError(AssertionError):
    """A client tried to reach something other than the local simulator."""


def _point_at(base: str, urls: dict[str, Any]) -> dict[str, Any]:
    """ccxt's API URL table with every entry on the simulator: /fapi and /futures/data
    paths kept, anything else (spot, sapi, dapi, papi, eapi) under an unserved prefix."""
    out: dict[str, Any] = {}
    for name, url in urls.items():
        if name == "ws":
            continue  # WebSocket URLs: ccxt_pro_client
        if isinstance(url, dict):
            out[name] = _point_at(base, url)
            continue
        path = url.split("://", 1)[1].split("/", 1)[1]
        out[name] = (
            f"{base}/{path}"
            if path.startswith(("fapi/", "futures/"))
            else (f"{base}/not-usdm/{path}")
        )
    return out


def _ws_urls(sim: SimExchange, urls: dict[str, Any]) -> dict[str, Any]:
    """ccxt.pro's WebSocket URL table: USD-M futures on the simulator's root ``/ws``
    (ccxt routes it to /public, /market, /private itself), the rest unserved."""
    out: dict[str, Any] = {}
    for name, url in urls.items():
        if isinstance(url, dict):
            out[name] = _ws_urls(sim, url)
        elif name == "future":
            out[name] = f"{sim.base_url_ws}/ws"
        else:
            out[name] = f"{sim.base_url_ws}/not-usdm/{name}"
    return out


@asynccontextmanager
async def ccxt_client(
    sim: SimExchange, *, pro: bool = False
) -> AsyncIterator[ccxt_async.binanceusdm]:
    """``ccxt.async_support.binanceusdm`` (or ``ccxt.pro``'s, with WebSocket streams) on the
    simulator, offline: every REST and WebSocket URL is the simulator's or refused."""
    factory = ccxt_pro.binanceusdm if pro else ccxt_async.binanceusdm
    exchange = factory(
        {
            "apiKey": sim.config.api_key,
            "secret": sim.config.api_secret,
            "enableRateLimit": False,
            "options": {
                "fetchMarkets": {"types": ["linear"]},
                "fetchCurrencies": False,
                "adjustForTimeDifference": False,
                "warnOnFetchOpenOrdersWithoutSymbol": False,
            },
        }
    )
    ws_table = exchange.urls["api"].get("ws")
    exchange.urls["api"] = _point_at(sim.base_url_http, exchange.urls["api"])
    if isinstance(ws_table, dict):
        exchange.urls["api"]["ws"] = _ws_urls(sim, ws_table)
        real_client = exchange.client

        def guarded_client(url: str) -> Any:
            if not url.startswith(sim.base_url_ws + "/"):
                raise OfflineError(f"ccxt tried to open {url}")
            return real_client(url)

        exchange.client = guarded_client
    real_fetch = exchange.fetch

    async def guarded(url: str, *args: Any, **kwargs: Any) -> Any:
        if not url.startswith(sim.base_url_http + "/"):
            raise OfflineError(f"ccxt tried to reach {url}")
        return await real_fetch(url, *args, **kwargs)

    exchange.fetch = guarded
    by_url = exchange.get_exceptions_by_url

    def linear_errors(url: str, exact_or_broad: str) -> Any:
        # ccxt picks its USD-M ("linear") error table by Binance's host name only.
        if url.startswith(sim.base_url_http + "/fapi/"):
            return exchange.exceptions["linear"].get(exact_or_broad, {})
        return by_url(url, exact_or_broad)

    exchange.get_exceptions_by_url = linear_errors
    try:
        yield exchange
    finally:
        await exchange.close()


def connector(sim: SimExchange) -> UMFutures:
    """Binance's ``UMFutures`` REST client on the simulator (sync: call it in a thread)."""
    return UMFutures(
        key=sim.config.api_key, secret=sim.config.api_secret, base_url=sim.base_url_http
    )


async def in_thread(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Run a blocking client call off the event loop that serves the simulator."""
    return await asyncio.to_thread(fn, *args, **kwargs)


class WsInbox:
    """``UMFuturesWebsocketClient`` on ``stream_url`` with its messages in a queue."""

    def __init__(self, stream_url: str, *, is_combined: bool = False) -> None:
        self.messages: queue.Queue[dict[str, Any]] = queue.Queue()
        self.stream_url = stream_url
        self.is_combined = is_combined
        self.client: UMFuturesWebsocketClient | None = None

    def _on_message(self, _client: Any, text: str) -> None:
        self.messages.put(json.loads(text))

    async def open(self) -> UMFuturesWebsocketClient:
        """Connect (the connector's socket thread starts)."""
        self.client = await in_thread(
            UMFuturesWebsocketClient,
            stream_url=self.stream_url,
            on_message=self._on_message,
            is_combined=self.is_combined,
        )
        return self.client

    async def until(self, match: Callable[[dict[str, Any]], bool]) -> list[dict[str, Any]]:
        """Messages received until one matches (generous deadline)."""
        deadline = time.monotonic() + DEADLINE_S
        seen: list[dict[str, Any]] = []
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no matching message; last: {seen[-3:]}")
            try:
                msg = await in_thread(self.messages.get, True, min(remaining, 1.0))
            except queue.Empty:
                continue
            seen.append(msg)
            if match(msg):
                return seen

    async def close(self) -> None:
        """Stop the connector's socket thread."""
        if self.client is not None:
            await in_thread(self.client.stop)
