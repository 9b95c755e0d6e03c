"""``SimExchange``: the in-process Binance USD-M look-alike (aiohttp, loopback only).

Use it as an async context manager (tests, demo) or run it as a component::

    async with SimExchange(SimConfig(speed=600), bars=my_bars) as sim:
        BinanceExecClientConfig(
            base_url_http=sim.base_url_http,
            base_url_ws=sim.base_url_ws,
            base_url_ws_stream=sim.base_url_ws_stream,  # required for the user stream
            use_reduce_only=False,
            ...,
        )

The clock walks the price path: live bar ``i`` opens at ``t0 + i`` sim-minutes (t0 =
the wall minute at start) and each sim-minute lasts ``60 / speed`` real seconds.
Market data carries sim time; the account (orders, trades, user events) is stamped
with the wall clock, like a venue.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

import anyio
import structlog
from aiohttp import web

from hedgegridd.data.instruments import BTCUSDT_PERP, InstrumentSpec, exchange_info_symbol
from hedgegridd.errors import ConfigError
from hedgegridd.sim.config import SimConfig
from hedgegridd.sim.control import install_control_routes
from hedgegridd.sim.engine import MatchingEngine
from hedgegridd.sim.events import Event
from hedgegridd.sim.faults import Faults, OrderRejection, ServerFailure
from hedgegridd.sim.limits import OrderRateLimiter, WeightLimiter
from hedgegridd.sim.market import (
    MarketData,
    PricePath,
    SimBar,
    data_from_catalog,
    data_from_synthetic,
)
from hedgegridd.sim.orders import Formats, VenueError
from hedgegridd.sim.rest import RestApi, SeenRequest
from hedgegridd.sim.rules import SymbolRules
from hedgegridd.sim.streams import StreamHub
from hedgegridd.sim.ticker import MarketTicker

log = structlog.get_logger(__name__)


def _str_decimals(text: str) -> int:
    return len(text.split(".", 1)[1]) if "." in text else 0


FINISHED_DELAY_S = 0.2
REQUEST_LOG_SIZE = 100_000
ORDER_ENDPOINTS = frozenset(
    {
        "/fapi/v1/order",
        "/fapi/v1/batchOrders",
        "/fapi/v1/allOpenOrders",
        "/fapi/v1/countdownCancelAll",
        "/fapi/v1/algoOrder",
        "/fapi/v1/algoOpenOrders",
    }
)


def _is_algo_finished(event: Event) -> bool:
    return event.get("e") == "ALGO_UPDATE" and event["o"].get("X") == "FINISHED"


def _wall_ms() -> int:
    return time.time_ns() // 1_000_000


class SimExchange:
    """The simulator: REST + streams + matching + faults on one aiohttp server."""

    def __init__(
        self,
        config: SimConfig | None = None,
        *,
        bars: Sequence[SimBar] | None = None,
        spec: InstrumentSpec = BTCUSDT_PERP,
    ) -> None:
        self.config = config or SimConfig()
        self.spec = spec
        self.symbol_info = exchange_info_symbol(spec)
        filters = {f["filterType"]: f for f in self.symbol_info["filters"]}
        self.fmt = Formats(
            price=_str_decimals(filters["PRICE_FILTER"]["tickSize"]),
            qty=_str_decimals(filters["LOT_SIZE"]["stepSize"]),
        )
        self.rules = SymbolRules(
            symbol=spec.symbol,
            tick=spec.tick_size,
            step=spec.step_size,
            min_qty=spec.min_qty,
            max_qty=spec.max_qty,
            market_max_qty=spec.market_max_qty,
            min_notional=spec.min_notional,
            maker_fee=spec.maker_fee,
            taker_fee=spec.taker_fee,
            maint_margin=spec.margin_maint,
        )
        # Synthetic/catalog data is loaded by start() in a worker thread (no blocking
        # work on the event loop); until then path, engine and ticker do not exist.
        self._explicit = list(bars) if bars is not None else None
        self.path: PricePath
        self.engine: MatchingEngine
        self.ticker: MarketTicker
        self.funding_rates: list[Decimal] = []
        self.history_bars = 0
        if self._explicit is not None:
            self._build(MarketData(self._explicit, []), history=0)
        self.faults = Faults()
        self.limiter = WeightLimiter(
            self.config.weight_limit_per_minute,
            self.config.ban_after_429s,
            self.config.ban_seconds,
        )
        self.order_limiter = OrderRateLimiter(
            self.config.orders_per_10s, self.config.orders_per_minute
        )
        self.hub = StreamHub(self.faults, self.config.listen_key_ttl_s)
        self.requests: deque[SeenRequest] = deque(maxlen=REQUEST_LOG_SIZE)
        self._runner: web.AppRunner | None = None
        self._port = 0
        self._clock_task: asyncio.Task[None] | None = None
        self._countdown: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._deferred: set[asyncio.Task[None]] = set()

    def _build(self, data: MarketData, *, history: int) -> None:
        """Price path, matching engine and clock from the replayed data."""
        self.path = PricePath(data.bars, self.spec.tick_size)
        self.funding_rates = data.funding_rates
        # The first bars are history (closed klines on REST before the clock starts).
        self.history_bars = min(history, len(self.path) - 1)
        first = self.path.points(self.path.bar(self.history_bars), self.config.steps_per_bar)
        self.engine = MatchingEngine(
            self.rules,
            self.fmt,
            balance=self.config.starting_balance,
            leverage=self.config.leverage,
            dual_side=self.config.dual_side_position,
            price=first[0],
        )
        self.ticker = MarketTicker(self)

    def _load_data(self) -> MarketData:
        cfg = self.config
        if cfg.catalog is not None:
            return data_from_catalog(cfg.catalog, self.spec, cfg.minutes + cfg.history_bars)
        total = cfg.minutes + cfg.history_bars
        return data_from_synthetic(cfg.seed, total, cfg.start_price, self.spec)

    # ------------------------------------------------------------ lifecycle
    @property
    def port(self) -> int:
        """The bound TCP port (after start)."""
        return self._port

    @property
    def base_url_http(self) -> str:
        """REST base URL for ``BinanceExecClientConfig.base_url_http``."""
        return f"http://{self.config.host}:{self._port}"

    @property
    def base_url_ws(self) -> str:
        """WebSocket base URL for ``base_url_ws``."""
        return f"ws://{self.config.host}:{self._port}"

    @property
    def base_url_ws_stream(self) -> str:
        """User-data-stream base URL for ``BinanceExecClientConfig.base_url_ws_stream``.

        The adapter does NOT derive the user stream from ``base_url_ws``: without
        this setting it connects to Binance's real ``/private`` route.
        """
        return self.base_url_ws

    async def start(self) -> None:
        """Load the data (synthetic/catalog, in a worker thread), bind, start the clock."""
        if self._explicit is None and not hasattr(self, "engine"):
            data = await anyio.to_thread.run_sync(self._load_data)
            self._build(data, history=self.config.history_bars)
        app = web.Application()
        RestApi(self).install(app)
        app.router.add_get("/ws", self.hub.handle_ws)
        app.router.add_get("/ws/{tail:.*}", self.hub.handle_ws)
        app.router.add_get("/stream", self.hub.handle_ws)
        install_control_routes(app, self)
        self._runner = web.AppRunner(app, handle_signals=False, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.config.host, self.config.port)
        try:
            await site.start()
        except OSError as exc:
            raise ConfigError(f"sim: cannot bind {self.config.host}:{self.config.port}") from exc
        server = site._server
        assert server is not None
        sockets = getattr(server, "sockets", None) or []
        self._port = sockets[0].getsockname()[1]
        self._clock_task = asyncio.create_task(self.ticker.run(), name="sim-clock")
        log.info("sim.started", http=self.base_url_http, ws=self.base_url_ws)

    async def stop(self) -> None:
        """Stop the clock, close every stream and the server."""
        for task in (self._clock_task, self._countdown, *self._deferred):
            if task is not None:
                task.cancel()
                try:
                    await task
                except asyncio.CancelledError:
                    pass
        self._clock_task = self._countdown = None
        await self.hub.close_all()
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None
        log.info("sim.stopped")

    async def __aenter__(self) -> SimExchange:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        with anyio.CancelScope(shield=True):
            await self.stop()

    async def run(
        self,
        *,
        task_status: anyio.abc.TaskStatus[None] = anyio.TASK_STATUS_IGNORED,
        heartbeat: Callable[[], None] | None = None,
    ) -> None:
        """Serve until cancelled (component contract: ``await tg.start(sim.run)``)."""
        await self.start()
        try:
            task_status.started()
            while True:
                if heartbeat is not None:
                    heartbeat()
                await anyio.sleep(1.0)
        finally:
            with anyio.CancelScope(shield=True):
                await self.stop()

    # --------------------------------------------------------------- orders
    async def _publish(self, events: list[Event]) -> None:
        # ALGO_UPDATE FINISHED trails the triggered order's fill by a moment on Binance; the
        # adapter emits a synthetic fill if FINISHED is processed before that fill.
        now_events = [e for e in events if not _is_algo_finished(e)]
        later = [e for e in events if _is_algo_finished(e)]
        await self.hub.publish_user(now_events)
        if later:
            task = asyncio.create_task(self._publish_later(later, FINISHED_DELAY_S))
            self._deferred.add(task)
            task.add_done_callback(self._deferred.discard)

    async def _publish_later(self, events: list[Event], delay_s: float) -> None:
        await asyncio.sleep(delay_s)
        await self.hub.publish_user(events)

    def check_symbol(self, params: dict[str, str]) -> None:
        """-1121 unless the request names the simulated symbol."""
        if params.get("symbol") != self.spec.symbol:
            raise VenueError(-1121, "Invalid symbol.")

    def _maybe_reject(self) -> None:
        rejection = self.faults.take_rejection()
        if rejection is not None:
            raise VenueError(rejection.code, rejection.msg)

    async def place_order(self, params: dict[str, str]) -> dict[str, Any]:
        """Place a regular order; returns the REST body, pushes its events."""
        async with self._lock:
            self._maybe_reject()
            rest, events = self.engine.new_order(params, _wall_ms())
            await self._publish(events)
            return rest

    async def place_algo_order(self, params: dict[str, str]) -> dict[str, Any]:
        """Place a conditional (STOP_MARKET) order."""
        async with self._lock:
            self._maybe_reject()
            rest, events = self.engine.new_algo_order(params, _wall_ms())
            await self._publish(events)
            return rest

    async def cancel_order(self, order_id: str | None, client_id: str | None) -> dict[str, Any]:
        """Cancel one regular order (-2011 if unknown or no longer open)."""
        async with self._lock:
            try:
                order = self.engine.find_order(order_id, client_id)
            except VenueError as exc:
                raise VenueError(-2011, "Unknown order sent.") from exc
            rest, events = self.engine.cancel_order(order, _wall_ms())
            await self._publish(events)
            return rest

    async def modify_order(self, params: dict[str, str]) -> dict[str, Any]:
        """Amend a resting LIMIT order's price and quantity."""
        async with self._lock:
            order = self.engine.find_order(params.get("orderId"), params.get("origClientOrderId"))
            rest, events = self.engine.modify_order(order, params, _wall_ms())
            await self._publish(events)
            return rest

    async def cancel_algo_order(self, algo_id: str | None, client_id: str | None) -> dict[str, Any]:
        """Cancel one algo order (-2011 if unknown or no longer open)."""
        async with self._lock:
            try:
                algo = self.engine.find_algo(algo_id, client_id)
            except VenueError as exc:
                raise VenueError(-2011, "Unknown order sent.") from exc
            body, events = self.engine.cancel_algo(algo, _wall_ms())
            await self._publish(events)
            return body

    async def cancel_all(self) -> int:
        """Cancel every open regular order; returns how many."""
        async with self._lock:
            events: list[Event] = []
            orders = self.engine.open_orders()
            for order in orders:
                events += self.engine.cancel_order(order, _wall_ms())[1]
            await self._publish(events)
            return len(orders)

    def set_countdown(self, countdown_ms: int) -> None:
        """Arm (or with 0 disarm) the dead-man switch that cancels all orders."""
        if self._countdown is not None:
            self._countdown.cancel()
            self._countdown = None
        if countdown_ms > 0:
            self._countdown = asyncio.create_task(self._countdown_fire(countdown_ms / 1000))

    async def _countdown_fire(self, delay_s: float) -> None:
        await asyncio.sleep(delay_s)
        cancelled = await self.cancel_all()
        log.info("sim.countdown_cancel_all", cancelled=cancelled)

    async def step_price(self, price: Decimal) -> None:
        """Move the last price (clock tick or jump), matching what the move crosses."""
        async with self._lock:
            now = _wall_ms()
            events = self.engine.move_to(price, now)
            liquidation = self.engine.check_liquidation(now)
            if liquidation:
                log.warning("sim.liquidation", price=str(price), wallet=str(self.engine.wallet))
            await self._publish(events + liquidation)

    async def settle_funding(self, rate: Decimal) -> None:
        """Settle funding at the current mark for every open leg."""
        async with self._lock:
            await self._publish(self.engine.settle_funding(rate, self.engine.price, _wall_ms()))

    # -------------------------------------------------------------- views
    def premium_index(self) -> dict[str, Any]:
        """``GET /fapi/v1/premiumIndex``: mark price and funding."""
        return self.ticker.premium_index()

    def book_ticker(self) -> dict[str, Any]:
        """``GET /fapi/v1/ticker/bookTicker``."""
        return self.ticker.book_ticker_rest()

    def klines(self, params: dict[str, str]) -> list[list[Any]]:
        """``GET /fapi/v1/klines``: closed bars emitted so far."""
        return self.ticker.klines_rest(params)

    # --------------------------------------------------------------- faults
    async def drop_streams(self, kind: str = "all") -> int:
        """Fault: close WebSocket connections ("market", "user" or "all") server-side."""
        return await self.hub.drop(kind)

    def stall_streams(self, seconds: float, kind: str = "market") -> None:
        """Fault: withhold messages on streams of ``kind`` for ``seconds`` (not buffered)."""
        self.faults.stall_until[kind] = time.monotonic() + seconds
        log.info("sim.fault_stall", kind=kind, seconds=seconds)

    async def expire_listen_key(self) -> int:
        """Fault: push ``listenKeyExpired`` and invalidate every listen key."""
        return await self.hub.expire_listen_keys(_wall_ms())

    def reject_next_orders(self, count: int, code: int = -2019, msg: str = "") -> None:
        """Fault: the next ``count`` order placements fail with Binance error ``code``."""
        text = msg or {-2019: "Margin is insufficient."}.get(code, "Order rejected by sim fault.")
        self.faults.rejections.append(OrderRejection(count, code, text))
        log.info("sim.fault_reject_orders", count=count, code=code)

    def fail_next_requests(
        self, count: int, status: int = 503, path_prefix: str = "/fapi/"
    ) -> None:
        """Fault: answer the next ``count`` REST requests under ``path_prefix`` with ``status``."""
        self.faults.failures.append(ServerFailure(count, status, path_prefix))
        log.info("sim.fault_5xx", count=count, status=status, path_prefix=path_prefix)

    def set_latency(self, seconds: float, path_prefix: str = "/fapi/") -> None:
        """Fault: delay every REST answer under ``path_prefix`` by ``seconds``."""
        self.faults.latency_s = seconds
        self.faults.latency_prefix = path_prefix
        log.info("sim.fault_latency", seconds=seconds, path_prefix=path_prefix)

    async def jump_price(self, *, to: Decimal | None = None, pct: Decimal | None = None) -> Decimal:
        """Fault: jump the price now (to a price or by a percentage); the path follows."""
        current = self.engine.price
        if to is None:
            if pct is None:
                raise ConfigError("jump_price: give 'to' or 'pct'")
            to = current * (1 + pct / 100)
        target = max(self.rules.tick, (to / self.rules.tick).to_integral_value() * self.rules.tick)
        self.path.jump(target - current)
        await self.step_price(target)
        await self.ticker.publish_quote()
        log.info("sim.fault_price_jump", before=str(current), after=str(target))
        return target

    def set_hedge_mode(self, enabled: bool) -> None:
        """Fault/config: what ``/fapi/v1/positionSide/dual`` reports (hedge mode on/off)."""
        self.engine.dual_side = enabled
        log.info("sim.hedge_mode", enabled=enabled)

    def set_partial_fills(self, enabled: bool) -> None:
        """Fault: a touched resting order fills half (on the step) per touch, not all at once."""
        self.engine.partial_fills = enabled
        log.info("sim.partial_fills", enabled=enabled)

    def set_weight_limit(self, limit: int) -> None:
        """Fault: lower the per-minute request weight (0: every request gets 429, then 418)."""
        self.limiter.set_limit(limit)
        self.limiter.reset()

    def clear_faults(self) -> None:
        """Remove every active fault and reset the rate limiter."""
        self.faults.clear()
        self.engine.partial_fills = False
        self.limiter.set_limit(self.config.weight_limit_per_minute)
        self.limiter.reset()

    def order_requests(self) -> list[SeenRequest]:
        """Requests that reached any endpoint placing, changing or cancelling orders."""
        return [r for r in self.requests if r.path in ORDER_ENDPOINTS]

    def seen(self, path_prefix: str = "", method: str | None = None) -> list[SeenRequest]:
        """Requests received under ``path_prefix`` (optionally of one HTTP method)."""
        return [
            r
            for r in self.requests
            if r.path.startswith(path_prefix) and (method is None or r.method == method)
        ]
