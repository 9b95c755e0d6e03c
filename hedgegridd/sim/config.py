"""``SimConfig``: the simulator's settings, validated once at the edge (frozen pydantic)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

# Binance's documented default: 2400 request weight per minute per IP (USD-M futures).
DEFAULT_WEIGHT_LIMIT = 2400


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

    @field_validator("host")
    @classmethod
    def _loopback_only(cls, value: str) -> str:
        if value not in ("127.0.0.1", "::1", "localhost"):
            raise ValueError(f"host must be a loopback address (127.0.0.1), got {value!r}")
        return value
