"""WebSocket side of the simulator: market streams and the user data stream.

Paths (routing rules and the control protocol: ``hedgegridd.sim.wsroutes``):

- ``/public``, ``/market`` (routed, as Binance serves USD-M streams) and the legacy
  unrouted root, each with ``/ws``, ``/ws/<a>/<b>`` (raw payloads) and
  ``/stream?streams=a/b`` (combined: ``{"stream": ..., "data": ...}``); all accept
  ``SUBSCRIBE``, ``UNSUBSCRIBE``, ``LIST_SUBSCRIPTIONS``, ``SET_PROPERTY`` and
  ``GET_PROPERTY``. A stream on the wrong route is acknowledged and never pushed
  (counted in ``misrouted``). Legacy paths carry every stream unless
  ``legacy_all`` is False (Binance since the retirement: ``/public`` data only).
- ``/private/ws?listenKey=K[&events=A/B]``, ``/private/ws/K``,
  ``/private/stream?listenKey=K&events=...`` and the legacy ``/ws?listenKey=K``,
  ``/ws/K``: the user data stream of listen key ``K`` (raw events; combined mode
  wraps them as ``{"stream": K, "data": ...}``), optionally filtered to ``events``.

Faults: ``drop`` closes connections server-side; a stall withholds messages for a
while, either losing them (mode ``drop``) or delivering them in order when it ends
(mode ``delay``); ``expire_listen_keys`` pushes ``listenKeyExpired`` and
invalidates the keys; ``restart`` closes everything and forgets every key, and
while the venue is down (``Faults.is_down``) upgrades are refused with 503.

Which listen keys exist and until when: ``listen_keys.ListenKeys``; sending one
frame (a slow consumer dropped): ``wssend.send_text``.
"""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from collections.abc import Callable, Collection
from typing import Any

import structlog
from aiohttp import WSMsgType, web

from hedgegridd.sim.faults import Faults
from hedgegridd.sim.listen_keys import LISTEN_KEY_TTL_S, ListenKeys
from hedgegridd.sim.wsroutes import (
    LEGACY,
    PRIVATE,
    AnySymbol,
    MarketConn,
    Subscriptions,
    UserConn,
    delivers,
    handle_control,
    is_served,
    split_path,
)
from hedgegridd.sim.wssend import send_text

log = structlog.get_logger(__name__)


class StreamHub:
    """Owns every WebSocket connection and the listen keys."""

    def __init__(
        self,
        faults: Faults,
        listen_key_ttl_s: float = LISTEN_KEY_TTL_S,
        symbols: Callable[[], Collection[str]] | None = None,
    ) -> None:
        self._faults = faults
        # Symbols whose streams exist (upper case); None: any symbol.
        self.symbols = symbols
        # Legacy unrouted paths carry every stream (False: /public data only, as Binance).
        self.legacy_all = True
        self._market: set[MarketConn] = set()
        self._user: dict[str, set[UserConn]] = {}
        self.listen_keys = ListenKeys(listen_key_ttl_s)
        self.connects: dict[str, int] = {"market": 0, "user": 0}
        # Connections opened per route ("public", "market", "private", "legacy").
        self.route_connects: Counter[str] = Counter()
        # Subscriptions to a stream on a route that never pushes it, per route.
        self.misrouted: Counter[str] = Counter()
        # Names in a connection URL that are no stream of the simulator (not subscribed).
        self.ignored_url_streams = 0
        self.subscribe_requests = 0
        self.dropped: dict[str, int] = {"market": 0, "user": 0}
        self._held_market: list[tuple[str, dict[str, Any]]] = []
        self._held_user: list[dict[str, Any]] = []
        self._user_send = asyncio.Lock()
        self._flushers: set[asyncio.Task[None]] = set()

    # ------------------------------------------------------------ listen keys
    def create_listen_key(self) -> str:
        """The account's listen key (an active one again, extended): ``ListenKeys.create``."""
        return self.listen_keys.create()

    def keepalive_listen_key(self, key: str | None) -> bool:
        """Extend a key's validity; False when the key is unknown or expired."""
        return self.listen_keys.keepalive(key)

    async def close_listen_key(self, key: str | None) -> None:
        """Delete a key (or all keys when none is given) and close its streams."""
        keys = [key] if key else list(self.listen_keys)
        for k in keys:
            self.listen_keys.discard(k)
            for conn in list(self._user.pop(k, set())):
                await conn.ws.close()

    async def expire_stale_listen_keys(self, now_ms: int) -> int:
        """Expire keys not kept alive within their TTL (as Binance does)."""
        stale = self.listen_keys.stale()
        return await self.expire_listen_keys(now_ms, stale) if stale else 0

    async def expire_listen_keys(self, now_ms: int, keys: list[str] | None = None) -> int:
        """Push ``listenKeyExpired`` on the keys' user streams and invalidate them (all keys
        when none are named)."""
        expired = 0
        for key in list(self.listen_keys) if keys is None else keys:
            event = {"e": "listenKeyExpired", "E": now_ms, "listenKey": key}
            for conn in list(self._user.get(key, set())):
                await send_text(conn.ws, self._user_frame(conn, key, event))
            self.listen_keys.discard(key)
            expired += 1
        log.info("sim.listen_keys_expired", count=expired)
        return expired

    # ------------------------------------------------------------- handlers
    def install(
        self, app: web.Application, symbols: Callable[[], Collection[str]] | None = None
    ) -> None:
        """Register the legacy and routed WebSocket paths on ``app``; ``symbols``: those
        whose market streams exist (upper case)."""
        if symbols is not None:
            self.symbols = symbols
        for prefix in ("", "/public", "/market", "/private"):
            app.router.add_get(f"{prefix}/ws", self.handle_ws)
            app.router.add_get(f"{prefix}/ws/{{tail:.*}}", self.handle_ws)
            app.router.add_get(f"{prefix}/stream", self.handle_ws)

    def _served(self) -> Collection[str]:
        if self.symbols is None:
            return AnySymbol()
        return self.symbols()

    async def handle_ws(self, request: web.Request) -> web.StreamResponse:
        """Dispatch a WebSocket upgrade to a user or market stream by route and mode."""
        if self._faults.is_down():
            return web.json_response(
                {"code": -1001, "msg": "Service unavailable (venue restarting)."}, status=503
            )
        route, mode, tail = split_path(request.path)
        combined = mode == "stream"
        keys = request.query.getall("listenKey", [])
        if not keys and tail and (route == PRIVATE or tail in self.listen_keys):
            keys = [tail]
        if keys:
            events = request.query.getall("events", [])
            return await self._user_stream(request, route, combined, keys, events)
        names = request.query.get("streams", "") if combined else tail
        streams = [s for s in names.split("/") if s]
        return await self._market_stream(request, route, combined, streams)

    def _subscribe(self, conn: MarketConn, streams: Collection[str]) -> None:
        for name in streams:
            if delivers(conn.route, name, legacy_all=self.legacy_all):
                conn.live.add(name)
            else:
                self.misrouted[conn.route] += 1
                log.warning("sim.stream_wrong_route", stream=name, route=conn.route)

    async def _market_stream(
        self, request: web.Request, route: str, combined: bool, streams: list[str]
    ) -> web.WebSocketResponse:
        ws = web.WebSocketResponse(heartbeat=None, autoping=True)
        await ws.prepare(request)
        served = self._served()
        valid = [s for s in streams if is_served(s, served)]
        conn = MarketConn(ws, route, Subscriptions(combined, set(valid)))
        self._subscribe(conn, valid)
        self._market.add(conn)
        self.connects["market"] += 1
        self.route_connects[route] += 1
        log.info("sim.market_stream_open", streams=sorted(valid), route=route, combined=combined)
        ignored = [s for s in streams if s not in valid]
        if ignored:
            # Binance answers nothing for them (clients put connection ids in the path).
            self.ignored_url_streams += len(ignored)
            log.info("sim.url_streams_ignored", streams=ignored, route=route)
        try:
            async for msg in ws:
                if msg.type == WSMsgType.TEXT:
                    await self._control_message(conn, msg.data)
        finally:
            self._market.discard(conn)
            for key, reg in conn.users:
                self._user.get(key, set()).discard(reg)
        return ws

    async def _control_message(self, conn: MarketConn, text: str) -> None:
        result = handle_control(conn.subs, text, self._served, self.listen_keys.__contains__)
        self.subscribe_requests += result.method == "SUBSCRIBE"
        self._subscribe(conn, result.added)
        for item in result.user:
            key, _, event = item.partition("@")
            events = frozenset({event}) if event else None
            reg = UserConn(conn.ws, events, conn.subs.combined, conn.route)
            self._user.setdefault(key, set()).add(reg)
            conn.users.append((key, reg))
            self.connects["user"] += 1
        conn.live &= conn.subs.streams
        await send_text(conn.ws, json.dumps(result.reply))

    async def _user_stream(
        self,
        request: web.Request,
        route: str,
        combined: bool,
        keys: list[str],
        events: list[str],
    ) -> web.StreamResponse:
        if any(k not in self.listen_keys for k in keys):
            return web.json_response(
                {"code": -1125, "msg": "This listenKey does not exist."}, status=400
            )
        ws = web.WebSocketResponse(heartbeat=None, autoping=True)
        await ws.prepare(request)
        regs: list[tuple[str, UserConn]] = []
        for i, key in enumerate(keys):
            wanted = events[i] if i < len(events) else (events[0] if events else "")
            names = frozenset(e for e in wanted.split("/") if e) or None
            conn = UserConn(ws, names, combined, route)
            self._user.setdefault(key, set()).add(conn)
            regs.append((key, conn))
        self.connects["user"] += 1
        self.route_connects[route] += 1
        log.info("sim.user_stream_open", route=route, keys=len(keys))
        try:
            async for _msg in ws:
                pass  # the user stream is push-only
        finally:
            for key, conn in regs:
                conns = self._user.get(key)
                if conns is not None:
                    conns.discard(conn)
        return ws

    # ------------------------------------------------------------ publishing
    def has_subscribers(self, stream: str) -> bool:
        """Whether any market connection is pushed ``stream``."""
        return any(stream in c.live for c in self._market)

    def subscriptions(self) -> set[str]:
        """Union of every market connection's streams."""
        out: set[str] = set()
        for conn in self._market:
            out |= conn.streams
        return out

    @property
    def user_connections(self) -> int:
        """Open user-data-stream connections with a valid key."""
        return sum(len(v) for k, v in self._user.items() if k in self.listen_keys)

    @property
    def market_connections(self) -> int:
        """Open market-data connections."""
        return len(self._market)

    async def publish(self, stream: str, data: dict[str, Any]) -> None:
        """Send ``data`` on ``stream`` to every subscriber (held or lost while stalled)."""
        mode = self._faults.stalled_mode("market")
        if mode == "delay":
            self._held_market.append((stream, data))
            return
        if mode == "drop":
            self.dropped["market"] += 1
            return
        if self._held_market:
            held, self._held_market = self._held_market, []
            for name, payload in held:
                await self._send_market(name, payload)
        await self._send_market(stream, data)

    async def _send_market(self, stream: str, data: dict[str, Any]) -> None:
        raw: str | None = None
        wrapped: str | None = None
        for conn in list(self._market):
            if stream not in conn.live:
                continue
            if conn.subs.combined:
                wrapped = wrapped or json.dumps({"stream": stream, "data": data})
                await send_text(conn.ws, wrapped)
            else:
                raw = raw or json.dumps(data)
                await send_text(conn.ws, raw)

    async def publish_user(self, events: list[dict[str, Any]]) -> None:
        """Push user-data events to every valid user stream (held or lost while stalled)."""
        if not events:
            return
        mode = self._faults.stalled_mode("user")
        if mode == "delay":
            self._held_user.extend(events)
            return
        if mode == "drop":
            self.dropped["user"] += len(events)
            log.info("sim.user_events_dropped", count=len(events))
            return
        async with self._user_send:
            if self._held_user:
                held, self._held_user = self._held_user, []
                await self._send_user(held)
            await self._send_user(events)

    def _user_frame(self, conn: UserConn, key: str, event: dict[str, Any]) -> str:
        if conn.combined:
            return json.dumps({"stream": key, "data": event})
        return json.dumps(event)

    async def _send_user(self, events: list[dict[str, Any]]) -> None:
        for key, conns in list(self._user.items()):
            if key not in self.listen_keys:
                continue
            for conn in list(conns):
                if conn.route == LEGACY and not self.legacy_all:
                    continue  # Binance: unrouted connections carry /public data only
                for event in events:
                    if conn.events is None or event.get("e") in conn.events:
                        await send_text(conn.ws, self._user_frame(conn, key, event))

    def flush_after(self, delay_s: float) -> None:
        """Deliver held (delayed) messages once a stall of ``delay_s`` seconds is over."""
        task = asyncio.create_task(self._flush_later(delay_s))
        self._flushers.add(task)
        task.add_done_callback(self._flushers.discard)

    async def _flush_later(self, delay_s: float) -> None:
        await asyncio.sleep(delay_s)
        remaining = self._faults.stall_remaining()
        if remaining > 0:  # a longer stall was set meanwhile
            self.flush_after(remaining)
            return
        if self._held_user:
            async with self._user_send:
                held, self._held_user = self._held_user, []
                await self._send_user(held)
        if self._held_market:
            held_market, self._held_market = self._held_market, []
            for name, payload in held_market:
                await self._send_market(name, payload)
        log.info("sim.stall_over")

    async def drop(self, kind: str = "all") -> int:
        """Close connections of ``kind`` ("market", "user" or "all") server-side."""
        closed = 0
        if kind in ("market", "all"):
            for conn in list(self._market):
                await conn.ws.close(code=1001, message=b"sim drop")
                closed += 1
        if kind in ("user", "all"):
            sockets = {c.ws for conns in self._user.values() for c in conns}
            for ws in sockets:
                await ws.close(code=1001, message=b"sim drop")
                closed += 1
        log.info("sim.streams_dropped", kind=kind, count=closed)
        return closed

    async def restart(self) -> int:
        """Venue restart: close every connection, forget every listen key and held message."""
        closed = await self.drop("all")
        self.listen_keys.clear()
        self._user.clear()
        self._held_user.clear()
        self._held_market.clear()
        return closed

    async def close_all(self) -> None:
        """Close every connection (shutdown)."""
        for task in list(self._flushers):
            task.cancel()
        await self.drop("all")
