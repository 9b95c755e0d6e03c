"""Tests of the Nautilus node configs per mode."""

from __future__ import annotations

import pytest
from pydantic import SecretStr, ValidationError

from hedgegridd.venues.config import Mode, ReconcileSettings, VenueSettings
from hedgegridd.venues.guards import BinanceKeys
from hedgegridd.venues.nodes import build_node_plan
from hedgegridd.venues.ws_routes import RoutedBinanceDataClientFactory

KEYS = BinanceKeys(api_key=SecretStr("key-abcdef"), api_secret=SecretStr("secret-abcdef"))


def test_paper_has_sandbox_exec_and_no_keys() -> None:
    """Paper: sandbox exec (HEDGING, MARGIN, no reduce-only, stops allowed), no Binance keys."""
    plan = build_node_plan(Mode.PAPER, VenueSettings(), keys=KEYS)
    exec_cfg = plan.config.exec_clients["BINANCE"]
    assert plan.has_binance_exec_client is False
    assert type(exec_cfg).__name__ == "SandboxExecutionClientConfig"
    assert exec_cfg.oms_type == "HEDGING"
    assert exec_cfg.account_type == "MARGIN"
    assert exec_cfg.use_reduce_only is False
    assert exec_cfg.reject_stop_orders is False
    data_cfg = plan.config.data_clients["BINANCE"]
    assert data_cfg.api_key is None
    assert data_cfg.api_secret is None
    assert "key-abcdef" not in repr(plan.config)


def test_live_exec_client_is_hedge_safe() -> None:
    """Live: Binance exec client without reduce-only, with position ids and reconciliation."""
    plan = build_node_plan(Mode.LIVE, VenueSettings(leverage=3), keys=KEYS)
    exec_cfg = plan.config.exec_clients["BINANCE"]
    assert plan.has_binance_exec_client is True
    assert exec_cfg.use_reduce_only is False
    assert exec_cfg.use_position_ids is True
    assert exec_cfg.environment.value == "LIVE"
    assert exec_cfg.futures_leverages == {"BTCUSDT": 3}
    assert plan.config.exec_engine.reconciliation is True


def test_testnet_uses_testnet_environment() -> None:
    """Testnet: data and exec clients on the TESTNET environment."""
    plan = build_node_plan(Mode.TESTNET, VenueSettings(), keys=KEYS)
    assert plan.config.exec_clients["BINANCE"].environment.value == "TESTNET"
    assert plan.config.data_clients["BINANCE"].environment.value == "TESTNET"


def test_overridden_ws_also_routes_the_user_stream() -> None:
    """A ws override (sim) is used for the user data stream too, never Binance's real host,
    on Binance's routed paths: market data /market, user stream /private."""
    venue = VenueSettings(base_url_http="http://127.0.0.1:1", base_url_ws="ws://127.0.0.1:1")
    plan = build_node_plan(Mode.SIM, venue, keys=KEYS)
    assert plan.config.exec_clients["BINANCE"].base_url_ws_stream == "ws://127.0.0.1:1/private"
    assert plan.config.data_clients["BINANCE"].base_url_ws == "ws://127.0.0.1:1/market"
    assert plan.data_factory is RoutedBinanceDataClientFactory


def test_live_reconciliation_checks_configured_for_hedge_mode() -> None:
    """Nautilus owns in-flight and open-order checks; its hedge-blind position check is off."""
    plan = build_node_plan(
        Mode.LIVE, VenueSettings(), keys=KEYS, reconcile=ReconcileSettings(open_check_interval_s=45)
    )
    engine = plan.config.exec_engine
    assert engine.open_check_interval_secs == 45
    assert engine.open_check_open_only is True
    assert engine.position_check_interval_secs is None
    assert engine.inflight_check_interval_ms == 2_000
    assert engine.generate_missing_orders is True
    assert engine.purge_closed_orders_interval_mins is None
    off = build_node_plan(
        Mode.SIM, VenueSettings(), keys=KEYS, reconcile=ReconcileSettings(open_check_interval_s=0)
    )
    assert off.config.exec_engine.open_check_interval_secs is None
    paper = build_node_plan(Mode.PAPER, VenueSettings(), keys=None)
    assert paper.config.exec_engine.reconciliation is False
    assert paper.config.exec_engine.open_check_interval_secs is None


def test_open_check_interval_is_off_or_at_least_five_seconds() -> None:
    """0 disables the Nautilus open-order check; 1..4 s would hammer the API: refused."""
    assert ReconcileSettings(open_check_interval_s=0).open_check_interval_s == 0
    with pytest.raises(ValidationError, match="at least 5 seconds"):
        ReconcileSettings(open_check_interval_s=2)
