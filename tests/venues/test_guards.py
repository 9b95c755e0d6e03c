"""Tests of the per-mode venue guards."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from hedgegridd.errors import ConfigError
from hedgegridd.venues.config import LIVE_ACKNOWLEDGEMENT, Mode, VenueSettings
from hedgegridd.venues.guards import BinanceKeys, check_venue

KEYS = BinanceKeys(api_key=SecretStr("live-key-1"), api_secret=SecretStr("live-secret-1"))
TESTNET_KEYS = BinanceKeys(api_key=SecretStr("test-key-1"), api_secret=SecretStr("test-sec-1"))


def _live(**kw: object) -> VenueSettings:
    return VenueSettings(live_acknowledgement=LIVE_ACKNOWLEDGEMENT, **kw)  # type: ignore[arg-type]


def test_live_with_acknowledgement_keys_and_ops_passes() -> None:
    """Live starts with the exact acknowledgement, keys, production URLs and ops enabled."""
    check_venue(Mode.LIVE, _live(), keys=KEYS, other_env_keys=None, killswitch_enabled=True)


def test_live_without_acknowledgement_refused() -> None:
    """Live without the exact acknowledgement text is refused naming the key."""
    with pytest.raises(ConfigError, match=r"venue\.live_acknowledgement"):
        check_venue(
            Mode.LIVE,
            VenueSettings(live_acknowledgement="yes"),
            keys=KEYS,
            other_env_keys=None,
            killswitch_enabled=True,
        )


def test_live_with_ops_disabled_refused() -> None:
    """Live with the kill switch disabled is refused."""
    with pytest.raises(ConfigError, match=r"killswitch\.enabled"):
        check_venue(Mode.LIVE, _live(), keys=KEYS, other_env_keys=None, killswitch_enabled=False)


def test_live_with_testnet_url_refused() -> None:
    """Live pointed at a testnet URL is refused."""
    venue = _live(base_url_http="https://testnet.binancefuture.com")
    with pytest.raises(ConfigError, match=r"venue\.base_url_http"):
        check_venue(Mode.LIVE, venue, keys=KEYS, other_env_keys=None, killswitch_enabled=True)


def test_live_without_keys_refused() -> None:
    """Live without credentials is refused."""
    with pytest.raises(ConfigError, match="credentials"):
        check_venue(Mode.LIVE, _live(), keys=None, other_env_keys=None, killswitch_enabled=True)


def test_key_shared_between_testnet_and_live_refused() -> None:
    """The same API key configured for testnet and live is refused."""
    with pytest.raises(ConfigError, match="same API key"):
        check_venue(Mode.LIVE, _live(), keys=KEYS, other_env_keys=KEYS, killswitch_enabled=True)


def test_testnet_refuses_production_urls() -> None:
    """Testnet pointed at the production URL is refused; default testnet URLs pass."""
    check_venue(
        Mode.TESTNET,
        VenueSettings(),
        keys=TESTNET_KEYS,
        other_env_keys=KEYS,
        killswitch_enabled=True,
    )
    with pytest.raises(ConfigError, match="testnet URL"):
        check_venue(
            Mode.TESTNET,
            VenueSettings(base_url_http="https://fapi.binance.com"),
            keys=TESTNET_KEYS,
            other_env_keys=None,
            killswitch_enabled=True,
        )


def test_paper_refuses_keys() -> None:
    """Paper handed trading keys refuses to start."""
    with pytest.raises(ConfigError, match="no trading keys"):
        check_venue(
            Mode.PAPER, VenueSettings(), keys=KEYS, other_env_keys=None, killswitch_enabled=True
        )


def test_sim_requires_loopback_urls() -> None:
    """Sim mode only accepts loopback simulator URLs."""
    ok = VenueSettings(base_url_http="http://127.0.0.1:9000", base_url_ws="ws://127.0.0.1:9000")
    check_venue(Mode.SIM, ok, keys=None, other_env_keys=None, killswitch_enabled=False)
    bad = VenueSettings(base_url_http="https://fapi.binance.com", base_url_ws="ws://127.0.0.1:1")
    with pytest.raises(ConfigError, match="loopback"):
        check_venue(Mode.SIM, bad, keys=None, other_env_keys=None, killswitch_enabled=True)
