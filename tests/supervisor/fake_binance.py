"""A tiny fake of the Binance USD-M REST endpoints warmup uses (real wire format).

Serves on 127.0.0.1:<ephemeral>; records every request path; lets a test inject
failures per path (HTTP status for the next N calls) and toggle hedge mode.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from aiohttp import web

from hedgegridd.data.instruments import BTCUSDT_PERP, exchange_info_symbol


@dataclass
class FakeBinance:
    """State of the fake: requests seen, failures to inject, account mode."""

    api_secret: str = "fake-secret"
    hedge_mode: bool = True
    server_time_offset_ms: int = 0
    fail: dict[str, list[int]] = field(default_factory=dict)
    seen: list[str] = field(default_factory=list)
    base_url: str = ""

    def _maybe_fail(self, path: str) -> web.Response | None:
        queue = self.fail.get(path)
        if queue:
            status = queue.pop(0)
            return web.json_response({"code": -1000, "msg": "injected"}, status=status)
        return None

    async def handle(self, request: web.Request) -> web.StreamResponse:
        path = request.path
        self.seen.append(f"{request.method} {path}")
        failed = self._maybe_fail(path)
        if failed is not None:
            return failed
        now_ms = int(time.time() * 1000)
        if path == "/fapi/v1/exchangeInfo":
            return web.json_response(
                {
                    "timezone": "UTC",
                    "serverTime": now_ms,
                    "symbols": [exchange_info_symbol(BTCUSDT_PERP)],
                }
            )
        if path == "/fapi/v1/time":
            return web.json_response({"serverTime": now_ms + self.server_time_offset_ms})
        if path == "/fapi/v1/positionSide/dual":
            query = request.query_string
            unsigned, _, sig = query.rpartition("&signature=")
            want = hmac.new(self.api_secret.encode(), unsigned.encode(), hashlib.sha256).hexdigest()
            if sig != want or "X-MBX-APIKEY" not in request.headers:
                return web.json_response({"code": -1022, "msg": "Signature invalid"}, status=400)
            return web.json_response({"dualSidePosition": self.hedge_mode})
        if path == "/fapi/v1/klines":
            limit = int(request.query.get("limit", "500"))
            minute = 60_000
            last_open = now_ms // minute * minute  # the still-open bar is included, as Binance does
            rows = []
            for i in range(limit):
                open_ms = last_open - (limit - 1 - i) * minute
                price = 50000 + i
                rows.append(
                    [
                        open_ms,
                        f"{price}.0",
                        f"{price + 5}.0",
                        f"{price - 5}.0",
                        f"{price + 1}.0",
                        "12.345",
                        open_ms + minute - 1,
                        "1",
                        10,
                        "1",
                        "1",
                        "0",
                    ]
                )
            return web.json_response(rows)
        if path == "/fapi/v1/premiumIndex":
            return web.json_response(
                {
                    "symbol": request.query.get("symbol"),
                    "markPrice": "50000.10000000",
                    "indexPrice": "50001.00000000",
                    "lastFundingRate": "0.00010000",
                    "nextFundingTime": (now_ms // 28_800_000 + 1) * 28_800_000,
                    "interestRate": "0.00010000",
                    "time": now_ms,
                }
            )
        return web.json_response({"code": -1121, "msg": "Invalid path"}, status=404)


@asynccontextmanager
async def serve_fake_binance(fake: FakeBinance) -> AsyncIterator[FakeBinance]:
    """Run ``fake`` on an ephemeral loopback port for the duration of the block."""
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", fake.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    fake.base_url = f"http://127.0.0.1:{port}"
    try:
        yield fake
    finally:
        await runner.cleanup()
