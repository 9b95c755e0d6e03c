"""Request weights per minute, 429 + Retry-After, then 418 bans (Binance's IP limits).

Binance counts request weight per fixed wall-clock minute. A request that would go
over the limit gets HTTP 429 (code -1003) and a ``Retry-After`` header; a client
that keeps sending while limited is banned with HTTP 418 for ``ban_seconds``.
Every response carries ``X-MBX-USED-WEIGHT-1M``. Weights are Binance's per endpoint
(``request_weight``); placing and amending orders weighs 0 on the IP limit (they count
against the order limits), but while the minute's weight is at or over the limit
every request is refused.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

# Request weights as Binance documents them for each endpoint (1 when not listed).
ENDPOINT_WEIGHTS: dict[tuple[str, str], int] = {
    ("GET", "/fapi/v1/exchangeInfo"): 1,
    ("GET", "/fapi/v1/aggTrades"): 20,
    ("GET", "/fapi/v1/trades"): 5,
    ("GET", "/fapi/v1/fundingInfo"): 0,  # its own 500 / 5 min / IP bucket (not modelled)
    ("GET", "/fapi/v1/fundingRate"): 0,  # shares that bucket with fundingInfo
    ("GET", "/fapi/v1/leverageBracket"): 1,
    ("GET", "/fapi/v2/account"): 5,
    ("GET", "/fapi/v3/account"): 5,
    ("GET", "/fapi/v2/balance"): 5,
    ("GET", "/fapi/v3/balance"): 5,
    ("GET", "/fapi/v2/positionRisk"): 5,
    ("GET", "/fapi/v3/positionRisk"): 5,
    ("GET", "/fapi/v1/symbolConfig"): 5,
    ("GET", "/fapi/v1/accountConfig"): 5,
    ("GET", "/fapi/v1/multiAssetsMargin"): 30,
    ("GET", "/fapi/v1/commissionRate"): 20,
    ("GET", "/fapi/v1/income"): 30,
    ("GET", "/fapi/v1/allOrders"): 5,
    ("GET", "/fapi/v1/userTrades"): 5,
    ("GET", "/fapi/v1/openAlgoOrders"): 1,
    ("GET", "/fapi/v1/allAlgoOrders"): 5,
    ("GET", "/fapi/v1/positionSide/dual"): 30,
    ("POST", "/fapi/v1/order"): 0,  # orders count against the order limits instead
    ("PUT", "/fapi/v1/order"): 0,
    ("POST", "/fapi/v1/algoOrder"): 0,
    ("POST", "/fapi/v1/batchOrders"): 5,
    ("POST", "/fapi/v1/countdownCancelAll"): 10,
    ("PUT", "/fapi/v1/batchOrders"): 5,
    ("DELETE", "/fapi/v1/batchOrders"): 1,
}
# Weight without / with ``symbol`` (a request for every symbol costs more).
ALL_SYMBOLS_WEIGHTS: dict[tuple[str, str], tuple[int, int]] = {
    ("GET", "/fapi/v1/ticker/24hr"): (40, 1),
    ("GET", "/fapi/v1/ticker/price"): (2, 1),
    ("GET", "/fapi/v2/ticker/price"): (2, 1),
    ("GET", "/fapi/v1/ticker/bookTicker"): (5, 2),
    ("GET", "/fapi/v1/openOrders"): (40, 1),
    ("GET", "/fapi/v1/premiumIndex"): (10, 1),
}
KLINE_PATHS = frozenset(
    {
        "/fapi/v1/klines",
        "/fapi/v1/continuousKlines",
        "/fapi/v1/markPriceKlines",
        "/fapi/v1/indexPriceKlines",
    }
)


def _limit(params: dict[str, str], default: int) -> int:
    try:
        return int(params.get("limit") or default)
    except ValueError:
        return default


def request_weight(method: str, path: str, params: dict[str, str] | None = None) -> int:
    """Binance's weight of one request (klines and depth by ``limit``, tickers by symbol)."""
    params = params or {}
    if method == "GET" and path in KLINE_PATHS:
        limit = _limit(params, 500)
        return 1 if limit < 100 else 2 if limit < 500 else 5 if limit <= 1000 else 10
    if method == "GET" and path == "/fapi/v1/depth":
        limit = _limit(params, 500)
        return 2 if limit <= 50 else 5 if limit <= 100 else 10 if limit <= 500 else 20
    pair = ALL_SYMBOLS_WEIGHTS.get((method, path))
    if pair is not None:
        return pair[1] if params.get("symbol") else pair[0]
    return ENDPOINT_WEIGHTS.get((method, path), 1)


@dataclass(frozen=True, slots=True)
class LimitDecision:
    """The verdict on one request: allowed, or the status and Retry-After to answer."""

    allowed: bool
    status: int = 200
    retry_after_s: int = 0
    used_weight: int = 0


class WeightLimiter:
    """Fixed-window weight counter with 429 then 418 escalation."""

    def __init__(self, limit: int, ban_after_429s: int, ban_seconds: int) -> None:
        self.limit = limit
        self.ban_after_429s = ban_after_429s
        self.ban_seconds = ban_seconds
        self._window = -1
        self._used = 0
        self._violations = 0
        self._banned_until = 0.0
        self.count_429 = 0
        self.count_418 = 0

    @property
    def banned_until_ms(self) -> int:
        """Wall-clock end of the current 418 ban (ms; 0 when not banned)."""
        return int(self._banned_until * 1000)

    def check(self, method: str, path: str, params: dict[str, str] | None = None) -> LimitDecision:
        """Count the request's weight and decide whether it may proceed."""
        now = time.time()
        if now < self._banned_until:
            self.count_418 += 1
            return LimitDecision(False, 418, math.ceil(self._banned_until - now), self._used)
        window = int(now // 60)
        if window != self._window:
            self._window, self._used, self._violations = window, 0, 0
        weight = request_weight(method, path, params)
        retry_after = max(1, math.ceil((window + 1) * 60 - now))
        # Over the limit (or at it) every request is refused, weightless ones included.
        if self._used + weight > self.limit or self._used >= self.limit:
            self._violations += 1
            if self._violations > self.ban_after_429s:
                self._banned_until = now + self.ban_seconds
                self.count_418 += 1
                return LimitDecision(False, 418, self.ban_seconds, self._used)
            self.count_429 += 1
            return LimitDecision(False, 429, retry_after, self._used)
        self._used += weight
        return LimitDecision(True, 200, 0, self._used)

    def set_limit(self, limit: int) -> None:
        """Change the per-minute weight limit (a fault: make 429s easy to reach)."""
        self.limit = limit

    def reset(self) -> None:
        """Forget the current window and any ban."""
        self._window, self._used, self._violations, self._banned_until = -1, 0, 0, 0.0


class OrderRateLimiter:
    """Order-count limits per account: ``per_10s`` and ``per_minute`` fixed windows.

    Over either limit a placement is refused with HTTP 429 and code -1015; every
    placement answer carries ``X-MBX-ORDER-COUNT-10S`` and ``X-MBX-ORDER-COUNT-1M``.
    """

    def __init__(self, per_10s: int, per_minute: int) -> None:
        self.per_10s = per_10s
        self.per_minute = per_minute
        self._w10 = self._w60 = -1
        self.count_10s = self.count_1m = 0
        self.refused = 0

    def take(self, orders: int = 1) -> bool:
        """Count ``orders`` new orders now; False (and nothing counted) when over a limit."""
        now = time.time()
        w10, w60 = int(now // 10), int(now // 60)
        if w10 != self._w10:
            self._w10, self.count_10s = w10, 0
        if w60 != self._w60:
            self._w60, self.count_1m = w60, 0
        if self.count_10s + orders > self.per_10s or self.count_1m + orders > self.per_minute:
            self.refused += 1
            return False
        self.count_10s += orders
        self.count_1m += orders
        return True

    def headers(self) -> dict[str, str]:
        """The order-count headers Binance sends on order placements."""
        return {
            "X-MBX-ORDER-COUNT-10S": str(self.count_10s),
            "X-MBX-ORDER-COUNT-1M": str(self.count_1m),
        }
