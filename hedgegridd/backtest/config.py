"""``BacktestConfig``: one TOML file describes one backtest, validated once at load.

Layout (all under ``[backtest]``; see ``etc/hedgegrid/backtest-example.toml``)::

    [backtest]
    catalog = "catalog"                  # Parquet catalog dir (relative to this file)
    instrument_id = "BTCUSDT-PERP.BINANCE"
    start = "2024-01-01T00:00:00Z"       # inclusive, UTC
    end = "2024-01-04T00:00:00Z"         # exclusive, must be after start
    strategy_file = "strategy-example.toml"   # or an inline [strategy] table
    out_dir = "backtest-out"             # report.json + report.html land here

    [backtest.synthetic]                 # optional: build the catalog if it is missing
    seed = 7
    minutes = 4320

    [backtest.venue]
    starting_balance = "10000"
    ...

Relative paths resolve against the config file's directory.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from hedgegridd.configfile import describe_validation_error, read_toml
from hedgegridd.errors import ConfigError
from hedgegridd.params import StrategyParams, load_strategy_params, parse_strategy_params

if TYPE_CHECKING:
    from hedgegridd.backtest.engine import VenueModel


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class VenueFields(_Frozen):
    """Simulated venue: balance, leverage, fees, latency, fill model (shared with optimize)."""

    starting_balance: Decimal = Field(default=Decimal(10_000), gt=0, le=Decimal(10) ** 12)
    leverage: Decimal = Field(default=Decimal(5), ge=1, le=125)
    maker_fee: Decimal = Field(default=Decimal("0.0002"), ge=-0.001, le=0.01)
    taker_fee: Decimal = Field(default=Decimal("0.0005"), ge=0, le=0.01)
    latency_ms: int = Field(default=50, ge=0, le=10_000)
    prob_fill_on_limit: float = Field(default=1.0, ge=0, le=1)
    prob_slippage: float = Field(default=0.0, ge=0, le=1)

    def venue_model(self, *, seed: int) -> VenueModel:
        """The engine-side venue model of these settings with the fill model's ``seed``."""
        from hedgegridd.backtest.engine import VenueModel

        return VenueModel(
            starting_balance=self.starting_balance,
            leverage=self.leverage,
            latency_ms=self.latency_ms,
            prob_fill_on_limit=self.prob_fill_on_limit,
            prob_slippage=self.prob_slippage,
            seed=seed,
        )


class VenueSection(VenueFields):
    """``[backtest.venue]``: the venue fields plus the fill model's seed."""

    seed: int = Field(default=42, ge=0, le=2**31 - 1)


class SyntheticSection(_Frozen):
    """Synthetic market used to build the catalog when it does not exist yet."""

    seed: int = Field(default=7, ge=0)
    minutes: int = Field(default=4320, ge=60, le=5_000_000)
    start_price: Decimal = Field(default=Decimal(50_000), gt=0)
    volatility: float = Field(default=0.0006, gt=0, le=0.05)


class BacktestConfig(_Frozen):
    """Everything one backtest needs; construct with ``load_backtest_config``."""

    catalog: Path
    instrument_id: str = "BTCUSDT-PERP.BINANCE"
    start: datetime
    end: datetime
    strategy: StrategyParams
    out_dir: Path = Path("backtest-out")
    venue: VenueSection = VenueSection()
    synthetic: SyntheticSection | None = None
    chunk_minutes: int = Field(default=1440, ge=60, le=1_000_000, description="progress step")
    log_level: str = Field(default="ERROR", pattern="^(OFF|ERROR|WARNING|INFO|DEBUG)$")

    @field_validator("start", "end")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    @model_validator(mode="after")
    def _check_window(self) -> BacktestConfig:
        if self.start >= self.end:
            raise ValueError(
                f"backtest.start ({self.start.isoformat()}) must be before "
                f"backtest.end ({self.end.isoformat()})"
            )
        return self

    @property
    def start_ns(self) -> int:
        """Start as UNIX nanoseconds."""
        return int(self.start.timestamp()) * 1_000_000_000

    @property
    def end_ns(self) -> int:
        """End (exclusive) as UNIX nanoseconds."""
        return int(self.end.timestamp()) * 1_000_000_000


def _resolve(base: Path, value: Any) -> Any:
    if isinstance(value, str):
        p = Path(value).expanduser()
        return p if p.is_absolute() else base / p
    return value


def parse_backtest_config(doc: dict[str, Any], *, base_dir: Path) -> BacktestConfig:
    """Validate a parsed TOML document (``[backtest]`` + optional ``[strategy]``)."""
    section = doc.get("backtest")
    if not isinstance(section, dict):
        raise ConfigError("backtest config needs a [backtest] table")
    data = dict(section)
    strategy_file = data.pop("strategy_file", None)
    if "strategy" in doc:
        if strategy_file is not None:
            raise ConfigError(
                "backtest: give either backtest.strategy_file or [strategy], not both"
            )
        data["strategy"] = parse_strategy_params(doc["strategy"], source="strategy")
    elif strategy_file is not None:
        data["strategy"] = load_strategy_params(_resolve(base_dir, strategy_file))
    else:
        raise ConfigError("backtest: backtest.strategy_file or a [strategy] table is required")
    for key in ("catalog", "out_dir"):
        if key in data:
            data[key] = _resolve(base_dir, data[key])
    try:
        return BacktestConfig.model_validate(data)
    except ValidationError as exc:
        errors = describe_validation_error(exc, "backtest")
        raise ConfigError(f"invalid backtest config: {errors}") from exc


def load_backtest_config(path: str | Path) -> BacktestConfig:
    """Read and validate a backtest TOML file; paths resolve against its directory."""
    p = Path(path)
    doc = read_toml(p, "backtest config")
    return parse_backtest_config(doc, base_dir=p.resolve().parent)
