"""A local aiohttp server speaking Binance USD-M's REST wire format for history endpoints.

It serves synthetic data with Binance's shapes: klines as arrays of strings/ints,
aggTrades as objects {a, p, q, f, l, T, m}, fundingRate objects, error JSON
{"code": ..., "msg": ...}, the X-MBX-USED-WEIGHT-1M header, 429/418 with
Retry-After, and Binance's rule that aggTrades startTime/endTime span < 1 hour.
Faults are queued per path: each queued (status, headers, body) answers one request.
"""

from __future__ import annotations

from collections import defaultdict, deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pytest_asyncio
from aiohttp import web

from hedgegridd.data.synthetic import SyntheticData, SyntheticSpec, generate


@dataclass
class FakeBinance:
    """State of the fake: data served, requests seen, faults to inject, weight used."""

    data: SyntheticData
    now_ms: int
    weight_used: int = 0
    requests: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    faults: dict[str, deque[tuple[int, dict[str, str], Any]]] = field(
        default_factory=lambda: defaultdict(deque)
    )
    base_url: str = ""
    fail_at: dict[str, int] = field(default_factory=dict)

    def fault(self, path: str, status: int, body: Any, headers: dict[str, str] | None = None):
        """Queue one faulty reply for ``path``."""
        self.faults[path].append((status, headers or {}, body))


def _fmt(x: float, d: int) -> str:
    return f"{x:.{d}f}"


def _app(fake: FakeBinance) -> web.Application:
    bars, marks, trades, funding = (
        fake.data.bars,
        fake.data.mark_bars,
        fake.data.trades,
        fake.data.funding,
    )

    def reply(body: Any, status: int = 200, headers: dict[str, str] | None = None):
        h = {"X-MBX-USED-WEIGHT-1M": str(fake.weight_used), **(headers or {})}
        return web.json_response(body, status=status, headers=h)

    def prelude(request: web.Request, weight: int):
        fake.requests.append((request.path, dict(request.query)))
        seen = sum(1 for p, _ in fake.requests if p == request.path)
        if fake.fail_at.get(request.path) == seen:
            return reply({"code": -1003, "msg": "Way too much request weight used."}, 400)
        queue = fake.faults.get(request.path)
        if queue:
            status, headers, body = queue.popleft()
            return reply(body, status, headers)
        if request.query.get("symbol") != "BTCUSDT":
            return reply({"code": -1121, "msg": "Invalid symbol."}, 400)
        fake.weight_used += weight
        return None

    def kline_rows(frame, q) -> list[list[Any]]:
        start = int(q.get("startTime", 0))
        end = int(q.get("endTime", 2**62))
        limit = min(int(q.get("limit", 500)), 1500)
        sel = frame[(frame.open_time >= start) & (frame.open_time <= end)].head(limit)
        sel = sel[sel.open_time < fake.now_ms]
        out = []
        for r in sel.itertuples(index=False):
            vol = getattr(r, "volume", 0.0)
            out.append(
                [
                    int(r.open_time),
                    _fmt(r.open, 1),
                    _fmt(r.high, 1),
                    _fmt(r.low, 1),
                    _fmt(r.close, 1),
                    _fmt(vol, 3),
                    int(r.close_time),
                    "0",
                    0,
                    "0",
                    "0",
                    "0",
                ]
            )
        return out

    async def klines(request: web.Request):
        bad = prelude(request, 10)
        return bad or reply(kline_rows(bars, request.query))

    async def mark_klines(request: web.Request):
        bad = prelude(request, 10)
        return bad or reply(kline_rows(marks, request.query))

    async def agg_trades(request: web.Request):
        bad = prelude(request, 20)
        if bad:
            return bad
        q = request.query
        limit = min(int(q.get("limit", 500)), 1000)
        if "fromId" in q:
            sel = trades[trades.agg_trade_id >= int(q["fromId"])]
        else:
            start, end = int(q["startTime"]), int(q["endTime"])
            if end - start >= 3_600_000:
                return reply(
                    {"code": -1127, "msg": "More than 1 hours between startTime and endTime."}, 400
                )
            sel = trades[(trades.transact_time >= start) & (trades.transact_time <= end)]
        sel = sel.head(limit)
        return reply(
            [
                {
                    "a": int(r.agg_trade_id),
                    "p": _fmt(r.price, 1),
                    "q": _fmt(r.quantity, 3),
                    "f": int(r.first_trade_id),
                    "l": int(r.last_trade_id),
                    "T": int(r.transact_time),
                    "m": bool(r.is_buyer_maker),
                }
                for r in sel.itertuples(index=False)
            ]
        )

    async def funding_rate(request: web.Request):
        bad = prelude(request, 1)
        if bad:
            return bad
        q = request.query
        start, end = int(q.get("startTime", 0)), int(q.get("endTime", 2**62))
        limit = min(int(q.get("limit", 100)), 1000)
        sel = funding[(funding.funding_time >= start) & (funding.funding_time <= end)].head(limit)
        return reply(
            [
                {
                    "symbol": "BTCUSDT",
                    "fundingTime": int(r.funding_time),
                    "fundingRate": _fmt(r.funding_rate, 8),
                    "markPrice": _fmt(r.mark_price, 8),
                }
                for r in sel.itertuples(index=False)
            ]
        )

    app = web.Application()
    app.router.add_get("/fapi/v1/klines", klines)
    app.router.add_get("/fapi/v1/markPriceKlines", mark_klines)
    app.router.add_get("/fapi/v1/aggTrades", agg_trades)
    app.router.add_get("/fapi/v1/fundingRate", funding_rate)
    return app


@pytest_asyncio.fixture
async def fake_binance():
    """A running fake Binance REST server on 127.0.0.1 (ephemeral port), 1 day of data."""
    data = generate(SyntheticSpec(seed=9, minutes=1440, trades_per_minute=20))
    fake = FakeBinance(data=data, now_ms=data.spec.end_ms + 10 * 60_000)
    runner = web.AppRunner(_app(fake))
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    fake.base_url = f"http://127.0.0.1:{port}"
    try:
        yield fake
    finally:
        await runner.cleanup()


def assert_sorted(values) -> None:
    """Helper: strictly increasing."""
    assert (np.diff(np.asarray(values)) > 0).all()
