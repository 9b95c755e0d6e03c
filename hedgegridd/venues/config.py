"""Venue settings of the daemon: the trading mode and where Binance is.

Pure pydantic (no Nautilus). The cross-checks between mode, URLs, credentials and
the live acknowledgement live in ``hedgegridd.venues.guards``.
"""

from __future__ import annotations

import enum
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, field_validator

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


class ReconcileSettings(BaseModel):
    """``[reconcile]``: keeping the daemon's book equal to the venue (sim/testnet/live).

    Nautilus owns the checks it does well (startup reconciliation, in-flight order
    queries, the open-order status check below, and a full mass status after every
    user-stream resubscribe); ``hedgegridd.supervisor.venue_watch`` owns the rest (per-leg
    position and exit comparison, hedge mode, stream liveness). Paper mode has no venue
    to reconcile and ignores this section.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = Field(
        default=True, description="run the venue watch (positions, exits, hedge mode, streams)"
    )
    interval_s: float = Field(
        default=10.0,
        ge=1,
        le=600,
        description="venue check cadence, seconds [1, 600]: a missed fill is repaired within it",
    )
    hedge_check_interval_s: float = Field(
        default=30.0,
        ge=1,
        le=3600,
        description=(
            "positionSide/dual poll cadence, seconds (request weight 30); also checked at "
            "once on a -4061 rejection or a one-way positionRisk row"
        ),
    )
    confirm_delay_s: float = Field(
        default=1.0,
        ge=0.1,
        le=30,
        description="a difference is re-read after this delay before it is repaired, seconds",
    )
    alert_after_repairs: int = Field(
        default=2,
        ge=1,
        le=20,
        description="failed repairs before a critical venue_mismatch alert and entry pause",
    )
    stream_grace_s: float = Field(
        default=5.0,
        ge=1,
        le=300,
        description="a stream may reconnect on its own this long before it is forced, seconds",
    )
    venue_down_alert_s: float = Field(
        default=20.0,
        ge=1,
        le=3600,
        description="alert when the venue's REST API has not answered for this long, seconds",
    )
    request_timeout_s: float = Field(
        default=5.0, gt=0, le=60, description="timeout of one venue check request, seconds"
    )
    open_check_interval_s: float = Field(
        default=30.0,
        ge=0,
        le=3600,
        description=(
            "Nautilus open-order status check (open_check_interval_secs), seconds: "
            "0 disables it, else [5, 3600]"
        ),
    )

    @field_validator("open_check_interval_s")
    @classmethod
    def _open_check_bounds(cls, value: float) -> float:
        if 0 < value < 5:
            raise ValueError("must be 0 (off) or at least 5 seconds")
        return value
