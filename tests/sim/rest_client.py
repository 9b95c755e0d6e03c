"""A Binance-style REST client for the simulator's REST tests: query, form body or both."""

from __future__ import annotations

import hashlib
import hmac
import time
import urllib.parse
from typing import Any

import aiohttp
import yarl

from hedgegridd.sim import SimExchange

FORM = {"Content-Type": "application/x-www-form-urlencoded"}


def sign(secret: str, total_params: str) -> str:
    """HMAC-SHA256 hex of ``totalParams`` (query string + body, as sent)."""
    return hmac.new(secret.encode(), total_params.encode(), hashlib.sha256).hexdigest()


def now_ms() -> int:
    """Wall-clock milliseconds."""
    return time.time_ns() // 1_000_000


class Rest:
    """Sends raw query strings and bodies, signing ``query + body`` like Binance clients."""

    def __init__(self, sim: SimExchange, session: aiohttp.ClientSession) -> None:
        self.sim = sim
        self.session = session
        self.key = sim.config.api_key
        self.secret = sim.config.api_secret

    async def raw(
        self,
        method: str,
        path: str,
        *,
        query: str = "",
        body: str = "",
        headers: dict[str, str] | None = None,
    ) -> tuple[int, Any, dict[str, str]]:
        """Send ``query`` and ``body`` exactly as given; returns (status, JSON, headers)."""
        url = self.sim.base_url_http + path + (f"?{query}" if query else "")
        hdrs = {"X-MBX-APIKEY": self.key, **(headers or {})}
        if body:
            hdrs.update(FORM)
        target = yarl.URL(url, encoded=True)  # the bytes as given: no requoting
        async with self.session.request(
            method, target, data=body.encode() if body else None, headers=hdrs
        ) as resp:
            return resp.status, await resp.json(content_type=None), dict(resp.headers)

    async def signed(
        self,
        method: str,
        path: str,
        query: dict[str, Any] | None = None,
        body: dict[str, Any] | None = None,
        *,
        upper: bool = False,
    ) -> tuple[int, Any, dict[str, str]]:
        """A SIGNED request: ``timestamp`` goes last in the body if there is one, else the query."""
        q, b = dict(query or {}), dict(body or {})
        (b if body is not None else q)["timestamp"] = now_ms()
        qs, bs = urllib.parse.urlencode(q), urllib.parse.urlencode(b)
        sig = sign(self.secret, qs + bs)
        sig = sig.upper() if upper else sig
        if body is not None:
            bs += f"&signature={sig}"
        else:
            qs += f"&signature={sig}"
        return await self.raw(method, path, query=qs, body=bs)

    async def public(self, path: str, **params: Any) -> tuple[int, Any, dict[str, str]]:
        """An unsigned GET with ``params`` in the query string."""
        return await self.raw("GET", path, query=urllib.parse.urlencode(params))

    async def order(self, **params: Any) -> tuple[int, Any]:
        """POST /fapi/v1/order (BTCUSDT LIMIT GTC defaults), signed in the query string."""
        base: dict[str, Any] = {"symbol": "BTCUSDT", "type": "LIMIT", "timeInForce": "GTC"}
        base.update(params)
        base = {k: v for k, v in base.items() if v is not None}
        status, body, _ = await self.signed("POST", "/fapi/v1/order", base)
        return status, body
