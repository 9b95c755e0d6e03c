"""Safety guards that decide whether a mode may start with the given venue settings.

Every rule here is a defect of an earlier system made impossible:
- paper never reaches an order endpoint: it gets no exec client and no keys, whatever
  the config or the environment says (``paper_must_hold_no_keys``);
- live needs the exact acknowledgement text, ops (kill switch) enabled, keys, and
  production URLs (no testnet URL, no testnet key);
- testnet refuses production URLs and production keys;
- sim only talks to loopback URLs.
All refusals are ``ConfigError`` naming the key, so the daemon exits 78 and systemd
does not restart-loop on them.

``check_mode_guards`` is the one entry point: the CLI applies it before start and
``reload`` (SIGHUP, ``hedgegridctl reload``) applies it to the new file, so nothing
start would refuse for the mode can be switched on at runtime.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

from pydantic import SecretStr

from hedgegridd.errors import ConfigError
from hedgegridd.ops.config import KillSwitchConfig
from hedgegridd.venues.config import LIVE_ACKNOWLEDGEMENT, Mode, VenueSettings

_TESTNET_HOST_MARKERS = ("testnet", "binancefuture.com", "demo-")
_PRODUCTION_HOSTS = ("binance.com", "binance.us")


@dataclass(frozen=True, slots=True)
class BinanceKeys:
    """The Binance API key pair for one environment (values never logged)."""

    api_key: SecretStr
    api_secret: SecretStr


def _host(url: str) -> str:
    return (urlsplit(url).hostname or "").lower()


def is_loopback_url(url: str) -> bool:
    """True when ``url`` points at 127.0.0.0/8, ::1 or localhost."""
    host = _host(url)
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def is_testnet_url(url: str) -> bool:
    """True when ``url`` is a Binance testnet/demo host."""
    host = _host(url)
    return any(marker in host for marker in _TESTNET_HOST_MARKERS)


def is_production_url(url: str) -> bool:
    """True when ``url`` is a Binance production host (not testnet/demo)."""
    host = _host(url)
    if is_testnet_url(url):
        return False
    return any(host == p or host.endswith("." + p) for p in _PRODUCTION_HOSTS)


def check_mode_guards(
    mode: Mode,
    venue: VenueSettings,
    killswitch: KillSwitchConfig,
    *,
    keys: BinanceKeys | None,
    other_env_keys: BinanceKeys | None,
) -> None:
    """Every start guard of ``mode``: venue URLs and keys, and the kill switch it needs."""
    check_venue(
        mode,
        venue,
        keys=keys,
        other_env_keys=other_env_keys,
        killswitch_enabled=killswitch.enabled,
    )
    killswitch.require_for_mode(mode.value)


def check_venue(
    mode: Mode,
    venue: VenueSettings,
    *,
    keys: BinanceKeys | None,
    other_env_keys: BinanceKeys | None,
    killswitch_enabled: bool,
) -> None:
    """Raise ConfigError if ``mode`` must not start with these settings.

    ``keys`` are the credentials the mode would use; ``other_env_keys`` are the ones
    configured for the other real environment (testnet for live, live for testnet),
    used to refuse a key pair shared between environments.
    """
    http, ws = venue.http_url(mode), venue.ws_url(mode)
    if mode is Mode.PAPER:
        # Public market data only; no exec client is ever built for paper.
        if keys is not None:
            raise ConfigError(
                "mode=paper must hold no trading keys: remove the binance_api_key/"
                "binance_api_secret credentials for paper mode"
            )
        return
    if mode is Mode.SIM:
        for key, url in (
            ("venue.base_url_http", venue.base_url_http),
            ("venue.base_url_ws", venue.base_url_ws),
        ):
            if url is None or not is_loopback_url(url):
                raise ConfigError(
                    f"{key} must be a loopback URL of the simulator in mode=sim, got {url!r}"
                )
        return
    if keys is None:
        raise ConfigError(
            f"mode={mode.value} needs Binance API credentials (credential files "
            "binance_api_key and binance_api_secret, or BINANCE_API_KEY/BINANCE_API_SECRET)"
        )
    if other_env_keys is not None and (
        other_env_keys.api_key.get_secret_value() == keys.api_key.get_secret_value()
    ):
        raise ConfigError(
            f"mode={mode.value}: the same API key is configured for testnet and live; "
            "use separate keys per environment"
        )
    if mode is Mode.TESTNET:
        for key, url in (("venue.base_url_http", http), ("venue.base_url_ws", ws)):
            if not is_testnet_url(url):
                raise ConfigError(
                    f"{key} must be a Binance testnet URL in mode=testnet, got {url!r}"
                )
        return
    # LIVE
    if venue.live_acknowledgement != LIVE_ACKNOWLEDGEMENT:
        raise ConfigError(
            "venue.live_acknowledgement must be set to the exact text "
            f"{LIVE_ACKNOWLEDGEMENT!r} to trade real money in mode=live"
        )
    if not killswitch_enabled:
        raise ConfigError("killswitch.enabled must be true in mode=live (ops cannot be disabled)")
    for key, url in (("venue.base_url_http", http), ("venue.base_url_ws", ws)):
        if not is_production_url(url):
            raise ConfigError(f"{key} must be a Binance production URL in mode=live, got {url!r}")
