"""``SimConfig``: the simulator's settings, validated once at the edge (frozen pydantic).

Several symbols share one account: ``symbols`` lists them (the first is the default
symbol of the Python helpers and ``/_sim`` routes). Each symbol gets its own price
path: the first uses ``seed`` and ``start_price``; the others a seed derived from
``seed`` and the symbol (``symbol_seed``) and a typical start price of their own
(``symbol_start_price``); ``start_prices`` overrides any of them.
"""

from __future__ import annotations

import zlib
from decimal import Decimal
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

# Binance's documented default: 2400 request weight per minute per IP (USD-M futures).
DEFAULT_WEIGHT_LIMIT = 2400
# Start prices of the synthetic paths of symbols other than the first (order of magnitude).
TYPICAL_START_PRICES = {"BTCUSDT": Decimal("60000"), "ETHUSDT": Decimal("3000")}


class SimConfig(BaseModel):
    """Everything the simulator needs; every field has a safe loopback default."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    host: str = Field(default="127.0.0.1", description="bind address (loopback only)")
    port: int = Field(default=0, ge=0, le=65535, description="0 = ephemeral port")
    speed: float = Field(
        default=60.0, gt=0, le=100_000, description="sim minutes per real minute (1 = real time)"
    )
    seed: int = Field(default=1, ge=0, description="synthetic data seed")
    minutes: int = Field(default=24 * 60, ge=1, le=10_000_000, description="bars to replay")
    start_price: Decimal = Field(default=Decimal("60000"), gt=0)
    symbols: tuple[str, ...] = Field(
        default=("BTCUSDT",),
        min_length=1,
        max_length=20,
        description="symbols served on one account (built-in instruments); the first is the "
        "default",
    )
    start_prices: dict[str, Decimal] = Field(
        default_factory=dict, description="synthetic start price per symbol (overrides)"
    )
    history_bars: int = Field(
        default=1500,
        ge=0,
        le=100_000,
        description="synthetic/catalog bars before the start, served as REST kline history "
        "(explicit bars passed to SimExchange are all replayed live)",
    )
    catalog: Path | None = Field(default=None, description="Nautilus catalog to replay")
    loop_data: bool = Field(default=True, description="restart the path when it ends")
    steps_per_bar: int = Field(
        default=4, ge=4, le=60, description="intra-bar updates (open, extremes, close, ...)"
    )
    api_key: str = Field(default="sim-api-key", min_length=1)
    api_secret: str = Field(default="sim-api-secret", min_length=1, repr=False)
    starting_balance: Decimal = Field(default=Decimal("10000"), gt=0)
    leverage: int = Field(default=20, ge=1, le=125)
    funding_rate: Decimal = Field(
        default=Decimal("0.0001"), ge=Decimal("-0.03"), le=Decimal("0.03")
    )
    funding_interval_hours: int = Field(default=8, ge=1, le=24)
    dual_side_position: bool = Field(default=True, description="hedge mode on")
    listen_key_ttl_s: float = Field(
        default=3600.0, gt=0, le=86_400, description="listenKey life without keepalive"
    )
    recv_window_max_ms: int = Field(default=60_000, ge=1, le=60_000)
    weight_limit_per_minute: int = Field(default=DEFAULT_WEIGHT_LIMIT, ge=1)
    orders_per_10s: int = Field(default=300, ge=1, description="new orders per 10 s (account)")
    orders_per_minute: int = Field(default=1200, ge=1, description="new orders per minute")
    ban_after_429s: int = Field(
        default=5, ge=1, description="requests made while limited before a 418 ban"
    )
    ban_seconds: int = Field(default=120, ge=1, le=3 * 24 * 3600)

    @field_validator("symbols", mode="before")
    @classmethod
    def _symbols(cls, value: object) -> object:
        if isinstance(value, str):
            value = [part for part in value.split(",")]
        if not isinstance(value, list | tuple):
            return value
        out: list[str] = []
        for raw in value:
            symbol = str(raw).strip().upper()
            if not symbol.isalnum():
                raise ValueError(f"symbol {raw!r} is not a symbol name (e.g. BTCUSDT)")
            if symbol in out:
                raise ValueError(f"symbol {symbol!r} is listed twice")
            out.append(symbol)
        return tuple(out)

    @model_validator(mode="after")
    def _start_prices_known(self) -> SimConfig:
        for symbol, price in self.start_prices.items():
            if symbol not in self.symbols:
                raise ValueError(f"start_prices: symbol {symbol!r} is not in symbols")
            if price <= 0:
                raise ValueError(f"start_prices: {symbol} start price must be > 0")
        return self

    def symbol_seed(self, symbol: str) -> int:
        """The synthetic seed of ``symbol``: ``seed`` for the first, derived for the others."""
        if symbol == self.symbols[0]:
            return self.seed
        return (self.seed * 1_000_003 + zlib.crc32(symbol.encode())) % 2**63

    def symbol_start_price(self, symbol: str) -> Decimal:
        """The synthetic start price of ``symbol`` (override, ``start_price`` for the first)."""
        if symbol in self.start_prices:
            return self.start_prices[symbol]
        if symbol == self.symbols[0]:
            return self.start_price
        return TYPICAL_START_PRICES.get(symbol, self.start_price)

    @field_validator("host")
    @classmethod
    def _loopback_only(cls, value: str) -> str:
        if value not in ("127.0.0.1", "::1", "localhost"):
            raise ValueError(f"host must be a loopback address (127.0.0.1), got {value!r}")
        return value
