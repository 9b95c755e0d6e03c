"""REST side of the simulator: Binance USD-M ``/fapi`` routes and the per-request guard.

Guard (``RestApi._guarded``), in order: read the query string and body as sent
(parameters from both; the query wins), record the request, answer 503 while the
venue is restarting, apply latency and 5xx faults, count weight (429/418), check
the API key and, on SIGNED routes, ``timestamp``/``recvWindow`` and the HMAC-SHA256
signature of query + body (``hedgegridd.sim.auth``), count new orders (429 -1015),
then dispatch to the handler (``market_views``, ``account_views``, ``trade_views``).
Errors are Binance's JSON ``{"code": ..., "msg": ...}``; nothing internal is ever
put in a response.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import structlog
from aiohttp import web

import hedgegridd.sim.account_settings as settings
import hedgegridd.sim.account_views as account
import hedgegridd.sim.kline_views as kline
import hedgegridd.sim.market_views as market
import hedgegridd.sim.trade_views as trade
from hedgegridd.sim.auth import RawRequest, check_api_key, check_signed
from hedgegridd.sim.orders import VenueError

if TYPE_CHECKING:
    from hedgegridd.sim.host import SimHost as SimExchange

log = structlog.get_logger(__name__)

Params = dict[str, str]
Endpoint = Callable[["SimExchange", Params], Any]
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

PUBLIC = "public"
API_KEY = "api_key"
SIGNED = "signed"

ORDER_PATHS = ("/fapi/v1/order", "/fapi/v1/batchOrders", "/fapi/v1/algoOrder")


@dataclass(frozen=True, slots=True)
class SeenRequest:
    """One request the simulator received (for tests: what reached which endpoint)."""

    method: str
    path: str
    params: dict[str, str]
    at: float


def _orders_in(path: str, params: Params) -> int:
    """How many new orders a POST to ``path`` places (batchOrders: the list length)."""
    if path != "/fapi/v1/batchOrders":
        return 1
    try:
        batch = json.loads(params.get("batchOrders", "[]"))
    except ValueError:
        return 1
    return len(batch) if isinstance(batch, list) and batch else 1


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _listen_key_new(sim: SimExchange, _p: Params) -> dict[str, Any]:
    return {"listenKey": sim.hub.create_listen_key()}


def _listen_key_keepalive(sim: SimExchange, p: Params) -> dict[str, Any]:
    """Extend the key sent, or the account's key when none is (Binance takes none)."""
    key = p.get("listenKey") or next(iter(sim.hub.listen_keys), None)
    if not sim.hub.keepalive_listen_key(key):
        raise VenueError(
            -1125,
            "This listenKey does not exist. "
            "Please use POST /fapi/v1/listenKey to recreate listenKey",
        )
    return {"listenKey": key}


async def _listen_key_delete(sim: SimExchange, p: Params) -> dict[str, Any]:
    await sim.hub.close_listen_key(p.get("listenKey"))
    return {}


ROUTES: dict[tuple[str, str], tuple[str, Endpoint]] = {
    # Market data (NONE)
    ("GET", "/fapi/v1/ping"): (PUBLIC, lambda s, p: {}),
    ("GET", "/fapi/v1/time"): (PUBLIC, lambda s, p: {"serverTime": _now_ms()}),
    ("GET", "/fapi/v1/exchangeInfo"): (PUBLIC, market.exchange_info),
    ("GET", "/fapi/v1/depth"): (PUBLIC, market.depth),
    ("GET", "/fapi/v1/aggTrades"): (PUBLIC, kline.agg_trades),
    ("GET", "/fapi/v1/trades"): (PUBLIC, kline.recent_trades),
    ("GET", "/fapi/v1/klines"): (PUBLIC, kline.klines),
    ("GET", "/fapi/v1/continuousKlines"): (PUBLIC, kline.continuous_klines),
    ("GET", "/fapi/v1/markPriceKlines"): (PUBLIC, kline.mark_price_klines),
    ("GET", "/fapi/v1/indexPriceKlines"): (PUBLIC, kline.index_price_klines),
    ("GET", "/fapi/v1/premiumIndex"): (PUBLIC, market.premium_index),
    ("GET", "/fapi/v1/fundingRate"): (PUBLIC, market.funding_rate),
    ("GET", "/fapi/v1/fundingInfo"): (PUBLIC, market.funding_info),
    ("GET", "/fapi/v1/ticker/24hr"): (PUBLIC, market.ticker_24hr),
    ("GET", "/fapi/v1/ticker/price"): (PUBLIC, market.ticker_price),
    ("GET", "/fapi/v2/ticker/price"): (PUBLIC, market.ticker_price),
    ("GET", "/fapi/v1/ticker/bookTicker"): (PUBLIC, market.book_ticker),
    # User data stream (USER_STREAM: API key only)
    ("POST", "/fapi/v1/listenKey"): (API_KEY, _listen_key_new),
    ("PUT", "/fapi/v1/listenKey"): (API_KEY, _listen_key_keepalive),
    ("DELETE", "/fapi/v1/listenKey"): (API_KEY, _listen_key_delete),
    # Account (USER_DATA / TRADE)
    ("GET", "/fapi/v2/account"): (SIGNED, account.account_v2),
    ("GET", "/fapi/v3/account"): (SIGNED, account.account_v3),
    ("GET", "/fapi/v2/balance"): (SIGNED, account.balances),
    ("GET", "/fapi/v3/balance"): (SIGNED, account.balances),
    ("GET", "/fapi/v2/positionRisk"): (SIGNED, account.position_risk_v2),
    ("GET", "/fapi/v3/positionRisk"): (SIGNED, account.position_risk_v3),
    ("GET", "/fapi/v1/positionSide/dual"): (
        SIGNED,
        lambda s, p: {"dualSidePosition": account.dual_side(s)},
    ),
    ("POST", "/fapi/v1/positionSide/dual"): (SIGNED, settings.set_dual),
    ("GET", "/fapi/v1/accountConfig"): (SIGNED, settings.account_config),
    ("GET", "/fapi/v1/multiAssetsMargin"): (SIGNED, settings.multi_assets),
    ("POST", "/fapi/v1/multiAssetsMargin"): (SIGNED, settings.set_multi_assets),
    ("GET", "/fapi/v1/symbolConfig"): (SIGNED, account.symbol_config),
    ("GET", "/fapi/v1/leverageBracket"): (SIGNED, account.leverage_bracket),
    ("GET", "/fapi/v1/commissionRate"): (SIGNED, account.commission),
    ("GET", "/fapi/v1/income"): (SIGNED, account.income),
    ("POST", "/fapi/v1/leverage"): (SIGNED, settings.set_leverage),
    ("POST", "/fapi/v1/marginType"): (SIGNED, settings.set_margin_type),
    # Trade
    ("POST", "/fapi/v1/order"): (SIGNED, trade.new_order),
    ("GET", "/fapi/v1/order"): (SIGNED, trade.query_order),
    ("DELETE", "/fapi/v1/order"): (SIGNED, trade.cancel_order),
    ("PUT", "/fapi/v1/order"): (SIGNED, trade.modify_order),
    ("POST", "/fapi/v1/batchOrders"): (SIGNED, trade.batch_orders),
    ("PUT", "/fapi/v1/batchOrders"): (SIGNED, trade.batch_modify),
    ("DELETE", "/fapi/v1/batchOrders"): (SIGNED, trade.batch_cancel),
    ("GET", "/fapi/v1/openOrders"): (SIGNED, trade.open_orders),
    ("GET", "/fapi/v1/openOrder"): (SIGNED, trade.open_order),
    ("GET", "/fapi/v1/allOrders"): (SIGNED, trade.all_orders),
    ("GET", "/fapi/v1/userTrades"): (SIGNED, trade.user_trades),
    ("DELETE", "/fapi/v1/allOpenOrders"): (SIGNED, trade.cancel_all),
    ("POST", "/fapi/v1/countdownCancelAll"): (SIGNED, trade.countdown),
    ("POST", "/fapi/v1/algoOrder"): (SIGNED, trade.new_algo),
    ("GET", "/fapi/v1/algoOrder"): (SIGNED, trade.query_algo),
    ("DELETE", "/fapi/v1/algoOrder"): (SIGNED, trade.cancel_algo),
    ("GET", "/fapi/v1/openAlgoOrders"): (SIGNED, trade.open_algos),
    ("GET", "/fapi/v1/allAlgoOrders"): (SIGNED, trade.all_algos),
    ("DELETE", "/fapi/v1/algoOpenOrders"): (SIGNED, trade.cancel_all_algos),
}


async def _raw(request: web.Request) -> RawRequest:
    # GET parameters travel in the query string only (a GET body is not read).
    body = await request.read() if request.can_read_body and request.method != "GET" else b""
    query = request.raw_path.partition("?")[2]
    # The header as sent: aiohttp reports application/octet-stream when there is none.
    ctype = request.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
    return RawRequest(query.encode(), body, ctype)


class RestApi:
    """Installs ``ROUTES`` behind the guard; all state lives on the ``SimExchange``."""

    def __init__(self, sim: SimExchange) -> None:
        self.sim = sim
        self.routes = ROUTES

    def install(self, app: web.Application) -> None:
        """Register every route on ``app``."""
        for (method, path), (security, endpoint) in self.routes.items():
            app.router.add_route(method, path, self._guarded(method, path, security, endpoint))

    def _guarded(self, method: str, path: str, security: str, endpoint: Endpoint) -> Handler:
        async def run(request: web.Request) -> web.StreamResponse:
            sim = self.sim
            raw = await _raw(request)
            params = raw.params()
            sim.requests.append(SeenRequest(method, path, params, time.time()))
            early = await self._faults(path)
            if early is not None:
                return early
            verdict = sim.limiter.check(method, path, params)
            headers = {"X-MBX-USED-WEIGHT-1M": str(verdict.used_weight)}
            if not verdict.allowed:
                headers["Retry-After"] = str(verdict.retry_after_s)
                msg = (
                    "Too many requests; current limit is "
                    f"{sim.limiter.limit} requests per minute. Please use the websocket "
                    "for live updates to avoid polling the API."
                    if verdict.status == 429
                    else f"Way too many requests; IP banned until {sim.limiter.banned_until_ms}. "
                    "Please use the websocket for live updates to avoid bans."
                )
                return web.json_response(
                    {"code": -1003, "msg": msg}, status=verdict.status, headers=headers
                )
            try:
                raw.check_duplicates()
                if security != PUBLIC:
                    check_api_key(request.headers.get("X-MBX-APIKEY"), sim.config.api_key)
                if security == SIGNED:
                    check_signed(
                        raw,
                        params,
                        secret=sim.config.api_secret,
                        now_ms=_now_ms(),
                        recv_window_max_ms=sim.config.recv_window_max_ms,
                    )
                if (method == "POST" and path in ORDER_PATHS) or (
                    method == "PUT" and path in ("/fapi/v1/order", "/fapi/v1/batchOrders")
                ):
                    self._count_orders(path, params, headers)
                result = endpoint(sim, params)
                if inspect.isawaitable(result):
                    result = await result
            except VenueError as exc:
                if path in ORDER_PATHS:
                    sim.order_rejections[exc.code] += 1
                    log.info("sim.order_rejected", path=path, code=exc.code)
                return web.json_response(exc.body(), status=exc.status, headers=headers)
            return web.json_response(result, headers=headers)

        return run

    async def _faults(self, path: str) -> web.StreamResponse | None:
        """The restart, latency and 5xx faults (None: go on)."""
        sim = self.sim
        if sim.faults.is_down():
            return web.json_response(
                {"code": -1001, "msg": "Service unavailable (venue restarting)."}, status=503
            )
        delay = sim.faults.latency_for(path)
        if delay > 0:
            await asyncio.sleep(delay)
        failure = sim.faults.take_failure(path)
        if failure is not None:
            return web.json_response(
                {"code": -1001, "msg": "Internal error; unable to process your request."},
                status=failure.status,
            )
        return None

    def _count_orders(self, path: str, params: Params, headers: dict[str, str]) -> None:
        limiter = self.sim.order_limiter
        if not limiter.take(_orders_in(path, params)):
            headers.update(limiter.headers())
            raise VenueError(
                -1015,
                f"Too many new orders; current limit is {limiter.per_10s} orders per 10 SECOND.",
                429,
            )
        headers.update(limiter.headers())
