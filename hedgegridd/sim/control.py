"""HTTP fault-injection and inspection API under ``/_sim`` (loopback, unsigned).

- ``POST /_sim/faults/drop_streams``      ``{"kind": "market"|"user"|"all"}``
- ``POST /_sim/faults/stall_streams``     ``{"seconds": 5, "kind": "user", "mode": "delay"|"drop"}``
- ``POST /_sim/faults/expire_listen_key`` ``{}``
- ``POST /_sim/faults/reject_orders``     ``{"count": 2, "code": -2019, "msg": "..."}``
- ``POST /_sim/faults/server_errors``     ``{"count": 3, "status": 503, "path_prefix": "/fapi/"}``
- ``POST /_sim/faults/latency``           ``{"seconds": 0.5, "path_prefix": "/fapi/"}``
- ``POST /_sim/faults/price_jump``        ``{"to": "65000"}`` or ``{"pct": "-5"}``
- ``POST /_sim/faults/hedge_mode``        ``{"enabled": false}``
- ``POST /_sim/faults/partial_fills``     ``{"enabled": true}``
- ``POST /_sim/faults/weight_limit``      ``{"limit": 20}``
- ``POST /_sim/faults/restart``           ``{"down_s": 5}``
- ``POST /_sim/faults/mark_premium``      ``{"bps": "50"}`` and/or ``{"abs": "-20"}``
- ``POST /_sim/faults/funding_rate``      ``{"rate": "0.003"}`` (``null``: back to the data's)
- ``POST /_sim/faults/clear``             ``{}``
- ``POST /_sim/scenario``                 one step ``{"kind": "crash", "pct": -10, "seconds": 30,
  "at_s": 0}`` or ``{"steps": [...]}`` (a step may name its ``"symbol"``); ``GET`` lists
  pending/active/done; ``DELETE`` clears
- ``GET  /_sim/requests?prefix=/fapi/v1/order`` what was requested (method, path)
- ``GET  /_sim/state``                    last, mark, wallet, legs, open orders and algo orders

Per-symbol routes (``price_jump``, ``mark_premium``, ``funding_rate``, ``scenario``,
``state``) take an optional ``"symbol"`` body field (``?symbol=`` for GET and DELETE);
without it they act on the first symbol. An unknown symbol answers 400.
"""

from __future__ import annotations

from collections import Counter
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

from aiohttp import web

from hedgegridd.errors import ConfigError
from hedgegridd.sim.account import Account
from hedgegridd.sim.faults import Faults
from hedgegridd.sim.requestlog import LoggedRequest
from hedgegridd.sim.scenarios import ScenarioStep, parse_step, parse_steps
from hedgegridd.sim.symbol_market import SymbolMarket


class ControlHost(Protocol):
    """What the ``/_sim`` routes drive (``SimExchange`` is one)."""

    faults: Faults
    account: Account
    markets: dict[str, SymbolMarket]
    order_rejections: Counter[int]

    def market_or_default(self, symbol: str | None) -> SymbolMarket:
        """The symbol's market (None: the first; ``ConfigError`` when unknown)."""
        ...

    async def drop_streams(self, kind: str = "all") -> int:
        """Close WebSocket connections."""
        ...

    def stall_streams(self, seconds: float, kind: str = "market", mode: str = "drop") -> None:
        """Withhold stream messages for a while."""
        ...

    async def expire_listen_key(self) -> int:
        """Expire every listen key."""
        ...

    def reject_next_orders(self, count: int, code: int = -2019, msg: str = "") -> None:
        """Refuse the next orders."""
        ...

    def fail_next_requests(
        self, count: int, status: int = 503, path_prefix: str = "/fapi/"
    ) -> None:
        """Answer the next requests with a 5xx."""
        ...

    def set_latency(self, seconds: float, path_prefix: str = "/fapi/") -> None:
        """Delay REST answers."""
        ...

    async def jump_price(
        self,
        *,
        to: Decimal | None = None,
        pct: Decimal | None = None,
        symbol: str | None = None,
    ) -> Decimal:
        """Gap a symbol's price."""
        ...

    async def set_mark_premium(
        self,
        bps: Decimal = Decimal(0),
        absolute: Decimal = Decimal(0),
        symbol: str | None = None,
    ) -> None:
        """Set a symbol's mark premium."""
        ...

    def set_funding_rate(self, rate: Decimal | None, symbol: str | None = None) -> None:
        """Override a symbol's next funding rate."""
        ...

    async def restart(self, down_s: float) -> int:
        """Restart the venue."""
        ...

    def set_hedge_mode(self, enabled: bool) -> None:
        """Switch hedge mode."""
        ...

    def set_partial_fills(self, enabled: bool) -> None:
        """Switch partial fills."""
        ...

    def set_weight_limit(self, limit: int) -> None:
        """Lower the request weight limit."""
        ...

    def clear_faults(self) -> None:
        """Remove every fault."""
        ...

    def seen(self, path_prefix: str = "", method: str | None = None) -> list[LoggedRequest]:
        """Requests received."""
        ...

    def schedule_scenario(
        self, steps: list[ScenarioStep], symbol: str | None = None
    ) -> list[ScenarioStep]:
        """Schedule steps, each on the symbol it names (none: ``symbol``/the first)."""
        ...


class _BadRequest(Exception):
    pass


def _field(body: dict[str, Any], name: str, kind: type, default: Any = None) -> Any:
    value = body.get(name, default)
    if value is None:
        raise _BadRequest(f"field '{name}' is required")
    try:
        if kind is Decimal:
            return Decimal(str(value))
        if kind is bool:
            if not isinstance(value, bool):
                raise _BadRequest(f"field '{name}' must be true or false")
            return value
        return kind(value)
    except (ValueError, TypeError, InvalidOperation) as exc:
        raise _BadRequest(f"field '{name}' must be a {kind.__name__}") from exc


def install_control_routes(app: web.Application, sim: ControlHost) -> None:
    """Add the ``/_sim`` routes for ``sim`` to ``app``."""

    async def fault(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        try:
            body = await request.json() if request.can_read_body else {}
        except ValueError:
            return web.json_response({"error": "body must be JSON"}, status=400)
        if not isinstance(body, dict):
            return web.json_response({"error": "body must be a JSON object"}, status=400)
        try:
            result = await _apply(sim, name, body)
        except (_BadRequest, ConfigError) as exc:
            return web.json_response({"error": str(exc)}, status=400)
        if result is None:
            return web.json_response({"error": f"unknown fault {name!r}"}, status=404)
        return web.json_response({"ok": True, **result})

    async def requests(request: web.Request) -> web.Response:
        prefix = request.query.get("prefix", "")
        rows = [{"method": r.method, "path": r.path, "at": r.at} for r in sim.seen(prefix)]
        return web.json_response({"requests": rows})

    async def state(request: web.Request) -> web.Response:
        try:
            return web.json_response(sim_state(sim, request.query.get("symbol")))
        except ConfigError as exc:
            return web.json_response({"error": str(exc)}, status=400)

    async def scenario(request: web.Request) -> web.Response:
        try:
            if request.method != "POST":
                director = sim.market_or_default(request.query.get("symbol")).director
                if request.method == "GET":
                    return web.json_response(director.status())
                director.clear()
                return web.json_response({"ok": True})
            try:
                body = await request.json()
            except ValueError:
                return web.json_response({"error": "body must be JSON"}, status=400)
            symbol = body.pop("symbol", None) if isinstance(body, dict) else None
            raw = body.get("steps", body) if isinstance(body, dict) else body
            steps = parse_steps(raw) if isinstance(raw, list) else [parse_step(raw)]
            sim.schedule_scenario(steps, symbol)
        except ConfigError as exc:
            return web.json_response({"error": str(exc)}, status=400)
        return web.json_response({"ok": True, "scheduled": [s.describe() for s in steps]})

    app.router.add_post("/_sim/faults/{name}", fault)
    app.router.add_get("/_sim/requests", requests)
    app.router.add_get("/_sim/state", state)
    for method in ("GET", "POST", "DELETE"):
        app.router.add_route(method, "/_sim/scenario", scenario)


def sim_state(sim: ControlHost, symbol: str | None = None) -> dict[str, Any]:
    """``GET /_sim/state``: one symbol's last and mark prices, legs, open orders, sim time;
    the account's wallet, mode and open legs of every symbol; every symbol served."""
    market = sim.market_or_default(symbol)
    eng = market.engine
    fmt = market.fmt
    return {
        "symbol": market.symbol,
        "symbols": list(sim.markets),
        "price": fmt.px(eng.price),
        "last": fmt.px(eng.price),
        "mark": fmt.px(eng.mark),
        "funding_rate": f"{market.ticker.funding_rate:.8f}",
        "wallet": f"{sim.account.wallet:.8f}",
        "available_balance": f"{sim.account.available_balance():.8f}",
        "dual_side_position": eng.dual_side,
        "down": sim.faults.is_down(),
        "positions": {
            side: {
                "amt": fmt.qt(p.amt),
                "entry": fmt.px(p.entry),
                "upnl": f"{p.unrealized(eng.mark):.8f}",
            }
            for side, p in eng.positions.items()
        },
        "open_orders": len(eng.open_orders()),
        "open_algo_orders": len(eng.open_algos()),
        "orders": [o.to_rest(fmt) for o in eng.open_orders()],
        "algo_orders": [a.to_rest(fmt) for a in eng.open_algos()],
        "trades": len(eng.trades),
        "bar_index": market.ticker.bar_index,
        "sim_time_ms": market.ticker.sim_ms,
        "scenario_idle": market.director.idle,
        "order_rejections": {str(k): v for k, v in sim.order_rejections.items()},
        "account_legs": [
            {"symbol": sym, "side": pos.side, "amt": str(pos.amt), "entry": str(pos.entry)}
            for sym, pos in sim.account.legs()
            if pos.amt != 0
        ],
    }


async def _apply(sim: ControlHost, name: str, body: dict[str, Any]) -> dict[str, Any] | None:
    symbol = body.get("symbol")
    if symbol is not None and not isinstance(symbol, str):
        raise _BadRequest("field 'symbol' must be a string")
    if name == "drop_streams":
        kind = str(body.get("kind", "all"))
        if kind not in ("market", "user", "all"):
            raise _BadRequest("field 'kind' must be market, user or all")
        return {"closed": await sim.drop_streams(kind)}
    if name == "stall_streams":
        kind = str(body.get("kind", "market"))
        if kind not in ("market", "user", "all"):
            raise _BadRequest("field 'kind' must be market, user or all")
        mode = str(body.get("mode", "drop"))
        if mode not in ("drop", "delay"):
            raise _BadRequest("field 'mode' must be drop or delay")
        seconds = _field(body, "seconds", float)
        if not 0 < seconds <= 3600:
            raise _BadRequest("field 'seconds' must be in (0, 3600]")
        sim.stall_streams(seconds, kind, mode)
        return {}
    if name == "restart":
        down_s = _field(body, "down_s", float, 5.0)
        if not 0 <= down_s <= 3600:
            raise _BadRequest("field 'down_s' must be in [0, 3600]")
        return {"closed": await sim.restart(down_s)}
    if name == "mark_premium":
        if "bps" not in body and "abs" not in body:
            raise _BadRequest("field 'bps' or 'abs' is required")
        bps = _field(body, "bps", Decimal, "0")
        absolute = _field(body, "abs", Decimal, "0")
        if not (bps.is_finite() and absolute.is_finite()) or abs(bps) > 5000:
            raise _BadRequest("field 'bps' must be in [-5000, 5000] and 'abs' finite")
        await sim.set_mark_premium(bps, absolute, symbol=symbol)
        market = sim.market_or_default(symbol)
        return {"mark": market.fmt.px(market.engine.mark)}
    if name == "funding_rate":
        if body.get("rate") is None:
            sim.set_funding_rate(None, symbol=symbol)
        else:
            rate = _field(body, "rate", Decimal)
            if not rate.is_finite() or abs(rate) > Decimal("0.03"):
                raise _BadRequest("field 'rate' must be in [-0.03, 0.03]")
            sim.set_funding_rate(rate, symbol=symbol)
        return {"funding_rate": f"{sim.market_or_default(symbol).ticker.funding_rate:.8f}"}
    if name == "expire_listen_key":
        return {"expired": await sim.expire_listen_key()}
    if name == "reject_orders":
        sim.reject_next_orders(
            _field(body, "count", int), _field(body, "code", int, -2019), str(body.get("msg", ""))
        )
        return {}
    if name == "server_errors":
        sim.fail_next_requests(
            _field(body, "count", int),
            _field(body, "status", int, 503),
            str(body.get("path_prefix", "/fapi/")),
        )
        return {}
    if name == "latency":
        sim.set_latency(_field(body, "seconds", float), str(body.get("path_prefix", "/fapi/")))
        return {}
    if name == "price_jump":
        if "to" in body:
            price = await sim.jump_price(to=_field(body, "to", Decimal), symbol=symbol)
        else:
            price = await sim.jump_price(pct=_field(body, "pct", Decimal), symbol=symbol)
        return {"price": sim.market_or_default(symbol).fmt.px(price)}
    if name == "hedge_mode":
        sim.set_hedge_mode(_field(body, "enabled", bool))
        return {}
    if name == "partial_fills":
        sim.set_partial_fills(_field(body, "enabled", bool))
        return {}
    if name == "weight_limit":
        sim.set_weight_limit(_field(body, "limit", int))
        return {}
    if name == "clear":
        sim.clear_faults()
        return {}
    return None
