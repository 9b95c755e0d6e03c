"""Routed WebSocket URLs for an overridden venue and the data factory that uses them."""

from __future__ import annotations

import asyncio

from nautilus_trader.adapters.binance.common.enums import BinanceAccountType
from nautilus_trader.adapters.binance.config import BinanceDataClientConfig
from nautilus_trader.cache.cache import Cache
from nautilus_trader.common.component import LiveClock, MessageBus
from nautilus_trader.model.identifiers import TraderId

from hedgegridd.venues.ws_routes import RoutedBinanceDataClientFactory, routed_ws_urls


def test_routed_urls_from_root_or_any_route() -> None:
    """Root, legacy and routed overrides all give the same /market, /public, /private."""
    for url in ("ws://h:1", "ws://h:1/", "ws://h:1/ws", "ws://h:1/market", "ws://h:1/private/ws"):
        routes = routed_ws_urls(url)
        assert (routes.market, routes.public, routes.private) == (
            "ws://h:1/market",
            "ws://h:1/public",
            "ws://h:1/private",
        )


def test_factory_puts_book_streams_on_public_and_the_rest_on_market() -> None:
    """The Binance data client built by the factory streams klines and marks on /market
    and bookTicker/depth on /public."""
    loop = asyncio.new_event_loop()
    try:
        clock = LiveClock()
        config = BinanceDataClientConfig(
            account_type=BinanceAccountType.USDT_FUTURES,
            base_url_http="http://127.0.0.1:9",
            base_url_ws="ws://127.0.0.1:9/market",
        )
        client = RoutedBinanceDataClientFactory.create(
            loop, "BINANCE", config, MessageBus(TraderId("T-001"), clock), Cache(), clock
        )
        assert client._ws_client.url == "ws://127.0.0.1:9/market"
        assert client._ws_public_client.url == "ws://127.0.0.1:9/public"
    finally:
        loop.close()
