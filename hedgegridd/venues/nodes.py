"""Nautilus TradingNode configuration per mode (paper / testnet / live / sim).

- paper: Binance public market data + the Sandbox execution client (HEDGING, MARGIN,
  ``use_reduce_only=False``). No Binance exec client and no keys exist in the node,
  so no order can reach Binance whatever the config says.
- testnet / live / sim: Binance data + exec clients with ``use_reduce_only=False``
  (hedge mode forbids reduce-only) and position ids (hedge sides from -LONG/-SHORT).
Guards (``hedgegridd.venues.guards.check_venue``) run before any of this is built.

Who reconciles what with the venue (testnet / live / sim; paper has nothing to reconcile):

- Nautilus ``LiveExecutionEngine`` (configured here):
  - startup reconciliation (``reconciliation=True``, our instrument only, full lookback);
  - in-flight check: an order stuck SUBMITTED / PENDING_* for 5 s is queried every 2 s
    (Nautilus defaults, kept explicit);
  - open-order check every ``[reconcile] open_check_interval_s`` with
    ``open_check_open_only=True`` (``openOrders`` + ``openAlgoOrders``): status and
    filled-quantity drift of orders the venue still has open;
  - the Binance adapter's full mass status after every user-stream resubscribe
    (listenKey expiry or stream reconnect).
- Not used, on purpose:
  - ``position_check_interval_secs``: it keys venue positions by (instrument, account),
    so in hedge mode one leg's report overwrites the other and LONG+SHORT always look
    discrepant (fill queries every cycle, then it gives up). The venue watch compares
    each leg instead.
  - ``purge_closed_*``: a later mass status (which we request at runtime) re-creates
    purged filled orders from ``allOrders`` as new orders and applies their fills again.
  - ``open_check_open_only=False``: ``allOrders`` on every cycle is heavy; the venue
    watch asks for a mass status only when it sees a difference.
- ``hedgegridd.supervisor.venue_watch`` (ours): per-leg positions and our open orders
  against ``positionRisk`` / ``openOrders`` / ``openAlgoOrders`` on a cadence and after
  stream events, repaired with the same mass status the adapter uses; hedge mode
  (``positionSide/dual``); stream liveness (a user stream whose listenKey died with a
  venue restart, a market stream stuck reconnecting).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from nautilus_trader.adapters.binance.common.enums import BinanceAccountType, BinanceEnvironment
from nautilus_trader.adapters.binance.config import (
    BinanceDataClientConfig,
    BinanceExecClientConfig,
)
from nautilus_trader.adapters.binance.factories import (
    BinanceLiveDataClientFactory,
    BinanceLiveExecClientFactory,
)
from nautilus_trader.adapters.sandbox.config import SandboxExecutionClientConfig
from nautilus_trader.adapters.sandbox.factory import SandboxLiveExecClientFactory
from nautilus_trader.common.config import InstrumentProviderConfig
from nautilus_trader.config import LiveExecEngineConfig, LoggingConfig, TradingNodeConfig
from nautilus_trader.live.factories import LiveDataClientFactory, LiveExecClientFactory
from nautilus_trader.model.identifiers import InstrumentId, TraderId

from hedgegridd.errors import ConfigError
from hedgegridd.venues.config import Mode, ReconcileSettings, VenueSettings
from hedgegridd.venues.guards import BinanceKeys
from hedgegridd.venues.ws_routes import RoutedBinanceDataClientFactory, routed_ws_urls

VENUE_NAME = "BINANCE"


@dataclass(frozen=True)
class NodePlan:
    """A node config plus the client factories it needs."""

    config: TradingNodeConfig
    data_factory: type[LiveDataClientFactory]
    exec_factory: type[LiveExecClientFactory]
    has_binance_exec_client: bool


def _environment(mode: Mode) -> BinanceEnvironment:
    return BinanceEnvironment.TESTNET if mode is Mode.TESTNET else BinanceEnvironment.LIVE


def build_node_plan(
    mode: Mode,
    venue: VenueSettings,
    *,
    keys: BinanceKeys | None,
    nautilus_log_level: str = "WARNING",
    trader_id: str = "HEDGEGRID-001",
    timeout_connection_s: float = 30.0,
    timeout_reconciliation_s: float = 30.0,
    reconcile: ReconcileSettings | None = None,
) -> NodePlan:
    """Build the node config for ``mode``. Paper never gets keys or a Binance exec client."""
    rec = reconcile or ReconcileSettings()
    instrument_id = InstrumentId.from_str(venue.instrument_id)
    provider = InstrumentProviderConfig(load_ids=frozenset({instrument_id}))
    environment = _environment(mode)
    # A WebSocket override (the simulator) gets Binance's routed paths like production:
    # market data on /market, book data on /public, the user stream on /private.
    routes = (
        routed_ws_urls(venue.base_url_ws)
        if venue.base_url_ws and environment is BinanceEnvironment.LIVE
        else None
    )
    data = BinanceDataClientConfig(
        account_type=BinanceAccountType.USDT_FUTURES,
        environment=environment,
        base_url_http=venue.base_url_http,
        base_url_ws=routes.market if routes else venue.base_url_ws,
        instrument_provider=provider,
        api_key=None,
        api_secret=None,
    )
    exec_client: SandboxExecutionClientConfig | BinanceExecClientConfig
    exec_factory: type[LiveExecClientFactory]
    if mode is Mode.PAPER:
        exec_client = SandboxExecutionClientConfig(
            venue=VENUE_NAME,
            oms_type="HEDGING",
            account_type="MARGIN",
            starting_balances=[f"{venue.paper_starting_balance} USDT"],
            base_currency="USDT",
            default_leverage=Decimal(venue.leverage or 1),
            use_reduce_only=False,
            use_position_ids=True,
            reject_stop_orders=False,
            instrument_provider=provider,
        )
        exec_factory = SandboxLiveExecClientFactory
        reconciliation = False  # the sandbox has nothing to reconcile
    else:
        if keys is None:
            raise ConfigError(f"mode={mode.value} needs Binance API credentials")
        leverages = {venue.symbol: venue.leverage} if venue.leverage else None
        exec_client = BinanceExecClientConfig(
            account_type=BinanceAccountType.USDT_FUTURES,
            environment=environment,
            api_key=keys.api_key.get_secret_value(),
            api_secret=keys.api_secret.get_secret_value(),
            base_url_http=venue.base_url_http,
            base_url_ws=venue.base_url_ws,
            # The adapter does not derive the user stream from base_url_ws: without this
            # an overridden venue (sim) would open its user stream on Binance's real host.
            base_url_ws_stream=routes.private if routes else venue.base_url_ws,
            use_reduce_only=False,
            use_position_ids=True,
            recv_window_ms=venue.recv_window_ms,
            futures_leverages=leverages,  # type: ignore[arg-type]
            instrument_provider=provider,
            max_retries=3,
        )
        exec_factory = BinanceLiveExecClientFactory
        reconciliation = True
    config = TradingNodeConfig(
        trader_id=TraderId(trader_id),
        logging=LoggingConfig(log_level=nautilus_log_level, log_colors=False),
        exec_engine=LiveExecEngineConfig(
            reconciliation=reconciliation,
            reconciliation_instrument_ids=[instrument_id] if reconciliation else None,
            generate_missing_orders=True,
            inflight_check_interval_ms=2_000,
            inflight_check_threshold_ms=5_000,
            open_check_interval_secs=(
                rec.open_check_interval_s or None if reconciliation else None
            ),
            open_check_open_only=True,
            position_check_interval_secs=None,
            graceful_shutdown_on_exception=True,
        ),
        data_clients={VENUE_NAME: data},
        exec_clients={VENUE_NAME: exec_client},
        timeout_connection=timeout_connection_s,
        timeout_reconciliation=timeout_reconciliation_s,
        timeout_portfolio=10.0,
        timeout_disconnection=5.0,
        timeout_post_stop=2.0,
    )
    return NodePlan(
        config=config,
        data_factory=RoutedBinanceDataClientFactory if routes else BinanceLiveDataClientFactory,
        exec_factory=exec_factory,
        has_binance_exec_client=mode is not Mode.PAPER,
    )
