"""Binance USD-M REST history client (aiohttp + tenacity): klines, mark klines, aggTrades, funding.

``BinanceHistoryClient`` pages through history and yields frames in the
canonical layouts (times in ms, as Binance sends them):

- ``klines(symbol, start_ms, end_ms, mark=False)``: ``GET /fapi/v1/klines`` or
  ``/fapi/v1/markPriceKlines``, 1500 per page; klines whose minute has not closed
  yet (``close_time >= now``) are dropped, never written half-formed;
- ``agg_trades(symbol, start_ms, end_ms)``: ``GET /fapi/v1/aggTrades``, walked in
  windows shorter than one hour (Binance refuses longer ``startTime``/``endTime``
  spans) and by ``fromId`` inside a window, 1000 per page;
- ``funding_rates(symbol, start_ms, end_ms)``: ``GET /fapi/v1/fundingRate``, 1000
  per page.

Rate limits: the ``X-MBX-USED-WEIGHT-1M`` header of each reply is tracked; before
a request that would take the minute's weight over ``weight_budget`` the client
waits for the next minute. 429 and 418 replies are retried after their
``Retry-After`` (a ban longer than ``max_retry_after_s`` fails at once); 5xx and
connection errors are retried with exponential backoff; other 4xx replies
(Binance ``{"code": -1121, "msg": ...}``) fail immediately as ``FetchError``.
"""

from __future__ import annotations

import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import aiohttp
import anyio
import numpy as np
import pandas as pd
import structlog
from pydantic import BaseModel, ConfigDict, Field
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
)

from hedgegridd.data.schema import KLINE_COLUMNS
from hedgegridd.errors import DataError

log = structlog.get_logger(__name__)

MINUTE_MS = 60_000
HOUR_MS = 3_600_000
KLINE_LIMIT = 1500
AGG_LIMIT = 1000
FUNDING_LIMIT = 1000


class FetchError(DataError):
    """The REST API could not be reached or refused the request."""


class _Retryable(Exception):
    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class RestConfig(BaseModel):
    """REST client settings (frozen; validated once)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    base_url: str = Field(default="https://fapi.binance.com", pattern=r"^https?://")
    weight_limit_1m: int = Field(default=2400, ge=1, le=100_000)
    weight_budget: float = Field(default=0.8, gt=0, le=1, description="share of the limit used")
    max_attempts: int = Field(default=6, ge=1, le=50)
    max_retry_after_s: float = Field(default=300.0, ge=0, le=86_400)
    timeout_s: float = Field(default=15.0, gt=0, le=300)
    backoff_initial_s: float = Field(default=0.5, ge=0, le=60)
    backoff_max_s: float = Field(default=30.0, ge=0, le=600)


def kline_weight(limit: int) -> int:
    """Binance request weight of a klines call with ``limit``."""
    if limit < 100:
        return 1
    if limit < 500:
        return 2
    if limit <= 1000:
        return 5
    return 10


@dataclass
class WeightTracker:
    """Used weight of the current minute, as the server last reported it."""

    limit: int
    budget: float
    used: int = 0
    minute: int = -1

    def observe(self, used: int, now_s: float) -> None:
        """Record the ``X-MBX-USED-WEIGHT-1M`` value from a reply."""
        self.used, self.minute = used, int(now_s // 60)

    def wait_needed(self, weight: int, now_s: float) -> float:
        """Seconds to wait before spending ``weight`` (0 if it fits this minute)."""
        if int(now_s // 60) != self.minute:
            return 0.0
        if self.used + weight <= self.limit * self.budget:
            return 0.0
        return 60.0 - (now_s % 60.0) + 0.05


class BinanceHistoryClient:
    """Async history client; use as ``async with BinanceHistoryClient(cfg) as client``."""

    def __init__(
        self,
        config: RestConfig | None = None,
        *,
        sleep: Callable[[float], Awaitable[None]] = anyio.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config or RestConfig()
        self._sleep = sleep
        self._clock = clock
        self.weight = WeightTracker(self.config.weight_limit_1m, self.config.weight_budget)
        self.requests = 0
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> BinanceHistoryClient:
        timeout = aiohttp.ClientTimeout(total=self.config.timeout_s)
        self._session = aiohttp.ClientSession(timeout=timeout)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    # -- transport ------------------------------------------------------------

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _Retryable) and exc.retry_after is not None:
            return exc.retry_after
        cfg = self.config
        base = cfg.backoff_initial_s * 2 ** (state.attempt_number - 1)
        return float(min(cfg.backoff_max_s, base + random.uniform(0, cfg.backoff_initial_s)))

    async def get(self, path: str, params: dict[str, Any], *, weight: int) -> Any:
        """GET ``path`` with retries and rate limiting; returns the decoded JSON."""
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self.config.max_attempts),
            wait=self._wait,
            retry=retry_if_exception_type(_Retryable),
            sleep=self._sleep,
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    return await self._get_once(path, params, weight)
        except _Retryable as exc:
            raise FetchError(
                f"GET {path}: gave up after {self.config.max_attempts} attempts: {exc}"
            ) from exc
        raise FetchError(f"GET {path}: no attempt made")  # pragma: no cover

    async def _get_once(self, path: str, params: dict[str, Any], weight: int) -> Any:
        if self._session is None:
            raise FetchError("client used outside 'async with'")
        pause = self.weight.wait_needed(weight, self._clock())
        if pause > 0:
            log.info("data.rest.weight_wait", seconds=round(pause, 2), used=self.weight.used)
            await self._sleep(pause)
        url = self.config.base_url.rstrip("/") + path
        self.requests += 1
        try:
            async with self._session.get(url, params=params) as resp:
                used = resp.headers.get("X-MBX-USED-WEIGHT-1M")
                if used is not None and used.isdigit():
                    self.weight.observe(int(used), self._clock())
                if resp.status in (418, 429):
                    raise self._rate_limited(path, resp)
                if resp.status >= 500:
                    raise _Retryable(f"HTTP {resp.status}")
                body = await resp.json(content_type=None)
                if resp.status >= 400:
                    code = body.get("code") if isinstance(body, dict) else None
                    msg = body.get("msg") if isinstance(body, dict) else None
                    raise FetchError(f"GET {path}: HTTP {resp.status}, Binance code {code}: {msg}")
                return body
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise _Retryable(f"{type(exc).__name__}: {exc}") from exc
        except ValueError as exc:
            raise FetchError(f"GET {path}: reply is not JSON") from exc

    def _rate_limited(self, path: str, resp: aiohttp.ClientResponse) -> Exception:
        raw = resp.headers.get("Retry-After", "")
        retry_after = float(raw) if raw.replace(".", "", 1).isdigit() else 60.0
        log.warning("data.rest.rate_limited", status=resp.status, retry_after=retry_after)
        if retry_after > self.config.max_retry_after_s:
            return FetchError(
                f"GET {path}: HTTP {resp.status} (IP banned or rate limited) for "
                f"{retry_after:.0f}s, above max_retry_after_s={self.config.max_retry_after_s}"
            )
        return _Retryable(f"HTTP {resp.status}", retry_after)

    # -- endpoints ------------------------------------------------------------

    async def klines(
        self, symbol: str, start_ms: int, end_ms: int, *, mark: bool = False
    ) -> AsyncIterator[pd.DataFrame]:
        """Closed 1m klines with open_time in [start_ms, end_ms], page by page."""
        path = "/fapi/v1/markPriceKlines" if mark else "/fapi/v1/klines"
        cursor = start_ms
        while cursor <= end_ms:
            params = {
                "symbol": symbol,
                "interval": "1m",
                "startTime": cursor,
                "endTime": end_ms,
                "limit": KLINE_LIMIT,
            }
            rows = _as_list(await self.get(path, params, weight=kline_weight(KLINE_LIMIT)), path)
            if not rows:
                return
            frame = pd.DataFrame(rows, columns=list(KLINE_COLUMNS))
            for col in ("open_time", "close_time", "count"):
                frame[col] = frame[col].astype(np.int64)
            now_ms = int(self._clock() * 1000)
            closed = frame[(frame.close_time < now_ms) & (frame.open_time <= end_ms)]
            if len(closed):
                yield closed.reset_index(drop=True)
            cursor = int(frame.open_time.iloc[-1]) + MINUTE_MS
            if len(closed) < len(frame) or len(rows) < KLINE_LIMIT:
                return

    async def agg_trades(
        self, symbol: str, start_ms: int, end_ms: int
    ) -> AsyncIterator[pd.DataFrame]:
        """aggTrades with transact_time in [start_ms, end_ms], in < 1 hour windows."""
        window_start = start_ms
        while window_start <= end_ms:
            window_end = min(window_start + HOUR_MS - 1, end_ms)
            params: dict[str, Any] = {
                "symbol": symbol,
                "startTime": window_start,
                "endTime": window_end,
                "limit": AGG_LIMIT,
            }
            while True:
                rows = _as_list(
                    await self.get("/fapi/v1/aggTrades", params, weight=20), "/fapi/v1/aggTrades"
                )
                frame = _agg_frame(rows)
                inside = frame[frame.transact_time <= window_end]
                if len(inside):
                    yield inside.reset_index(drop=True)
                if len(rows) < AGG_LIMIT or len(inside) < len(frame):
                    break
                params = {
                    "symbol": symbol,
                    "fromId": int(frame.agg_trade_id.iloc[-1]) + 1,
                    "limit": AGG_LIMIT,
                }
            window_start = window_end + 1

    async def funding_rates(
        self, symbol: str, start_ms: int, end_ms: int
    ) -> AsyncIterator[pd.DataFrame]:
        """Funding history with funding_time in [start_ms, end_ms]."""
        cursor = start_ms
        while cursor <= end_ms:
            params = {
                "symbol": symbol,
                "startTime": cursor,
                "endTime": end_ms,
                "limit": FUNDING_LIMIT,
            }
            rows = _as_list(
                await self.get("/fapi/v1/fundingRate", params, weight=1), "/fapi/v1/fundingRate"
            )
            if not rows:
                return
            frame = pd.DataFrame(
                {
                    "funding_time": np.array([r["fundingTime"] for r in rows], dtype=np.int64),
                    "funding_rate": pd.to_numeric([r["fundingRate"] for r in rows]),
                    "mark_price": pd.to_numeric(
                        [r.get("markPrice") or "nan" for r in rows], errors="coerce"
                    ),
                }
            )
            yield frame
            cursor = int(frame.funding_time.iloc[-1]) + 1
            if len(rows) < FUNDING_LIMIT:
                return


def _as_list(body: Any, path: str) -> list[Any]:
    """The JSON array Binance sends for history endpoints (FetchError otherwise)."""
    if not isinstance(body, list):
        raise FetchError(f"GET {path}: expected a JSON array, got {type(body).__name__}")
    return body


def _agg_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """aggTrades JSON objects (a, p, q, f, l, T, m) -> canonical frame."""
    return pd.DataFrame(
        {
            "agg_trade_id": np.array([r["a"] for r in rows], dtype=np.int64),
            "price": pd.to_numeric([r["p"] for r in rows]),
            "quantity": pd.to_numeric([r["q"] for r in rows]),
            "first_trade_id": np.array([r["f"] for r in rows], dtype=np.int64),
            "last_trade_id": np.array([r["l"] for r in rows], dtype=np.int64),
            "transact_time": np.array([r["T"] for r in rows], dtype=np.int64),
            "is_buyer_maker": np.array([r["m"] for r in rows], dtype=bool),
        }
    )
