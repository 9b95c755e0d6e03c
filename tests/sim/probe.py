"""A minimal probe strategy and node harness for the simulator's end-to-end tests.

Not the team's grid strategy: it only subscribes, places what the test asks for
with hedge-mode position ids, and records every event it sees.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any

from nautilus_trader.adapters.binance import (
    BINANCE,
    BinanceAccountType,
    BinanceDataClientConfig,
    BinanceExecClientConfig,
    BinanceLiveDataClientFactory,
    BinanceLiveExecClientFactory,
)
from nautilus_trader.adapters.binance.common.enums import BinanceEnvironment
from nautilus_trader.adapters.binance.futures.types import BinanceFuturesMarkPriceUpdate
from nautilus_trader.config import (
    InstrumentProviderConfig,
    LiveExecEngineConfig,
    LoggingConfig,
    StrategyConfig,
    TradingNodeConfig,
)
from nautilus_trader.core.data import Data
from nautilus_trader.live.node import TradingNode
from nautilus_trader.model.data import Bar, BarType, DataType, QuoteTick, TradeTick
from nautilus_trader.model.enums import OrderSide, TimeInForce, TriggerType
from nautilus_trader.model.events import (
    OrderAccepted,
    OrderCanceled,
    OrderEvent,
    OrderFilled,
    OrderRejected,
)
from nautilus_trader.model.identifiers import InstrumentId, PositionId
from nautilus_trader.model.objects import Price, Quantity
from nautilus_trader.trading.strategy import Strategy

from hedgegridd.sim import SimBar, SimConfig, SimExchange

INSTRUMENT_ID = "BTCUSDT-PERP.BINANCE"


class ProbeConfig(StrategyConfig, frozen=True):
    """Which instrument the probe trades."""

    instrument_id: str = INSTRUMENT_ID


class ProbeStrategy(Strategy):
    """Subscribes bars and quotes; submits orders on request; records events."""

    def __init__(self, config: ProbeConfig) -> None:
        super().__init__(config)
        self.instrument_id = InstrumentId.from_str(config.instrument_id)
        self.bars: list[Bar] = []
        self.quotes: list[QuoteTick] = []
        self.trades: list[TradeTick] = []
        self.marks: list[BinanceFuturesMarkPriceUpdate] = []
        self.history: list[Bar] = []
        self.bar_type = BarType.from_str(f"{self.instrument_id}-1-MINUTE-LAST-EXTERNAL")
        self.events: list[OrderEvent] = []

    def on_start(self) -> None:
        """Subscribe 1-minute bars, best bid/ask, trades and mark price with funding."""
        self.subscribe_bars(self.bar_type)
        self.subscribe_quote_ticks(self.instrument_id)
        self.subscribe_trade_ticks(self.instrument_id)
        self.subscribe_data(
            DataType(BinanceFuturesMarkPriceUpdate, metadata={"instrument_id": self.instrument_id}),
            instrument_id=self.instrument_id,
        )

    def on_historical_data(self, data: Data) -> None:
        """Record bars answered to ``request_bars`` (served from REST klines)."""
        if isinstance(data, Bar):
            self.history.append(data)

    def on_trade_tick(self, tick: TradeTick) -> None:
        """Record a trade."""
        self.trades.append(tick)

    def on_data(self, data: Data) -> None:
        """Record mark-price updates (mark, index, funding rate, next funding time)."""
        if isinstance(data, BinanceFuturesMarkPriceUpdate):
            self.marks.append(data)

    def on_bar(self, bar: Bar) -> None:
        """Record a closed bar."""
        self.bars.append(bar)

    def on_quote_tick(self, tick: QuoteTick) -> None:
        """Record a quote."""
        self.quotes.append(tick)

    def on_order_event(self, event: OrderEvent) -> None:
        """Record an order event."""
        self.events.append(event)

    def position_id(self, leg: str) -> PositionId:
        """The hedge-mode position id of ``leg`` ("LONG" or "SHORT")."""
        return PositionId(f"{self.instrument_id}-{leg}")

    def limit(
        self, side: OrderSide, price: str, qty: str, leg: str, *, post_only: bool = False
    ) -> Any:
        """Submit a GTC LIMIT order on ``leg``; returns the order."""
        order = self.order_factory.limit(
            instrument_id=self.instrument_id,
            order_side=side,
            quantity=Quantity.from_str(qty),
            price=Price.from_str(price),
            time_in_force=TimeInForce.GTC,
            post_only=post_only,
        )
        self.submit_order(order, position_id=self.position_id(leg))
        return order

    def stop_market(self, side: OrderSide, trigger: str, qty: str, leg: str) -> Any:
        """Submit a STOP_MARKET order on ``leg``; returns the order."""
        order = self.order_factory.stop_market(
            instrument_id=self.instrument_id,
            order_side=side,
            quantity=Quantity.from_str(qty),
            trigger_price=Price.from_str(trigger),
            trigger_type=TriggerType.LAST_PRICE,
        )
        self.submit_order(order, position_id=self.position_id(leg))
        return order

    def of_type(self, kind: type) -> list[Any]:
        """Recorded events of one class."""
        return [e for e in self.events if isinstance(e, kind)]

    def fills(self) -> list[OrderFilled]:
        """Recorded fills."""
        return self.of_type(OrderFilled)

    def accepted(self) -> list[OrderAccepted]:
        """Recorded acceptances."""
        return self.of_type(OrderAccepted)

    def rejected(self) -> list[OrderRejected]:
        """Recorded rejections."""
        return self.of_type(OrderRejected)

    def canceled(self) -> list[OrderCanceled]:
        """Recorded cancels."""
        return self.of_type(OrderCanceled)


async def wait_for(
    condition: Callable[[], bool], *, limit_s: float = 30.0, what: str = "condition"
) -> None:
    """Poll ``condition`` until true; fail the test after ``limit_s`` seconds."""
    deadline = time.monotonic() + limit_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.05)


def node_config(sim: SimExchange, *, reconciliation: bool = True) -> TradingNodeConfig:
    """A TradingNode config pointing the real Binance adapter at ``sim``."""
    common: dict[str, Any] = {
        "account_type": BinanceAccountType.USDT_FUTURES,
        "base_url_http": sim.base_url_http,
        "base_url_ws": sim.base_url_ws,
        "api_key": sim.config.api_key,
        "api_secret": sim.config.api_secret,
        "environment": BinanceEnvironment.LIVE,
        "instrument_provider": InstrumentProviderConfig(load_all=True),
    }
    return TradingNodeConfig(
        trader_id="SIMTEST-001",
        logging=LoggingConfig(log_level="WARNING"),
        data_clients={BINANCE: BinanceDataClientConfig(**common)},
        exec_clients={
            BINANCE: BinanceExecClientConfig(
                **common,
                base_url_ws_stream=sim.base_url_ws_stream,
                use_reduce_only=False,
                max_retries=2,
                retry_delay_initial_ms=200,
                retry_delay_max_ms=400,
            )
        },
        exec_engine=LiveExecEngineConfig(reconciliation=reconciliation),
        timeout_connection=10.0,
        timeout_disconnection=2.0,
        timeout_post_stop=0.2,
    )


@asynccontextmanager
async def running_node(
    sim: SimExchange, *, claim_external: bool = False
) -> AsyncIterator[tuple[TradingNode, ProbeStrategy]]:
    """A built and running TradingNode with the probe strategy; stopped and disposed after.

    ``claim_external``: the probe claims orders reconciled from the venue at start.
    """
    node = TradingNode(node_config(sim), loop=asyncio.get_running_loop())
    node.add_data_client_factory(BINANCE, BinanceLiveDataClientFactory)
    node.add_exec_client_factory(BINANCE, BinanceLiveExecClientFactory)
    claims = [INSTRUMENT_ID] if claim_external else None
    strategy = ProbeStrategy(ProbeConfig(external_order_claims=claims))
    node.trader.add_strategy(strategy)
    node.build()
    task = asyncio.create_task(node.run_async())
    try:
        await wait_for(
            lambda: node.kernel.exec_engine.check_connected()
            and node.kernel.data_engine.check_connected()
            and strategy.is_running,
            what="node connected and strategy running",
        )
        yield node, strategy
    finally:
        await node.stop_async()
        node.kernel.dispose()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


def decimal(value: object) -> Decimal:
    """A Nautilus Price/Quantity/Money as Decimal."""
    return Decimal(str(value).split(" ")[0])


@asynccontextmanager
async def sim_with_node(
    config: SimConfig, bars: list[SimBar]
) -> AsyncIterator[tuple[SimExchange, ProbeStrategy]]:
    """A running simulator and a running node with the probe strategy connected to it."""
    async with SimExchange(config, bars=bars) as sim, running_node(sim) as (_node, strategy):
        yield sim, strategy
