"""A tiny Binance-style signed REST client for driving the simulator in tests."""

from __future__ import annotations

import hashlib
import hmac
import time
import urllib.parse
from typing import Any

import aiohttp

from hedgegridd.sim import SimExchange


class SignedClient:
    """Signs requests exactly like Binance expects (HMAC-SHA256 of the query string)."""

    def __init__(self, sim: SimExchange, session: aiohttp.ClientSession) -> None:
        self.sim = sim
        self.session = session
        self.key = sim.config.api_key
        self.secret = sim.config.api_secret

    async def call(
        self,
        method: str,
        path: str,
        params: dict[str, Any] | None = None,
        *,
        signed: bool = True,
        secret: str | None = None,
        timestamp: int | None = None,
        api_key: str | None = None,
    ) -> tuple[int, Any, dict[str, str]]:
        """Send one request; returns (status, decoded JSON body, headers)."""
        query = dict(params or {})
        if signed:
            query["timestamp"] = timestamp if timestamp is not None else time.time_ns() // 10**6
            query.setdefault("recvWindow", 5000)
            text = urllib.parse.urlencode(query)
            sig = hmac.new(
                (secret or self.secret).encode(), text.encode(), hashlib.sha256
            ).hexdigest()
            query["signature"] = sig
        url = self.sim.base_url_http + path
        if query:
            url += "?" + urllib.parse.urlencode(query)
        headers = {"X-MBX-APIKEY": api_key if api_key is not None else self.key}
        async with self.session.request(method, url, headers=headers) as resp:
            body = await resp.json(content_type=None)
            return resp.status, body, dict(resp.headers)

    async def order(self, **params: Any) -> tuple[int, Any]:
        """POST /fapi/v1/order with BTCUSDT defaults."""
        base: dict[str, Any] = {"symbol": "BTCUSDT", "type": "LIMIT", "timeInForce": "GTC"}
        base.update(params)
        status, body, _ = await self.call("POST", "/fapi/v1/order", base)
        return status, body
