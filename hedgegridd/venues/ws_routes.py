"""Binance USD-M WebSocket routes for an overridden WebSocket base URL (the simulator).

Binance serves USD-M streams under routed paths: ``/market`` (klines, mark price,
trades), ``/public`` (book ticker, depth) and ``/private`` (user data); the legacy
unrouted ``/ws`` and ``/stream`` were retired on 2026-04-23. Nautilus 1.231 routes
its defaults (and overrides on ``fstream*.binance.com``) itself, but leaves any other
override unrouted (``get_usdm_ws_route_base_url``), and its data client derives the
``/public`` URL from the same single ``base_url_ws``. So for an override such as the
simulator's root we build the three URLs here, like production:

- data client: ``base_url_ws = <root>/market`` and, via
  ``RoutedBinanceDataClientFactory``, its book client on ``<root>/public``;
- exec client: ``base_url_ws_stream = <root>/private`` (user stream
  ``<root>/private/ws?listenKey=K``).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from nautilus_trader.adapters.binance.config import BinanceDataClientConfig
from nautilus_trader.adapters.binance.factories import BinanceLiveDataClientFactory

from hedgegridd.errors import ConfigError

ROUTE_SUFFIXES = (
    "/market/ws",
    "/market/stream",
    "/public/ws",
    "/public/stream",
    "/private/ws",
    "/private/stream",
    "/market",
    "/public",
    "/private",
    "/ws",
    "/stream",
)


@dataclass(frozen=True, slots=True)
class RoutedWsUrls:
    """The three routed base URLs of one WebSocket root."""

    root: str

    @property
    def market(self) -> str:
        """Regular market data (klines, mark price, aggTrade)."""
        return f"{self.root}/market"

    @property
    def public(self) -> str:
        """High-frequency public data (bookTicker, depth)."""
        return f"{self.root}/public"

    @property
    def private(self) -> str:
        """User data (listenKey streams)."""
        return f"{self.root}/private"


def routed_ws_urls(base_url_ws: str) -> RoutedWsUrls:
    """The routed URLs of an override given as a root or as any routed/legacy path."""
    root = base_url_ws.rstrip("/")
    for suffix in ROUTE_SUFFIXES:
        if root.endswith(suffix):
            root = root[: -len(suffix)]
            break
    return RoutedWsUrls(root)


class RoutedBinanceDataClientFactory(BinanceLiveDataClientFactory):
    """Nautilus's Binance data factory, with the book client on ``/public`` when the
    configured ``base_url_ws`` is a ``/market`` route (Nautilus would put both on it)."""

    @staticmethod
    def create(  # type: ignore[override]
        loop: asyncio.AbstractEventLoop,
        name: str,
        config: BinanceDataClientConfig,
        msgbus: Any,
        cache: Any,
        clock: Any,
    ) -> Any:
        """Create the client, then point its public (book) stream client at ``/public``."""
        client = BinanceLiveDataClientFactory.create(loop, name, config, msgbus, cache, clock)
        url = config.base_url_ws
        if url is None or not url.rstrip("/").endswith("/market"):
            return client
        public_ws = getattr(client, "_ws_public_client", None)
        if public_ws is None or not isinstance(getattr(public_ws, "_base_url", None), str):
            raise ConfigError(
                "the Binance adapter has no public stream client to route to /public "
                "(Nautilus version changed?)"
            )
        public_ws._base_url = routed_ws_urls(url).public
        return client
