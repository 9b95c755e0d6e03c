"""``SimExchange``: the in-process Binance USD-M look-alike (aiohttp, loopback only).

Use it as an async context manager (tests, demo) or run it as a component
(``await tg.start(sim.run)``); point the adapter's ``base_url_http``, ``base_url_ws``
and ``base_url_ws_stream`` (required for the user stream) at it (docs/sim.md).
Each symbol's clock walks its price path: live bar ``i`` opens at ``t0 + i``
sim-minutes (t0 = the wall minute at start), each sim-minute lasts ``60 / speed``
real seconds. Market data carries sim time; the account (orders, trades, user
events) is stamped with the wall clock, like a venue.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import anyio
import structlog
from aiohttp import web

from hedgegridd.data.instruments import InstrumentSpec
from hedgegridd.errors import ConfigError
from hedgegridd.sim.account import Account
from hedgegridd.sim.clock import SimClock
from hedgegridd.sim.config import SimConfig
from hedgegridd.sim.control import install_control_routes
from hedgegridd.sim.director import MarketDirector
from hedgegridd.sim.engine import MatchingEngine
from hedgegridd.sim.fault_injector import FaultInjector
from hedgegridd.sim.faults import Faults
from hedgegridd.sim.limits import OrderRateLimiter, WeightLimiter
from hedgegridd.sim.market import MarketData, PricePath, SimBar
from hedgegridd.sim.markets import DefaultAttr, explicit_bars, resolve_specs, unique_specs
from hedgegridd.sim.orders import Formats, VenueError
from hedgegridd.sim.requestlog import LoggedRequest, RequestLog
from hedgegridd.sim.rest import RestApi
from hedgegridd.sim.rules import SymbolRules
from hedgegridd.sim.scenarios import ScenarioStep, load_scenario_file, route_steps
from hedgegridd.sim.server import HttpServer
from hedgegridd.sim.shaper import PriceShaper
from hedgegridd.sim.streams import StreamHub
from hedgegridd.sim.symbol_market import SymbolMarket
from hedgegridd.sim.ticker import MarketTicker
from hedgegridd.sim.venue import SYMBOL_MISSING, Venue, wall_ms

log = structlog.get_logger(__name__)


class SimExchange:
    """The simulator: REST + streams + matching + faults on one aiohttp server.

    Several symbols share one account (``account``: wallet, position mode, income,
    margin) and one venue lock; each has its own ``SymbolMarket`` in ``markets``
    (config order; the first is the default). ``market(symbol)`` finds one (-1102
    without a symbol, -1121 for an unknown one). ``engine``, ``ticker``, ``spec``,
    ``rules``, ``fmt``, ``symbol_info``, ``director``, ``shaper``, ``path`` and
    ``funding_rates`` are the default symbol's. Explicit ``specs`` (or ``spec``)
    define the symbols instead of ``config.symbols``; explicit ``bars`` (a list: the
    first symbol's; a mapping: per symbol) replace that symbol's synthetic data.
    """

    def __init__(
        self,
        config: SimConfig | None = None,
        *,
        bars: Sequence[SimBar] | Mapping[str, Sequence[SimBar]] | None = None,
        spec: InstrumentSpec | None = None,
        specs: Sequence[InstrumentSpec] | None = None,
        scenario: list[ScenarioStep] | None = None,
    ) -> None:
        self.config = config or SimConfig()
        chosen = list(specs) if specs else ([spec] if spec is not None else [])
        resolved = unique_specs(chosen or resolve_specs(self.config))
        self.faults = Faults()
        self.hub = StreamHub(self.faults, self.config.listen_key_ttl_s)
        self.account = Account(
            self.config.starting_balance, dual_side=self.config.dual_side_position
        )
        self._engines: dict[str, MatchingEngine] = {}
        self.venue = Venue(self._engines, self.hub, self.faults)
        self.venue.default_symbol = resolved[0].symbol
        self.markets: dict[str, SymbolMarket] = {
            s.symbol: SymbolMarket(s, self.venue) for s in resolved
        }
        self.clock = SimClock(self.config.speed)
        self._scenario = scenario or []
        route_steps(self._scenario, list(self.markets))  # a step's unknown symbol: ConfigError
        for symbol, rows in explicit_bars(list(self.markets), bars).items():
            self._build(self.markets[symbol], MarketData(list(rows), []), history=0)
        self.limiter = WeightLimiter(
            self.config.weight_limit_per_minute,
            self.config.ban_after_429s,
            self.config.ban_seconds,
        )
        self.order_limiter = OrderRateLimiter(
            self.config.orders_per_10s, self.config.orders_per_minute
        )
        self.injector = FaultInjector(
            self.faults, self.hub, self._engines, self.limiter, self.config.weight_limit_per_minute
        )
        self.requests = RequestLog()
        # Order-path refusals by Binance error code (what a client was told "no").
        self.order_rejections: Counter[int] = Counter()
        self._server = HttpServer(self.config.host, self.config.port)
        self._clock_tasks: list[asyncio.Task[None]] = []

    def _build(self, market: SymbolMarket, data: MarketData, *, history: int) -> None:
        market.build(
            data,
            history=history,
            account=self.account,
            engines=self._engines,
            hub=self.hub,
            faults=self.faults,
            clock=self.clock,
            config=self.config,
        )

    # -------------------------------------------------------------- markets
    def market(self, symbol: str | None) -> SymbolMarket:
        """The market of ``symbol``: -1102 when missing, -1121 when not served."""
        if not symbol:
            raise VenueError(-1102, SYMBOL_MISSING)
        found = self.markets.get(symbol)
        if found is None:
            raise VenueError(-1121, "Invalid symbol.")
        return found

    def market_or_default(self, symbol: str | None) -> SymbolMarket:
        """``symbol``'s market, or the default one for None (Python helpers, /_sim);
        ``ConfigError`` for a symbol not served."""
        if symbol is None:
            return next(iter(self.markets.values()))
        try:
            return self.market(symbol)
        except VenueError as exc:
            raise ConfigError(f"sim: unknown symbol {symbol!r}") from exc

    @property
    def default_market(self) -> SymbolMarket:
        """The first symbol's market."""
        return next(iter(self.markets.values()))

    # Backwards-compatible aliases: the default (first) symbol's market attributes.
    spec = DefaultAttr[InstrumentSpec]()
    symbol_info = DefaultAttr[dict[str, Any]]()
    rules = DefaultAttr[SymbolRules]()
    fmt = DefaultAttr[Formats]()
    engine = DefaultAttr[MatchingEngine]()
    ticker = DefaultAttr[MarketTicker]()
    director = DefaultAttr[MarketDirector]()
    shaper = DefaultAttr[PriceShaper]()
    path = DefaultAttr[PricePath]()
    history_bars = DefaultAttr[int]()
    funding_rates = DefaultAttr[list[Decimal]]()

    # ------------------------------------------------------------ lifecycle
    @property
    def port(self) -> int:
        """The bound TCP port (after start)."""
        return self._server.port

    @property
    def base_url_http(self) -> str:
        """REST base URL for ``BinanceExecClientConfig.base_url_http``."""
        return f"http://{self.config.host}:{self.port}"

    @property
    def base_url_ws(self) -> str:
        """WebSocket base URL for ``base_url_ws``."""
        return f"ws://{self.config.host}:{self.port}"

    @property
    def base_url_ws_stream(self) -> str:
        """User-data-stream base URL for ``BinanceExecClientConfig.base_url_ws_stream``.

        The adapter does NOT derive the user stream from ``base_url_ws``: without
        this setting it connects to Binance's real ``/private`` route.
        """
        return self.base_url_ws

    async def start(self) -> None:
        """Load the data (synthetic/catalog, in a worker thread), bind, start the clock."""
        for market in self.markets.values():
            if not market.built:
                data = await anyio.to_thread.run_sync(market.load, self.config)
                self._build(market, data, history=self.config.history_bars)
        app = web.Application()
        RestApi(self).install(app)
        self.hub.install(app, symbols=lambda: set(self.markets))
        install_control_routes(app, self)
        await self._server.start(app)
        self.clock.anchor()
        self._clock_tasks = [
            asyncio.create_task(m.ticker.run(), name=f"sim-clock-{m.symbol}")
            for m in self.markets.values()
        ]
        if self._scenario:
            self.schedule_scenario(self._scenario)
        log.info(
            "sim.started",
            http=self.base_url_http,
            ws=self.base_url_ws,
            symbols=list(self.markets),
        )

    async def stop(self) -> None:
        """Stop the clock, close every stream and the server."""
        for task in self._clock_tasks:
            task.cancel()
        for task in self._clock_tasks:
            try:
                await task
            except asyncio.CancelledError:
                pass
        self._clock_tasks = []
        await self.venue.close()
        await self.hub.close_all()
        await self._server.stop()
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
        """-1102 without a symbol, -1121 unless the request names a simulated symbol."""
        self.market(params.get("symbol"))

    async def place_order(self, params: dict[str, str]) -> dict[str, Any]:
        """Place a regular order as ``POST /fapi/v1/order`` would (on ``params["symbol"]``)."""
        return await self.venue.place_order(params)

    async def place_algo_order(self, params: dict[str, str]) -> dict[str, Any]:
        """Place a conditional order as ``POST /fapi/v1/algoOrder`` would."""
        return await self.venue.place_algo_order(params)

    async def step_price(self, price: Decimal, symbol: str | None = None) -> None:
        """Move the symbol's last price now (continuous move), matching what it crosses."""
        market = self.market_or_default(symbol)
        async with self.venue.lock:
            await self.venue.move_locked(price, symbol=market.symbol)

    async def fire_due_steps(self, t_ms: int, symbol: str | None = None) -> None:
        """Apply the symbol's scenario steps due at sim time ``t_ms`` (its ticker does)."""
        await self.market_or_default(symbol).director.fire_due(t_ms)

    # ------------------------------------------ faults (applied by ``FaultInjector``)
    async def drop_streams(self, kind: str = "all") -> int:
        """Fault: close WebSocket connections ("market", "user" or "all") server-side."""
        return await self.hub.drop(kind)

    def stall_streams(self, seconds: float, kind: str = "market", mode: str = "drop") -> None:
        """Fault: withhold messages on ``kind`` ("market"/"user"/"all") streams for ``seconds``.

        ``mode="drop"``: they are lost (REST still shows what happened);
        ``mode="delay"``: they are delivered in order when the stall ends.
        """
        self.injector.stall(seconds, kind, mode)

    async def expire_listen_key(self) -> int:
        """Fault: push ``listenKeyExpired`` and invalidate every listen key."""
        return await self.hub.expire_listen_keys(wall_ms())

    def reject_next_orders(self, count: int, code: int = -2019, msg: str = "") -> None:
        """Fault: the next ``count`` order placements fail with Binance error ``code``."""
        self.injector.reject_next_orders(count, code, msg)

    def fail_next_requests(
        self, count: int, status: int = 503, path_prefix: str = "/fapi/"
    ) -> None:
        """Fault: answer the next ``count`` REST requests under ``path_prefix`` with ``status``."""
        self.injector.fail_next_requests(count, status, path_prefix)

    def set_latency(self, seconds: float, path_prefix: str = "/fapi/") -> None:
        """Fault: delay every REST answer under ``path_prefix`` by ``seconds``."""
        self.injector.set_latency(seconds, path_prefix)

    async def jump_price(
        self,
        *,
        to: Decimal | None = None,
        pct: Decimal | None = None,
        symbol: str | None = None,
    ) -> Decimal:
        """Fault: gap the symbol's price now (to a price or by a percentage); its whole
        path follows.

        Nothing snaps back: the rest of the current bar and every later bar are shifted.
        Resting orders between fill at their prices; triggered stops fill at the market.
        """
        return await self.market_or_default(symbol).director.jump(to=to, pct=pct)

    def scenario(
        self, kind: str, *, at_s: float | Decimal = 0, symbol: str | None = None, **params: Any
    ) -> ScenarioStep:
        """Schedule one scenario step on ``symbol`` ``at_s`` sim seconds from now."""
        return self.market_or_default(symbol).director.add(kind, at_s=at_s, **params)

    def load_scenario(self, path: Path, symbol: str | None = None) -> list[ScenarioStep]:
        """Validate a TOML scenario file and schedule its steps from now (``schedule_scenario``)."""
        return self.schedule_scenario(load_scenario_file(path, list(self.markets)), symbol)

    def schedule_scenario(
        self, steps: list[ScenarioStep], symbol: str | None = None
    ) -> list[ScenarioStep]:
        """Schedule validated steps from now, each on the symbol it names (none: ``symbol``,
        default the first); ``ConfigError`` before any is queued if one names an unknown symbol."""
        default = self.market_or_default(symbol).symbol
        for name, group in route_steps(steps, list(self.markets), default).items():
            self.markets[name].director.schedule(group)
        return steps

    def clear_scenarios(self, symbol: str | None = None) -> None:
        """Drop the symbol's pending steps; moves in progress stop where they are."""
        self.market_or_default(symbol).director.clear()

    async def set_mark_premium(
        self,
        bps: Decimal = Decimal(0),
        absolute: Decimal = Decimal(0),
        symbol: str | None = None,
    ) -> None:
        """Mark = last * (1 + bps / 10000) + absolute (MARK_PRICE orders trigger on it)."""
        market = self.market_or_default(symbol)
        await self.venue.set_premium(Decimal(bps), Decimal(absolute), symbol=market.symbol)

    def set_funding_rate(self, rate: Decimal | None, symbol: str | None = None) -> None:
        """Override the symbol's next funding rate (None: back to the data's/configured)."""
        self.market_or_default(symbol).ticker.funding_override = rate

    async def restart(self, down_s: float) -> int:
        """Fault: the venue restarts: every WebSocket closes, listen keys are forgotten, and
        for ``down_s`` seconds REST answers 503 and WebSocket upgrades are refused. Account
        state (wallet, legs, resting orders) is kept; trading halts meanwhile and the
        market reopens where the path has got to (a gap). Returns the connections closed.
        """
        return await self.injector.restart(down_s)

    def set_hedge_mode(self, enabled: bool) -> None:
        """Fault/config: what ``/fapi/v1/positionSide/dual`` reports (hedge mode on/off)."""
        self.account.dual_side = enabled
        log.info("sim.hedge_mode", enabled=enabled)

    def set_partial_fills(self, enabled: bool) -> None:
        """Fault: a touched resting order fills half (on the step) per touch, not all at once."""
        self.injector.set_partial_fills(enabled)

    def set_weight_limit(self, limit: int) -> None:
        """Fault: lower the per-minute request weight (0: every request gets 429, then 418)."""
        self.injector.set_weight_limit(limit)

    def clear_faults(self) -> None:
        """Remove every active fault and reset the rate limiter (scenarios keep running)."""
        self.injector.clear()

    def order_requests(self) -> list[LoggedRequest]:
        """Requests that reached any endpoint placing, changing or cancelling orders."""
        return self.requests.orders()

    def seen(self, path_prefix: str = "", method: str | None = None) -> list[LoggedRequest]:
        """Requests received under ``path_prefix`` (optionally of one HTTP method)."""
        return self.requests.seen(path_prefix, method)
