"""Binance USD-M WebSocket routing, the market-stream control protocol, connection records.

Binance serves USD-M streams under routed paths (USD-M "Websocket Market Streams",
"Important WebSocket Change Notice — Base URL Split & Migration"):

- ``/public``: high-frequency public data (``<symbol>@bookTicker``, ``!bookTicker``,
  ``<symbol>@depth...``, ``@rpiDepth...``, ``@trade``);
- ``/market``: regular market data (``@aggTrade``, ``@markPrice``, ``@kline_<i>``,
  tickers, ...);
- ``/private``: user data (``/private/ws?listenKey=K&events=A/B``, ``/private/ws/K``,
  ``/private/stream?listenKey=K1&events=...&listenKey=K2&events=...``);

each with ``/ws/<a>/<b>`` (raw) and ``/stream?streams=a/b`` (combined). A stream
requested on the wrong route is acknowledged but never pushed (Binance: "fails
silently rather than erroring"); connections without a route (``/ws``, ``/stream``)
receive ``/public`` data only on Binance since the legacy URLs were retired.

Control messages (USD-M "Live Subscribing/Unsubscribing to streams"): ``SUBSCRIBE``,
``UNSUBSCRIBE``, ``LIST_SUBSCRIPTIONS``, ``SET_PROPERTY`` / ``GET_PROPERTY``
(``combined``), with the documented error objects. A stream the simulator does not
serve answers ``{"error": {"code": 2, "msg": "Invalid request: invalid stream"}}``.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

PUBLIC = "public"
MARKET = "market"
PRIVATE = "private"
LEGACY = "legacy"  # no routed path: /ws, /stream
ROUTES = (PUBLIC, MARKET, PRIVATE)

METHODS = ("SUBSCRIBE", "UNSUBSCRIBE", "LIST_SUBSCRIPTIONS", "SET_PROPERTY", "GET_PROPERTY")
# The streams the simulator produces for each of its symbols.
SERVED_KINDS = frozenset({"kline_1m", "bookTicker", "aggTrade", "markPrice", "markPrice@1s"})
_STREAM = re.compile(r"^(?P<sym>[a-z0-9]+)@(?P<kind>.+)$")


def stream_route(stream: str) -> str:
    """The route Binance pushes ``stream`` on (``public`` or ``market``)."""
    if stream == "!bookTicker":
        return PUBLIC
    m = _STREAM.match(stream)
    kind = m.group("kind") if m else stream
    if kind in ("bookTicker", "trade") or kind.startswith(("depth", "rpiDepth")):
        return PUBLIC
    return MARKET


def is_served(stream: str, symbols: Collection[str]) -> bool:
    """Whether the simulator produces ``stream`` (a served kind of one of its symbols)."""
    m = _STREAM.match(stream)
    if m is None:
        return False
    return m.group("kind") in SERVED_KINDS and m.group("sym").upper() in symbols


def delivers(route: str, stream: str, *, legacy_all: bool) -> bool:
    """Whether a connection on ``route`` is pushed ``stream``."""
    if route == LEGACY:
        return legacy_all or stream_route(stream) == PUBLIC
    return stream_route(stream) == route


def split_path(path: str) -> tuple[str, str, str]:
    """``(route, mode, tail)`` of a WebSocket path: ``/market/ws/a@b`` -> market, ws, a@b."""
    head, _, rest = path.strip("/").partition("/")
    route = LEGACY
    if head in ROUTES:
        route = head
        head, _, rest = rest.partition("/")
    return route, head or "ws", rest


def error(code: int, msg: str, req_id: Any = None) -> dict[str, Any]:
    """A control-protocol error object."""
    return {"error": {"code": code, "msg": msg}, "id": req_id}


INVALID_STREAM = "Invalid request: invalid stream"


@dataclass(slots=True)
class Subscriptions:
    """One market connection's control state: its streams and the ``combined`` property."""

    combined: bool
    streams: set[str] = field(default_factory=set)


@dataclass(frozen=True, slots=True)
class ControlResult:
    """The reply to send, and the streams a SUBSCRIBE added (for routing checks)."""

    reply: dict[str, Any]
    added: tuple[str, ...] = ()
    method: str = ""
    user: tuple[str, ...] = ()  # listen-key items (``K`` or ``K@EVENT``) subscribed


def handle_control(
    state: Subscriptions,
    text: str,
    symbols: Callable[[], Collection[str]],
    is_key: Callable[[str], bool] = lambda _k: False,
) -> ControlResult:
    """Apply one JSON control message to ``state``; the reply Binance would send.

    SUBSCRIBE params that name a listen key (``K``, or ``K@EVENT`` for one event type)
    subscribe the connection to that user data stream (``ControlResult.user``).
    """
    try:
        req = json.loads(text)
    except ValueError as exc:
        return ControlResult(error(3, f"Invalid JSON: {exc}"))
    if not isinstance(req, dict):
        return ControlResult(error(3, "Invalid JSON: expected an object"))
    req_id = req.get("id")
    if "method" not in req:
        return ControlResult(error(2, "Invalid request: missing field `method`", req_id))
    method = req["method"]
    if method not in METHODS:
        return ControlResult(
            error(
                2,
                f"Invalid request: unknown variant `{method}`, expected one of "
                "`SUBSCRIBE`, `UNSUBSCRIBE`, `LIST_SUBSCRIPTIONS`, `SET_PROPERTY`, "
                "`GET_PROPERTY`",
                req_id,
            )
        )
    if isinstance(req_id, bool) or not isinstance(req_id, int) or req_id < 0:
        return ControlResult(
            error(2, "Invalid request: request ID must be an unsigned integer", req_id)
        )
    params = req.get("params") or []
    if not isinstance(params, list):
        return ControlResult(error(2, "Invalid request: params must be a list", req_id))
    if method in ("SUBSCRIBE", "UNSUBSCRIBE"):
        names = [p for p in params if isinstance(p, str)]
        if len(names) != len(params):
            return ControlResult(error(2, INVALID_STREAM, req_id))
        if method == "UNSUBSCRIBE":
            state.streams.difference_update(names)
            return ControlResult({"result": None, "id": req_id}, method=method)
        served = symbols()
        user = tuple(n for n in names if is_key(n.split("@", 1)[0]))
        market = [n for n in names if n not in user]
        if not all(is_served(n, served) for n in market):
            return ControlResult(error(2, INVALID_STREAM, req_id), method=method)
        added = tuple(n for n in market if n not in state.streams)
        state.streams.update(names)
        return ControlResult({"result": None, "id": req_id}, added, method, user)
    if method == "LIST_SUBSCRIPTIONS":
        return ControlResult({"result": sorted(state.streams), "id": req_id})
    return _property(state, method, params, req_id)


def _property(state: Subscriptions, method: str, params: list[Any], req_id: int) -> ControlResult:
    limit = 2 if method == "SET_PROPERTY" else 1
    if len(params) > limit:
        return ControlResult(error(2, "Invalid request: too many parameters", req_id))
    if not params or not isinstance(params[0], str):
        return ControlResult(error(2, "Invalid request: property name must be a string", req_id))
    if params[0] != "combined":
        return ControlResult(error(0, "Unknown property", req_id))
    if method == "GET_PROPERTY":
        return ControlResult({"result": state.combined, "id": req_id})
    value = params[1] if len(params) > 1 else None
    if not isinstance(value, bool):
        return ControlResult(error(1, "Invalid value type: expected Boolean", req_id))
    state.combined = value
    return ControlResult({"result": None, "id": req_id})


@dataclass(eq=False, slots=True)
class MarketConn:
    """One market-data connection: its route, subscriptions and the streams it is pushed."""

    ws: web.WebSocketResponse
    route: str
    subs: Subscriptions
    live: set[str] = field(default_factory=set)
    users: list[tuple[str, UserConn]] = field(default_factory=list)

    @property
    def streams(self) -> set[str]:
        """Every subscribed stream (pushed or not)."""
        return self.subs.streams


@dataclass(eq=False, slots=True)
class UserConn:
    """One user-data-stream registration: a connection, its event filter and framing."""

    ws: web.WebSocketResponse
    events: frozenset[str] | None
    combined: bool
    route: str


class AnySymbol(Collection[str]):
    """Every symbol (a hub built without a symbol list)."""

    def __contains__(self, item: object) -> bool:
        return True

    def __iter__(self) -> Any:
        return iter(())

    def __len__(self) -> int:
        return 0
