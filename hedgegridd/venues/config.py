"""Venue settings of the daemon: the trading mode and where Binance is.

Pure pydantic (no Nautilus). The cross-checks between mode, URLs, credentials and
the live acknowledgement live in ``hedgegridd.venues.guards``.
"""

from __future__ import annotations

import enum
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

# The exact text an operator must copy into ``[venue] live_acknowledgement`` to trade live.
LIVE_ACKNOWLEDGEMENT = "I understand hedgegridd trades real money on Binance"

PRODUCTION_HTTP_URL = "https://fapi.binance.com"
PRODUCTION_WS_URL = "wss://fstream.binance.com"
TESTNET_HTTP_URL = "https://testnet.binancefuture.com"
TESTNET_WS_URL = "wss://stream.binancefuture.com"


class Mode(enum.StrEnum):
    """How the daemon trades."""

    PAPER = "paper"  # Binance public market data, simulated fills; holds no keys
    TESTNET = "testnet"  # Binance futures testnet, testnet keys
    LIVE = "live"  # Binance production, real money
    SIM = "sim"  # the local exchange simulator (hedgegrid sim) on loopback URLs


class VenueSettings(BaseModel):
    """Where and what the daemon trades (``[venue]`` in the daemon TOML)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    symbol: str = Field(
        default="BTCUSDT",
        pattern=r"^[A-Z0-9]{2,20}$",
        description="Binance USD-M perpetual symbol, upper case",
    )
    base_url_http: str | None = Field(
        default=None,
        pattern=r"^https?://[^\s]+$",
        description="REST base URL override; required in sim mode, default per mode otherwise",
    )
    base_url_ws: str | None = Field(
        default=None,
        pattern=r"^wss?://[^\s]+$",
        description="WebSocket base URL override; required in sim mode",
    )
    live_acknowledgement: str = Field(
        default="",
        max_length=200,
        description="must equal LIVE_ACKNOWLEDGEMENT for mode=live (a daemon has no prompt)",
    )
    paper_starting_balance: Decimal = Field(
        default=Decimal("10000"),
        gt=0,
        le=Decimal("100000000"),
        description="USDT balance of the paper (sandbox) account, in (0, 1e8]",
    )
    leverage: int | None = Field(
        default=None, ge=1, le=125, description="leverage set on the symbol at connect, 1..125"
    )
    recv_window_ms: int = Field(
        default=5000, ge=100, le=60000, description="signed request recvWindow, ms in [100, 60000]"
    )
    bar_interval_minutes: int = Field(
        default=1, ge=1, le=60, description="bar interval the strategy trades on, minutes"
    )

    @property
    def instrument_id(self) -> str:
        """Nautilus instrument id of the perpetual, e.g. BTCUSDT-PERP.BINANCE."""
        return f"{self.symbol}-PERP.BINANCE"

    def http_url(self, mode: Mode) -> str:
        """Effective REST base URL for ``mode``."""
        if self.base_url_http:
            return self.base_url_http.rstrip("/")
        return TESTNET_HTTP_URL if mode is Mode.TESTNET else PRODUCTION_HTTP_URL

    def ws_url(self, mode: Mode) -> str:
        """Effective WebSocket base URL for ``mode``."""
        if self.base_url_ws:
            return self.base_url_ws.rstrip("/")
        return TESTNET_WS_URL if mode is Mode.TESTNET else PRODUCTION_WS_URL
