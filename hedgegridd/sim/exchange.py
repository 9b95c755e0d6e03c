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
from collections import Counter, deque
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import anyio
import structlog
from aiohttp import web

from hedgegridd.data.instruments import BTCUSDT_PERP, InstrumentSpec, exchange_info_symbol
from hedgegridd.errors import ConfigError
from hedgegridd.sim.config import SimConfig
from hedgegridd.sim.control import install_control_routes
from hedgegridd.sim.director import MarketDirector
from hedgegridd.sim.engine import MatchingEngine
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
from hedgegridd.sim.scenarios import ScenarioStep
from hedgegridd.sim.shaper import PriceShaper
from hedgegridd.sim.streams import StreamHub
from hedgegridd.sim.ticker import MarketTicker
from hedgegridd.sim.venue import Venue, wall_ms

log = structlog.get_logger(__name__)


def _str_decimals(text: str) -> int:
    return len(text.split(".", 1)[1]) if "." in text else 0


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


class SimExchange:
    """The simulator: REST + streams + matching + faults on one aiohttp server."""

    def __init__(
        self,
        config: SimConfig | None = None,
        *,
        bars: Sequence[SimBar] | None = None,
        spec: InstrumentSpec = BTCUSDT_PERP,
        scenario: list[ScenarioStep] | None = None,
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
        self.venue: Venue
        self.funding_rates: list[Decimal] = []
        self.history_bars = 0
        self.faults = Faults()
        self.hub = StreamHub(self.faults, self.config.listen_key_ttl_s)
        self.director = MarketDirector(
            lambda: self.engine, lambda: self.venue, lambda: self.ticker, spec.tick_size
        )
        self.shaper: PriceShaper = self.director.shaper
        self._scenario = scenario or []
        if self._explicit is not None:
            self._build(MarketData(self._explicit, []), history=0)
        self.limiter = WeightLimiter(
            self.config.weight_limit_per_minute,
            self.config.ban_after_429s,
            self.config.ban_seconds,
        )
        self.order_limiter = OrderRateLimiter(
            self.config.orders_per_10s, self.config.orders_per_minute
        )
        self.requests: deque[SeenRequest] = deque(maxlen=REQUEST_LOG_SIZE)
        # Order-path refusals by Binance error code (what a client was told "no").
        self.order_rejections: Counter[int] = Counter()
        self._runner: web.AppRunner | None = None
        self._port = 0
        self._clock_task: asyncio.Task[None] | None = None

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
        self.venue = Venue(self.engine, self.hub, self.faults)
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
        self.hub.install(app, symbols=lambda: {self.spec.symbol})
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
        if self._scenario:
            self.director.schedule(self._scenario)
        log.info("sim.started", http=self.base_url_http, ws=self.base_url_ws)

    async def stop(self) -> None:
        """Stop the clock, close every stream and the server."""
        if self._clock_task is not None:
            self._clock_task.cancel()
            try:
                await self._clock_task
            except asyncio.CancelledError:
                pass
        self._clock_task = None
        if hasattr(self, "venue"):
            await self.venue.close()
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
    def check_symbol(self, params: dict[str, str]) -> None:
        """-1121 unless the request names the simulated symbol."""
        if params.get("symbol") != self.spec.symbol:
            raise VenueError(-1121, "Invalid symbol.")

    async def place_order(self, params: dict[str, str]) -> dict[str, Any]:
        """Place a regular order as ``POST /fapi/v1/order`` would."""
        return await self.venue.place_order(params)

    async def place_algo_order(self, params: dict[str, str]) -> dict[str, Any]:
        """Place a conditional order as ``POST /fapi/v1/algoOrder`` would."""
        return await self.venue.place_algo_order(params)

    async def step_price(self, price: Decimal) -> None:
        """Move the last price now (continuous move), matching what it crosses."""
        async with self.venue.lock:
            await self.venue.move_locked(price)

    async def fire_due_steps(self, t_ms: int) -> None:
        """Apply the scenario steps due at sim time ``t_ms`` (the clock calls this)."""
        await self.director.fire_due(t_ms)

    # --------------------------------------------------------------- faults
    async def drop_streams(self, kind: str = "all") -> int:
        """Fault: close WebSocket connections ("market", "user" or "all") server-side."""
        return await self.hub.drop(kind)

    def stall_streams(self, seconds: float, kind: str = "market", mode: str = "drop") -> None:
        """Fault: withhold messages on ``kind`` ("market"/"user"/"all") streams for ``seconds``.

        ``mode="drop"``: they are lost (REST still shows what happened);
        ``mode="delay"``: they are delivered in order when the stall ends.
        """
        if mode not in ("drop", "delay"):
            raise ConfigError(f"stall_streams: mode must be drop or delay, got {mode!r}")
        for k in ("market", "user") if kind == "all" else (kind,):
            self.faults.stall(k, seconds, mode)
        if mode == "delay":
            self.hub.flush_after(seconds)
        log.info("sim.fault_stall", kind=kind, seconds=seconds, mode=mode)

    async def expire_listen_key(self) -> int:
        """Fault: push ``listenKeyExpired`` and invalidate every listen key."""
        return await self.hub.expire_listen_keys(wall_ms())

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
        """Fault: gap the price now (to a price or by a percentage); the whole path follows.

        Nothing snaps back: the rest of the current bar and every later bar are shifted.
        Resting orders between fill at their prices; triggered stops fill at the market.
        """
        return await self.director.jump(to=to, pct=pct)

    def scenario(self, kind: str, *, at_s: float | Decimal = 0, **params: Any) -> ScenarioStep:
        """Schedule one scenario step ``at_s`` sim seconds from now (see ``scenarios``)."""
        return self.director.add(kind, at_s=at_s, **params)

    def load_scenario(self, path: Path) -> list[ScenarioStep]:
        """Validate a TOML scenario file and schedule its steps from now."""
        return self.director.load(path)

    def clear_scenarios(self) -> None:
        """Drop pending steps; moves in progress stop where they are (no snap back)."""
        self.director.clear()

    async def set_mark_premium(
        self, bps: Decimal = Decimal(0), absolute: Decimal = Decimal(0)
    ) -> None:
        """Mark = last * (1 + bps / 10000) + absolute (MARK_PRICE orders trigger on it)."""
        await self.venue.set_premium(Decimal(bps), Decimal(absolute))

    def set_funding_rate(self, rate: Decimal | None) -> None:
        """Override the next funding rate (None: back to the data's/configured rate)."""
        self.ticker.funding_override = rate

    async def restart(self, down_s: float) -> int:
        """Fault: the venue restarts: every WebSocket closes, listen keys are forgotten, and
        for ``down_s`` seconds REST answers 503 and WebSocket upgrades are refused. Account
        state (wallet, legs, resting orders) is kept; trading halts meanwhile and the
        market reopens where the path has got to (a gap). Returns the connections closed.
        """
        self.faults.down_until = time.monotonic() + down_s
        closed = await self.hub.restart()
        log.warning("sim.restart", down_s=down_s, closed=closed)
        return closed

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
        """Remove every active fault and reset the rate limiter (scenarios keep running)."""
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
