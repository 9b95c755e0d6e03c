"""Async warmup before the node starts (aiohttp + tenacity, bounded retries and deadline).

Fetches, from the venue's REST API: exchange info (instrument rules), the account's
position mode (hedge mode required when the mode trades with keys), the clock skew,
enough closed bars for the indicators, and the current funding (premium index).
Everything runs on the event loop without blocking it; the whole warmup has a total
deadline and each request bounded attempts with exponential backoff.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import aiohttp
import anyio
import structlog
from tenacity import (
    AsyncRetrying,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential,
    wait_random,
)

from hedgegridd.data.instruments import InstrumentSpec, spec_from_exchange_info
from hedgegridd.errors import ConfigError, DataError, VenueRefusedError, WarmupError
from hedgegridd.supervisor.settings import WarmupSettings
from hedgegridd.venues.guards import BinanceKeys

log = structlog.get_logger(__name__)


# Binance: -2014 API-key format invalid, -2015 invalid key/IP/permissions, -1022 bad signature.
_AUTH_ERROR_CODES = frozenset({-2014, -2015, -1022})


class _Transient(Exception):
    """A retryable failure (network, 5xx, 429/418)."""


@dataclass(frozen=True, slots=True)
class WarmupBar:
    """One closed kline (times in ms, prices as Decimal strings from the venue)."""

    open_time_ms: int
    close_time_ms: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal


@dataclass(frozen=True, slots=True)
class WarmupResult:
    """What the strategy gets before it starts."""

    spec: InstrumentSpec
    hedge_mode: bool | None  # None when not checked (paper: no keys)
    clock_skew_ms: float  # local - server, RTT-corrected
    bars: tuple[WarmupBar, ...]
    funding_rate: Decimal | None
    next_funding_ms: int | None
    mark_price: Decimal | None


class WarmupClient:
    """Minimal Binance USD-M REST client used only for warmup."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        base_url: str,
        settings: WarmupSettings,
        keys: BinanceKeys | None,
        recv_window_ms: int,
    ) -> None:
        self._session = session
        self._base = base_url.rstrip("/")
        self._settings = settings
        self._keys = keys
        self._recv_window_ms = recv_window_ms

    async def get(
        self, path: str, params: dict[str, Any] | None = None, *, signed: bool = False
    ) -> Any:
        """GET ``path`` with bounded retries on transient failures; JSON body."""
        retrying = AsyncRetrying(
            stop=stop_after_attempt(self._settings.max_attempts),
            wait=wait_exponential(multiplier=0.2, max=5.0) + wait_random(0, 0.2),
            retry=retry_if_exception_type(_Transient),
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    return await self._get_once(path, dict(params or {}), signed)
        except _Transient as exc:
            raise WarmupError(
                f"warmup {path} failed after {self._settings.max_attempts} attempts: {exc}"
            ) from exc
        raise WarmupError(f"warmup {path} gave no answer")  # pragma: no cover - loop always returns

    async def _get_once(self, path: str, params: dict[str, Any], signed: bool) -> Any:
        headers: dict[str, str] = {}
        if signed:
            if self._keys is None:
                raise WarmupError(f"warmup {path} needs API keys")
            params["timestamp"] = int(time.time() * 1000)
            params["recvWindow"] = self._recv_window_ms
            query = urlencode(params)
            signature = hmac.new(
                self._keys.api_secret.get_secret_value().encode(), query.encode(), hashlib.sha256
            ).hexdigest()
            params["signature"] = signature
            headers["X-MBX-APIKEY"] = self._keys.api_key.get_secret_value()
        timeout = aiohttp.ClientTimeout(total=self._settings.request_timeout_s)
        try:
            async with self._session.get(
                self._base + path, params=params, headers=headers, timeout=timeout
            ) as resp:
                status = resp.status
                body = await resp.json(content_type=None)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise _Transient(f"{type(exc).__name__}") from exc
        if status in (418, 429) or status >= 500:
            raise _Transient(f"HTTP {status}")
        if status >= 400:
            code = body.get("code") if isinstance(body, dict) else None
            msg = body.get("msg") if isinstance(body, dict) else None
            if status in (401, 403) or code in _AUTH_ERROR_CODES:
                # Restarting will not fix rejected credentials: a configuration error (78).
                raise ConfigError(
                    f"the venue rejected the API credentials on {path} (code={code}); "
                    "check binance_api_key/binance_api_secret for this mode"
                )
            raise WarmupError(f"warmup {path}: HTTP {status} code={code} {msg}")
        return body


def _parse_bars(rows: Any, now_ms: int) -> tuple[WarmupBar, ...]:
    if not isinstance(rows, list):
        raise WarmupError("warmup klines: expected a list")
    bars: list[WarmupBar] = []
    for row in rows:
        try:
            bar = WarmupBar(
                open_time_ms=int(row[0]),
                open=Decimal(str(row[1])),
                high=Decimal(str(row[2])),
                low=Decimal(str(row[3])),
                close=Decimal(str(row[4])),
                volume=Decimal(str(row[5])),
                close_time_ms=int(row[6]),
            )
        except (IndexError, TypeError, ValueError, ArithmeticError) as exc:
            raise WarmupError(f"warmup klines: malformed row {str(row)[:80]}") from exc
        bars.append(bar)
    # Binance returns the still-open bar last: drop it (closed bars only, no look-ahead).
    if bars and bars[-1].close_time_ms >= now_ms:
        bars.pop()
    return tuple(bars)


async def run_warmup(
    *,
    base_url: str,
    symbol: str,
    settings: WarmupSettings,
    keys: BinanceKeys | None,
    require_hedge_mode: bool,
    recv_window_ms: int = 5000,
    bar_interval_minutes: int = 1,
) -> WarmupResult:
    """Fetch everything the strategy needs; WarmupError / VenueRefusedError on failure."""
    started = time.monotonic()
    try:
        with anyio.fail_after(settings.total_deadline_s):
            async with aiohttp.ClientSession() as session:
                client = WarmupClient(session, base_url, settings, keys, recv_window_ms)
                result = await _warmup(
                    client, symbol, settings, require_hedge_mode, bar_interval_minutes
                )
    except TimeoutError as exc:
        raise WarmupError(
            f"warmup did not finish within warmup.total_deadline_s={settings.total_deadline_s}"
        ) from exc
    log.info(
        "warmup.done",
        symbol=symbol,
        bars=len(result.bars),
        clock_skew_ms=round(result.clock_skew_ms, 1),
        hedge_mode=result.hedge_mode,
        funding_rate=str(result.funding_rate),
        elapsed_s=round(time.monotonic() - started, 3),
    )
    return result


async def _warmup(
    client: WarmupClient,
    symbol: str,
    settings: WarmupSettings,
    require_hedge_mode: bool,
    bar_interval_minutes: int,
) -> WarmupResult:
    info = await client.get("/fapi/v1/exchangeInfo")
    try:
        spec = spec_from_exchange_info(info, symbol)
    except DataError as exc:
        raise VenueRefusedError(f"instrument {symbol} cannot be traded: {exc}") from exc

    sent = time.time() * 1000
    server = await client.get("/fapi/v1/time")
    received = time.time() * 1000
    try:
        server_ms = float(server["serverTime"])
    except (KeyError, TypeError, ValueError) as exc:
        raise WarmupError("warmup /fapi/v1/time: no serverTime") from exc
    skew = (sent + received) / 2 - server_ms
    if abs(skew) > settings.max_clock_skew_ms:
        raise WarmupError(
            f"clock skew {skew:.0f} ms exceeds "
            f"warmup.max_clock_skew_ms={settings.max_clock_skew_ms}"
        )

    hedge: bool | None = None
    if require_hedge_mode:
        dual = await client.get("/fapi/v1/positionSide/dual", signed=True)
        hedge = bool(isinstance(dual, dict) and dual.get("dualSidePosition") is True)
        if not hedge:
            raise VenueRefusedError(
                "the account is in one-way (netting) position mode; hedge mode "
                "(dualSidePosition=true) is required and is never downgraded"
            )

    bars: tuple[WarmupBar, ...] = ()
    if settings.history_bars > 0:
        rows = await client.get(
            "/fapi/v1/klines",
            {
                "symbol": symbol,
                "interval": f"{bar_interval_minutes}m",
                "limit": min(1500, settings.history_bars + 1),
            },
        )
        bars = _parse_bars(rows, int(server_ms))[-settings.history_bars :]
        if len(bars) < settings.history_bars:
            log.warning("warmup.history_short", wanted=settings.history_bars, got=len(bars))

    premium = await client.get("/fapi/v1/premiumIndex", {"symbol": symbol})
    funding_rate = next_funding = mark = None
    if isinstance(premium, dict):
        try:
            funding_rate = Decimal(str(premium["lastFundingRate"]))
            next_funding = int(premium["nextFundingTime"])
            mark = Decimal(str(premium["markPrice"]))
        except (KeyError, ValueError, ArithmeticError) as exc:
            raise WarmupError("warmup /fapi/v1/premiumIndex: malformed document") from exc
    return WarmupResult(
        spec=spec,
        hedge_mode=hedge,
        clock_skew_ms=skew,
        bars=bars,
        funding_rate=funding_rate,
        next_funding_ms=next_funding,
        mark_price=mark,
    )
