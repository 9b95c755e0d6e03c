"""REST side of the simulator: Binance USD-M ``/fapi`` endpoints the adapter calls.

Per-route guard (``RestApi._guarded``): record the request, answer 503 while the
venue is restarting, apply latency and 5xx faults, count weight (429/418), check
the API key, ``timestamp`` against ``recvWindow`` (-1021) and the HMAC-SHA256
``signature`` of the query string (-1022), count new orders (429 -1015), then
dispatch. Errors are Binance's JSON ``{"code": ..., "msg": ...}``; nothing
internal is ever put in a response.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import structlog
from aiohttp import web

import hedgegridd.sim.views as views
from hedgegridd.sim.orders import VenueError

if TYPE_CHECKING:
    from hedgegridd.sim.exchange import SimExchange

log = structlog.get_logger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

PUBLIC = "public"
API_KEY = "api_key"
SIGNED = "signed"

ORDER_PATHS = ("/fapi/v1/order", "/fapi/v1/batchOrders", "/fapi/v1/algoOrder")


def _orders_in(path: str, params: dict[str, str]) -> int:
    """How many new orders a POST to ``path`` places (batchOrders: the list length)."""
    if path != "/fapi/v1/batchOrders":
        return 1
    try:
        batch = json.loads(params.get("batchOrders", "[]"))
    except ValueError:
        return 1
    return len(batch) if isinstance(batch, list) and batch else 1


@dataclass(frozen=True, slots=True)
class SeenRequest:
    """One request the simulator received (for tests: what reached which endpoint)."""

    method: str
    path: str
    params: dict[str, str]
    at: float


def _params(request: web.Request, body: str) -> dict[str, str]:
    params = {k: v for k, v in request.query.items()}
    if body:
        for part in body.split("&"):
            if "=" in part:
                k, _, v = part.partition("=")
                params[k] = v
    return params


class RestApi:
    """Routes and handlers; all state lives on the ``SimExchange``."""

    def __init__(self, sim: SimExchange) -> None:
        self.sim = sim
        e = self._endpoint
        self.routes: dict[tuple[str, str], tuple[str, Handler]] = {
            ("GET", "/fapi/v1/ping"): (PUBLIC, e(lambda r, p: {})),
            ("GET", "/fapi/v1/time"): (PUBLIC, e(lambda r, p: {"serverTime": _now_ms()})),
            ("GET", "/fapi/v1/exchangeInfo"): (PUBLIC, e(lambda r, p: views.exchange_info(sim))),
            ("GET", "/fapi/v1/premiumIndex"): (PUBLIC, e(lambda r, p: sim.ticker.premium_index())),
            ("GET", "/fapi/v1/ticker/bookTicker"): (
                PUBLIC,
                e(lambda r, p: sim.ticker.book_ticker_rest()),
            ),
            ("GET", "/fapi/v1/klines"): (PUBLIC, e(lambda r, p: sim.ticker.klines_rest(p))),
            ("GET", "/fapi/v1/depth"): (PUBLIC, e(lambda r, p: views.depth(sim, p))),
            ("GET", "/fapi/v1/ticker/price"): (PUBLIC, e(lambda r, p: views.ticker_price(sim))),
            ("GET", "/fapi/v2/ticker/price"): (PUBLIC, e(lambda r, p: views.ticker_price(sim))),
            ("POST", "/fapi/v1/listenKey"): (API_KEY, e(self._listen_key_new)),
            ("PUT", "/fapi/v1/listenKey"): (API_KEY, e(self._listen_key_keepalive)),
            ("DELETE", "/fapi/v1/listenKey"): (API_KEY, e(self._listen_key_delete)),
            ("GET", "/fapi/v2/account"): (SIGNED, e(lambda r, p: views.account_info(sim))),
            ("GET", "/fapi/v3/account"): (SIGNED, e(lambda r, p: views.account_info(sim))),
            ("GET", "/fapi/v2/balance"): (
                SIGNED,
                e(lambda r, p: views.account_info(sim)["assets"]),
            ),
            ("GET", "/fapi/v2/positionRisk"): (SIGNED, e(lambda r, p: views.position_risk(sim))),
            ("GET", "/fapi/v3/positionRisk"): (SIGNED, e(lambda r, p: views.position_risk(sim))),
            ("GET", "/fapi/v1/positionSide/dual"): (
                SIGNED,
                e(lambda r, p: {"dualSidePosition": sim.engine.dual_side}),
            ),
            ("POST", "/fapi/v1/positionSide/dual"): (SIGNED, e(self._set_dual)),
            ("GET", "/fapi/v1/symbolConfig"): (SIGNED, e(lambda r, p: views.symbol_config(sim))),
            ("POST", "/fapi/v1/leverage"): (SIGNED, e(self._set_leverage)),
            ("POST", "/fapi/v1/marginType"): (SIGNED, e(self._set_margin_type)),
            ("GET", "/fapi/v1/commissionRate"): (
                SIGNED,
                e(lambda r, p: views.commission(sim)),
            ),
            ("POST", "/fapi/v1/order"): (SIGNED, e(self._new_order)),
            ("GET", "/fapi/v1/order"): (SIGNED, e(self._query_order)),
            ("DELETE", "/fapi/v1/order"): (SIGNED, e(self._cancel_order)),
            ("PUT", "/fapi/v1/order"): (SIGNED, e(self._modify_order)),
            ("POST", "/fapi/v1/batchOrders"): (SIGNED, e(self._batch_new)),
            ("DELETE", "/fapi/v1/batchOrders"): (SIGNED, e(self._batch_cancel)),
            ("GET", "/fapi/v1/openOrders"): (SIGNED, e(self._open_orders)),
            ("GET", "/fapi/v1/openOrder"): (SIGNED, e(self._open_order)),
            ("GET", "/fapi/v1/allOrders"): (SIGNED, e(self._all_orders)),
            ("GET", "/fapi/v1/userTrades"): (SIGNED, e(self._user_trades)),
            ("DELETE", "/fapi/v1/allOpenOrders"): (SIGNED, e(self._cancel_all)),
            ("POST", "/fapi/v1/countdownCancelAll"): (SIGNED, e(self._countdown)),
            ("POST", "/fapi/v1/algoOrder"): (SIGNED, e(self._new_algo)),
            ("GET", "/fapi/v1/algoOrder"): (SIGNED, e(self._query_algo)),
            ("DELETE", "/fapi/v1/algoOrder"): (SIGNED, e(self._cancel_algo)),
            ("GET", "/fapi/v1/openAlgoOrders"): (SIGNED, e(self._open_algos)),
            ("GET", "/fapi/v1/allAlgoOrders"): (SIGNED, e(self._all_algos)),
            ("DELETE", "/fapi/v1/algoOpenOrders"): (SIGNED, e(self._cancel_all_algos)),
        }

    # ------------------------------------------------------------ pipeline
    def install(self, app: web.Application) -> None:
        """Register every route on ``app``."""
        for (method, path), (_sec, handler) in self.routes.items():
            app.router.add_route(method, path, self._guarded(method, path, handler))

    def _guarded(self, method: str, path: str, handler: Handler) -> Handler:
        security = self.routes[(method, path)][0]

        async def run(request: web.Request) -> web.StreamResponse:
            sim = self.sim
            body = await request.text() if request.can_read_body else ""
            params = _params(request, body)
            sim.requests.append(SeenRequest(method, path, params, time.time()))
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
            verdict = sim.limiter.check(method, path)
            headers = {"X-MBX-USED-WEIGHT-1M": str(verdict.used_weight)}
            if not verdict.allowed:
                headers["Retry-After"] = str(verdict.retry_after_s)
                msg = (
                    "Too many requests; current limit is "
                    f"{sim.limiter.limit} request weight per 1 MINUTE."
                    if verdict.status == 429
                    else "Way too many requests; IP banned."
                )
                return web.json_response(
                    {"code": -1003, "msg": msg}, status=verdict.status, headers=headers
                )
            try:
                if security != PUBLIC:
                    self._check_api_key(request)
                if security == SIGNED:
                    self._check_signature(request, params, body)
                if method == "POST" and path in ORDER_PATHS:
                    if not sim.order_limiter.take(_orders_in(path, params)):
                        headers.update(sim.order_limiter.headers())
                        raise VenueError(
                            -1015,
                            "Too many new orders; current limit is "
                            f"{sim.order_limiter.per_10s} orders per 10 SECOND.",
                            429,
                        )
                    headers.update(sim.order_limiter.headers())
                response = await handler(request)
            except VenueError as exc:
                if path in ORDER_PATHS:
                    sim.order_rejections[exc.code] += 1
                    log.info("sim.order_rejected", path=path, code=exc.code)
                return web.json_response(exc.body(), status=exc.status, headers=headers)
            response.headers.update(headers)
            return response

        return run

    def _check_api_key(self, request: web.Request) -> None:
        if request.headers.get("X-MBX-APIKEY") != self.sim.config.api_key:
            raise VenueError(-2015, "Invalid API-key, IP, or permissions for action.", 401)

    def _check_signature(self, request: web.Request, params: dict[str, str], body: str) -> None:
        raw_query = request.query_string
        parts = [p for p in raw_query.split("&") if p and not p.startswith("signature=")]
        payload = "&".join(parts) + body
        sig = params.get("signature")
        ts_raw = params.get("timestamp")
        if ts_raw is None:
            raise VenueError(-1102, "Mandatory parameter 'timestamp' was not sent.")
        try:
            ts = int(ts_raw)
            recv_window = int(params.get("recvWindow", "5000"))
        except ValueError as exc:
            raise VenueError(-1100, "Illegal characters found in parameter 'timestamp'.") from exc
        now = _now_ms()
        if recv_window > self.sim.config.recv_window_max_ms or recv_window <= 0:
            raise VenueError(-1131, "recvWindow must be less than 60000")
        if ts > now + 1000 or now - ts > recv_window:
            raise VenueError(-1021, "Timestamp for this request is outside of the recvWindow.")
        expected = hmac.new(
            self.sim.config.api_secret.encode(), payload.encode(), hashlib.sha256
        ).hexdigest()
        if sig is None or not hmac.compare_digest(sig, expected):
            raise VenueError(-1022, "Signature for this request is not valid.")

    def _endpoint(self, fn: Callable[[web.Request, dict[str, str]], Any]) -> Handler:
        async def handler(request: web.Request) -> web.StreamResponse:
            body = await request.text() if request.can_read_body else ""
            result = fn(request, _params(request, body))
            if asyncio.iscoroutine(result):
                result = await result
            return web.json_response(result)

        return handler

    # ------------------------------------------------------------- handlers
    def _listen_key_new(self, _r: web.Request, _p: dict[str, str]) -> dict[str, Any]:
        return {"listenKey": self.sim.hub.create_listen_key()}

    def _listen_key_keepalive(self, _r: web.Request, p: dict[str, str]) -> dict[str, Any]:
        if not self.sim.hub.keepalive_listen_key(p.get("listenKey")):
            raise VenueError(-1125, "This listenKey does not exist.")
        return {}

    async def _listen_key_delete(self, _r: web.Request, p: dict[str, str]) -> dict[str, Any]:
        await self.sim.hub.close_listen_key(p.get("listenKey"))
        return {}

    def _set_dual(self, _r: web.Request, p: dict[str, str]) -> dict[str, Any]:
        wanted = p.get("dualSidePosition", "").lower() == "true"
        engine = self.sim.engine
        if wanted == engine.dual_side:
            raise VenueError(-4059, "No need to change position side.")
        if engine.open_orders() or any(pos.amt for pos in engine.positions.values()):
            raise VenueError(-4068, "Position side cannot be changed if there exists position.")
        engine.dual_side = wanted
        return {"code": 200, "msg": "success"}

    def _set_leverage(self, _r: web.Request, p: dict[str, str]) -> dict[str, Any]:
        self.sim.check_symbol(p)
        try:
            lev = int(p.get("leverage", ""))
        except ValueError as exc:
            raise VenueError(-4028, "Leverage is not valid") from exc
        if not 1 <= lev <= 125:
            raise VenueError(-4028, f"Leverage {lev} is not valid")
        self.sim.engine.leverage = lev
        return {"leverage": lev, "maxNotionalValue": "1000000", "symbol": p["symbol"]}

    def _set_margin_type(self, _r: web.Request, p: dict[str, str]) -> dict[str, Any]:
        self.sim.check_symbol(p)
        if p.get("marginType", "").upper() != "CROSSED":
            raise VenueError(-4046, "No need to change margin type.")
        return {"code": 200, "msg": "success"}

    async def _new_order(self, _r: web.Request, p: dict[str, str]) -> dict[str, Any]:
        return await self.sim.venue.place_order(p)

    def _query_order(self, _r: web.Request, p: dict[str, str]) -> dict[str, Any]:
        self.sim.check_symbol(p)
        order = self.sim.engine.find_order(p.get("orderId"), p.get("origClientOrderId"))
        return order.to_rest(self.sim.fmt)

    async def _cancel_order(self, _r: web.Request, p: dict[str, str]) -> dict[str, Any]:
        self.sim.check_symbol(p)
        return await self.sim.venue.cancel_order(p.get("orderId"), p.get("origClientOrderId"))

    async def _modify_order(self, _r: web.Request, p: dict[str, str]) -> dict[str, Any]:
        self.sim.check_symbol(p)
        return await self.sim.venue.modify_order(p)

    async def _batch_new(self, _r: web.Request, p: dict[str, str]) -> list[dict[str, Any]]:
        batch = _json_list(p.get("batchOrders"), "batchOrders")
        out: list[dict[str, Any]] = []
        for item in batch[:5]:
            try:
                out.append(await self.sim.venue.place_order({k: str(v) for k, v in item.items()}))
            except VenueError as exc:
                out.append(exc.body())
        return out

    async def _batch_cancel(self, _r: web.Request, p: dict[str, str]) -> list[dict[str, Any]]:
        self.sim.check_symbol(p)
        ids = p.get("orderIdList")
        clients = p.get("origClientOrderIdList")
        pairs: list[tuple[str | None, str | None]]
        if ids:
            pairs = [(str(i), None) for i in _json_list(ids, "orderIdList")]
        else:
            pairs = [(None, str(c)) for c in _json_list(clients, "origClientOrderIdList")]
        out: list[dict[str, Any]] = []
        for order_id, client_id in pairs[:10]:
            try:
                out.append(await self.sim.venue.cancel_order(order_id, client_id))
            except VenueError as exc:
                out.append(exc.body())
        return out

    def _open_orders(self, _r: web.Request, p: dict[str, str]) -> list[dict[str, Any]]:
        return [o.to_rest(self.sim.fmt) for o in self.sim.engine.open_orders()]

    def _open_order(self, _r: web.Request, p: dict[str, str]) -> dict[str, Any]:
        order = self.sim.engine.find_order(p.get("orderId"), p.get("origClientOrderId"))
        if not order.is_open:
            raise VenueError(-2013, "Order does not exist.")
        return order.to_rest(self.sim.fmt)

    def _all_orders(self, _r: web.Request, p: dict[str, str]) -> list[dict[str, Any]]:
        self.sim.check_symbol(p)
        start, end, limit = _window(p, default_limit=500)
        rows = [o for o in self.sim.engine.orders.values() if start <= o.time_ms <= end]
        return [o.to_rest(self.sim.fmt) for o in rows[-limit:]]

    def _user_trades(self, _r: web.Request, p: dict[str, str]) -> list[dict[str, Any]]:
        self.sim.check_symbol(p)
        start, end, limit = _window(p, default_limit=500)
        order_id = p.get("orderId")
        rows = [
            t
            for t in self.sim.engine.trades
            if start <= t.time_ms <= end and (order_id is None or str(t.order_id) == order_id)
        ]
        return [t.to_rest(self.sim.fmt) for t in rows[-limit:]]

    async def _cancel_all(self, _r: web.Request, p: dict[str, str]) -> dict[str, Any]:
        self.sim.check_symbol(p)
        await self.sim.venue.cancel_all()
        return {"code": 200, "msg": "The operation of cancel all open order is done."}

    def _countdown(self, _r: web.Request, p: dict[str, str]) -> dict[str, Any]:
        self.sim.check_symbol(p)
        try:
            ms = int(p.get("countdownTime", ""))
        except ValueError as exc:
            raise VenueError(-1102, "Mandatory parameter 'countdownTime' was not sent.") from exc
        self.sim.venue.set_countdown(ms)
        return {"symbol": p["symbol"], "countdownTime": str(ms)}

    async def _new_algo(self, _r: web.Request, p: dict[str, str]) -> dict[str, Any]:
        return await self.sim.venue.place_algo_order(p)

    def _query_algo(self, _r: web.Request, p: dict[str, str]) -> dict[str, Any]:
        algo = self.sim.engine.find_algo(p.get("algoId"), p.get("clientAlgoId"))
        return algo.to_rest(self.sim.fmt)

    async def _cancel_algo(self, _r: web.Request, p: dict[str, str]) -> dict[str, Any]:
        return await self.sim.venue.cancel_algo_order(p.get("algoId"), p.get("clientAlgoId"))

    def _open_algos(self, _r: web.Request, p: dict[str, str]) -> list[dict[str, Any]]:
        return [a.to_rest(self.sim.fmt) for a in self.sim.engine.open_algos()]

    def _all_algos(self, _r: web.Request, p: dict[str, str]) -> list[dict[str, Any]]:
        start, end, limit = _window(p, default_limit=100)
        rows = [a for a in self.sim.engine.algos.values() if start <= a.create_ms <= end]
        return [a.to_rest(self.sim.fmt) for a in rows[-limit:]]

    async def _cancel_all_algos(self, _r: web.Request, p: dict[str, str]) -> dict[str, Any]:
        self.sim.check_symbol(p)
        for algo in self.sim.engine.open_algos():
            await self.sim.venue.cancel_algo_order(str(algo.algo_id), None)
        return {"code": 200, "msg": "The operation of cancel all open order is done."}


def _json_list(raw: str | None, name: str) -> list[Any]:
    if not raw:
        raise VenueError(-1102, f"Mandatory parameter '{name}' was not sent, was empty/null.")
    try:
        value = json.loads(raw)
    except ValueError as exc:
        raise VenueError(-1130, f"Data sent for parameter '{name}' is not valid.") from exc
    if not isinstance(value, list):
        raise VenueError(-1130, f"Data sent for parameter '{name}' is not valid.")
    return value


def _window(p: dict[str, str], *, default_limit: int) -> tuple[int, int, int]:
    try:
        start = int(p.get("startTime", "0"))
        end = int(p.get("endTime", str(2**62)))
        limit = int(p.get("limit", str(default_limit)))
    except ValueError as exc:
        raise VenueError(-1100, "Illegal characters found in a parameter.") from exc
    return start, end, max(1, min(limit, 1000))


def _now_ms() -> int:
    return time.time_ns() // 1_000_000
