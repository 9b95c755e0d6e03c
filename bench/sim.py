"""Simulator benchmark: REST requests/s (unsigned, signed), orders/s, stream messages/s.

    python bench/sim.py                 # ~30 s: every figure in one run
    python bench/sim.py --seconds 5     # longer windows per figure

The simulator runs in its own process (as ``hedgegrid sim`` does for the demo), the
load generator in this one. Measured in the same run:

- baseline: a bare aiohttp handler answering ``{}`` (requests/s), and a bare aiohttp
  WebSocket server pushing a kline-sized message to 50 subscribers as fast as it can
  (messages/s delivered): the floor of this machine and this client;
- unsigned ``GET /fapi/v1/ticker/price``, signed ``GET /fapi/v2/account``;
- orders: ``POST /fapi/v1/order`` (LIMIT far from the market) + ``DELETE`` pairs;
- streams: 50 subscribers on ``/market/stream`` (kline_1m, markPrice, aggTrade) at a
  high clock speed, messages/s delivered to all of them together.

Ratios are simulator / baseline. The goal: the simulator is never the bottleneck of a
test (a test drives at most a few hundred requests/s and one or two subscribers).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import multiprocessing as mp
import sys
import time
import urllib.parse
from collections.abc import Awaitable, Callable, Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

WORKERS = 1  # sequential on one keep-alive connection (how a test or an adapter drives it)
SUBSCRIBERS = 50
STREAM_SPEED = 3000  # sim minutes per real minute while measuring streams
KLINE_LIKE = json.dumps(
    {
        "stream": "btcusdt@kline_1m",
        "data": {
            "e": "kline",
            "E": 1,
            "s": "BTCUSDT",
            "k": {"t": 0, "T": 59999, "i": "1m", "o": "60000.00", "c": "60010.00"},
        },
    }
)


# ---------------------------------------------------------------- servers (child process)
def _serve_sim(conn: Connection, speed: float) -> None:
    import logging

    import structlog

    from hedgegridd.sim import SimConfig, SimExchange

    # Per-request info logs would dominate the figures: warnings only, as a quiet demo.
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))

    async def run() -> None:
        config = SimConfig(
            speed=speed,
            minutes=2000,
            history_bars=10,
            weight_limit_per_minute=10**9,
            orders_per_10s=10**9,
            orders_per_minute=10**9,
        )
        async with SimExchange(config) as sim:
            conn.send((sim.base_url_http, sim.config.api_key, sim.config.api_secret))
            await asyncio.get_running_loop().run_in_executor(None, conn.recv)

    asyncio.run(run())


def _serve_bare(conn: Connection) -> None:
    async def ping(_r: web.Request) -> web.Response:
        return web.json_response({})

    async def push(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        subscribers.add(ws)
        wanted.set()
        try:
            async for _ in ws:
                pass
        finally:
            subscribers.discard(ws)
        return ws

    subscribers: set[web.WebSocketResponse] = set()
    wanted = asyncio.Event()

    async def pump() -> None:
        while True:
            if not subscribers:
                await wanted.wait()  # no busy loop while the REST baseline runs
                wanted.clear()
            for ws in list(subscribers):
                if not ws.closed:
                    await ws.send_str(KLINE_LIKE)
            await asyncio.sleep(0)

    async def run() -> None:
        app = web.Application()
        app.router.add_get("/ping", ping)
        app.router.add_get("/push", push)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        task = asyncio.create_task(pump())
        conn.send((f"http://127.0.0.1:{port}", "", ""))
        await asyncio.get_running_loop().run_in_executor(None, conn.recv)
        task.cancel()
        await runner.cleanup()

    asyncio.run(run())


class Server:
    """A server process started with ``target`` and stopped on exit."""

    def __init__(self, target: Callable[..., None], *args: Any) -> None:
        ctx = mp.get_context("spawn")
        self._parent, child = ctx.Pipe()
        self._proc = ctx.Process(target=target, args=(child, *args), daemon=True)

    def __enter__(self) -> tuple[str, str, str]:
        self._proc.start()
        if not self._parent.poll(120):
            raise SystemExit("server did not start within 120 s")
        return self._parent.recv()  # type: ignore[no-any-return]

    def __exit__(self, *exc: object) -> None:
        self._parent.send("stop")
        self._proc.join(10)
        if self._proc.is_alive():
            self._proc.kill()


# ------------------------------------------------------------------------ load generator
def _signed(secret: str, params: dict[str, Any]) -> str:
    query = dict(params, timestamp=time.time_ns() // 1_000_000, recvWindow=10_000)
    text = urllib.parse.urlencode(query)
    sig = hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()
    return f"{text}&signature={sig}"


async def _rate(seconds: float, call: Callable[[], Awaitable[int]]) -> float:
    """Operations/s of ``WORKERS`` concurrent loops of ``call`` (each returns ops done)."""
    done = 0
    stop = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal done
        while time.perf_counter() < stop:
            done += await call()

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(WORKERS)))
    return done / (time.perf_counter() - start)


async def _get(session: aiohttp.ClientSession, url: str, headers: dict[str, str]) -> int:
    async with session.get(url, headers=headers) as resp:
        await resp.read()
        if resp.status != 200:
            raise SystemExit(f"GET {url} -> {resp.status}: {await resp.text()}")
    return 1


async def _rest(base: str, key: str, secret: str, seconds: float) -> dict[str, float]:
    headers = {"X-MBX-APIKEY": key}
    async with aiohttp.ClientSession() as s:
        unsigned = await _rate(
            seconds, lambda: _get(s, f"{base}/fapi/v1/ticker/price?symbol=BTCUSDT", {})
        )
        signed = await _rate(
            seconds,
            lambda: _get(s, f"{base}/fapi/v2/account?{_signed(secret, {})}", headers),
        )
        async with s.get(f"{base}/fapi/v1/ticker/price?symbol=BTCUSDT") as resp:
            price = float((await resp.json())["price"])

        async def place_cancel() -> int:
            order = {
                "symbol": "BTCUSDT",
                "side": "BUY",
                "positionSide": "LONG",
                "type": "LIMIT",
                "timeInForce": "GTC",
                "quantity": "0.010",
                "price": f"{round(price * 0.7, 1):.1f}",
            }
            async with s.post(
                f"{base}/fapi/v1/order?{_signed(secret, order)}", headers=headers
            ) as resp:
                body = await resp.json()
                if resp.status != 200:
                    raise SystemExit(f"order -> {resp.status}: {body}")
            cancel = {"symbol": "BTCUSDT", "orderId": body["orderId"]}
            async with s.delete(
                f"{base}/fapi/v1/order?{_signed(secret, cancel)}", headers=headers
            ) as resp:
                await resp.read()
            return 1

        orders = await _rate(seconds, place_cancel)
    return {"unsigned": unsigned, "signed": signed, "orders": orders}


async def _bare_rest(base: str, seconds: float) -> float:
    async with aiohttp.ClientSession() as s:
        return await _rate(seconds, lambda: _get(s, f"{base}/ping", {}))


async def _subscribers(url: str, seconds: float) -> float:
    """Messages/s delivered to ``SUBSCRIBERS`` connections on ``url`` together."""
    received = 0
    async with aiohttp.ClientSession() as s:
        sockets = [await s.ws_connect(url, max_msg_size=0) for _ in range(SUBSCRIBERS)]
        first = [await ws.receive(timeout=60) for ws in sockets]  # all flowing
        assert all(m.type == aiohttp.WSMsgType.TEXT for m in first), first
        stop = time.perf_counter() + seconds

        async def reader(ws: aiohttp.ClientWebSocketResponse) -> None:
            nonlocal received
            while time.perf_counter() < stop:
                try:
                    msg = await ws.receive(timeout=max(0.01, stop - time.perf_counter()))
                except TimeoutError:
                    return
                if msg.type != aiohttp.WSMsgType.TEXT:
                    raise SystemExit(f"stream ended: {msg.type}")
                received += 1

        start = time.perf_counter()
        await asyncio.gather(*(reader(ws) for ws in sockets))
        elapsed = time.perf_counter() - start
        for ws in sockets:
            await ws.close()
    return received / elapsed


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=3.0, help="window per figure")
    args = parser.parse_args(argv)
    secs = args.seconds
    with Server(_serve_bare) as (bare, _k, _s):
        # Baselines before and after the simulator's figures (the machine's load drifts).
        before = asyncio.run(_bare_rest(bare, secs))
        with Server(_serve_sim, 60.0) as (http, key, secret):
            rest = asyncio.run(_rest(http, key, secret, secs))
        base_rest = (before + asyncio.run(_bare_rest(bare, secs))) / 2
        push_url = bare.replace("http", "ws") + "/push"
        ws_before = asyncio.run(_subscribers(push_url, secs))
        with Server(_serve_sim, float(STREAM_SPEED)) as (http, _key, _secret):
            streams = "btcusdt@kline_1m/btcusdt@markPrice/btcusdt@aggTrade"
            ws_url = http.replace("http", "ws") + f"/market/stream?streams={streams}"
            sim_ws = asyncio.run(_subscribers(ws_url, secs))
        base_ws = (ws_before + asyncio.run(_subscribers(push_url, secs))) / 2
    print(f"baseline: bare aiohttp handler          {base_rest:9.0f} req/s ({WORKERS} client)")
    print(
        f"unsigned GET /fapi/v1/ticker/price      {rest['unsigned']:9.0f} req/s"
        f"  x{rest['unsigned'] / base_rest:.2f} of baseline"
    )
    print(
        f"signed GET /fapi/v2/account             {rest['signed']:9.0f} req/s"
        f"  x{rest['signed'] / base_rest:.2f}"
    )
    print(
        f"orders: place+cancel LIMIT pairs        {rest['orders']:9.0f} pairs/s"
        f"  ({2 * rest['orders']:.0f} req/s, x{2 * rest['orders'] / base_rest:.2f})"
    )
    print(
        f"baseline: bare WebSocket push           {base_ws:9.0f} msg/s ({SUBSCRIBERS} subscribers)"
    )
    print(
        f"streams: /market kline+mark+aggTrade    {sim_ws:9.0f} msg/s ({SUBSCRIBERS} subscribers,"
        f" speed {STREAM_SPEED})  x{sim_ws / base_ws:.2f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
