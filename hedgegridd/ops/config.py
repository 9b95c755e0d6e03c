"""Configs of the ops tasks: kill switch, alerts, metrics.

Frozen pydantic v2 models validated once at the edge (the supervisor composes them
into the daemon ``Settings``). Secrets (the Slack webhook URL, the Telegram bot
token) are NOT part of these models: the supervisor reads them from systemd
credentials and hands them to ``AlertManager`` as ``AlertSecrets``. They never
come from TOML and never appear in a log line or an error message.
"""

from __future__ import annotations

import enum
import ipaddress
from decimal import Decimal
from typing import Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from hedgegridd.errors import ConfigError


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Severity(enum.IntEnum):
    """How urgent an alert is; routes drop alerts below their minimum severity."""

    INFO = 10
    WARNING = 20
    CRITICAL = 30

    @classmethod
    def parse(cls, value: object) -> Severity:
        """Accept a Severity, its name ("warning") or its numeric value."""
        if isinstance(value, Severity):
            return value
        if isinstance(value, str):
            try:
                return cls[value.strip().upper()]
            except KeyError as exc:
                allowed = ", ".join(m.name.lower() for m in cls)
                raise ValueError(f"severity must be one of {allowed}, got {value!r}") from exc
        if isinstance(value, int):
            return cls(value)
        raise ValueError(f"severity must be a name or number, got {type(value).__name__}")


DrawdownBasis = Literal["peak_equity", "starting_balance"]


class KillSwitchConfig(_Frozen):
    """Limits the kill switch checks on a fixed cadence, and how it fires.

    Every limit is optional (``None`` disables it). Money limits are in the
    quote currency of the instrument (USDT for BTCUSDT-PERP).
    """

    enabled: bool = Field(default=True, description="run the kill switch task at all")
    check_interval_s: float = Field(
        default=1.0, ge=0.05, le=60.0, description="seconds between checks, in [0.05, 60]"
    )
    confirm_interval_s: float | None = Field(
        default=None,
        ge=0.01,
        le=60.0,
        description=(
            "after a breaching check that has not fired yet, check again after this many "
            "seconds instead of check_interval_s (faster confirmation); unset = regular cadence"
        ),
    )
    breaches_required: int = Field(
        default=2, ge=1, le=20, description="breaching checks needed within the window to fire"
    )
    breach_window: int = Field(
        default=3, ge=1, le=20, description="number of most recent checks considered"
    )
    drawdown_basis: DrawdownBasis = Field(
        default="peak_equity",
        description=(
            "what drawdown is measured against: 'peak_equity' (highest account equity seen, "
            "persisted) or 'starting_balance' (the configured account balance). Never a PnL peak."
        ),
    )
    starting_balance: Decimal | None = Field(
        default=None, gt=0, description="account balance basis; required for 'starting_balance'"
    )
    max_drawdown_pct: Decimal | None = Field(
        default=Decimal("10"),
        gt=0,
        le=100,
        description="fire when equity (unrealized included) falls this % below the basis",
    )
    max_margin_ratio: Decimal | None = Field(
        default=Decimal("0.8"),
        gt=0,
        le=1,
        description="fire when maintenance margin / margin balance reaches this ratio",
    )
    max_projected_funding_cost: Decimal | None = Field(
        default=None, gt=0, description="fire when the next funding payment would cost this much"
    )
    max_session_loss: Decimal | None = Field(
        default=None, gt=0, description="fire when PnL since the daemon started falls this much"
    )
    max_daily_loss: Decimal | None = Field(
        default=None, gt=0, description="fire when PnL since 00:00 UTC falls this much"
    )
    max_position_notional: Decimal | None = Field(
        default=None, gt=0, description="fire when LONG + SHORT position notional exceeds this"
    )
    max_reading_age_s: float = Field(
        default=180.0,
        ge=1.0,
        le=3600.0,
        description="price-derived readings older than this (last mark or bar age) are stale",
    )
    flatten_verify_timeout_s: float = Field(
        default=10.0, ge=0.1, le=300.0, description="deadline per attempt to see the book flat"
    )
    flatten_poll_interval_s: float = Field(
        default=0.05, ge=0.01, le=5.0, description="seconds between flat checks"
    )
    flatten_attempts: int = Field(
        default=3, ge=1, le=10, description="closing attempts before reporting 'unverified'"
    )
    fail_closed_after_checks: int = Field(
        default=10,
        ge=0,
        le=10_000,
        description=(
            "fail closed: after this many consecutive checks in which no limit could be "
            "evaluated (the book cannot be read, or every reading is missing or stale), "
            "alert critical and pause entries (reason 'killswitch_blind') until readings "
            "return; 0 = off (refused in live)"
        ),
    )

    def require_for_mode(self, mode: str) -> None:
        """Raise ConfigError when ``mode`` must not run with this kill switch.

        Live and testnet need it enabled with at least one limit; live also needs it
        to fail closed (``fail_closed_after_checks`` > 0).
        The supervisor calls this before starting a ``live`` (or ``testnet``) node;
        a kill switch that cannot run is fatal there, never a warning.
        """
        if mode in ("live", "testnet") and not self.enabled:
            raise ConfigError(f"killswitch.enabled must be true in {mode} mode")
        if mode in ("live", "testnet") and not thresholds_configured(self):
            raise ConfigError(f"killswitch: at least one limit must be set in {mode} mode")
        if mode == "live" and self.fail_closed_after_checks == 0:
            raise ConfigError(
                "killswitch.fail_closed_after_checks must be > 0 in live mode "
                "(the kill switch must fail closed)"
            )

    @model_validator(mode="after")
    def _check_consistency(self) -> Self:
        if self.breaches_required > self.breach_window:
            raise ValueError(
                f"breaches_required ({self.breaches_required}) must be <= breach_window "
                f"({self.breach_window})"
            )
        if self.drawdown_basis == "starting_balance" and self.starting_balance is None:
            raise ValueError("starting_balance is required when drawdown_basis='starting_balance'")
        if self.confirm_interval_s is not None and self.confirm_interval_s > self.check_interval_s:
            raise ValueError("confirm_interval_s must be <= check_interval_s")
        if self.flatten_poll_interval_s > self.flatten_verify_timeout_s:
            raise ValueError("flatten_poll_interval_s must be <= flatten_verify_timeout_s")
        return self


def thresholds_configured(config: KillSwitchConfig) -> bool:
    """True when at least one kill-switch limit is enabled."""
    return any(
        v is not None
        for v in (
            config.max_drawdown_pct,
            config.max_margin_ratio,
            config.max_projected_funding_cost,
            config.max_session_loss,
            config.max_daily_loss,
            config.max_position_notional,
        )
    )


class SlackRoute(_Frozen):
    """Slack incoming webhook route (the webhook URL itself is a secret, not here)."""

    enabled: bool = True
    min_severity: Severity = Severity.WARNING

    @model_validator(mode="before")
    @classmethod
    def _parse_severity(cls, data: object) -> object:
        return _coerce_severity(data)


class TelegramRoute(_Frozen):
    """Telegram bot route (the bot token is a secret, not here)."""

    enabled: bool = True
    chat_id: str = Field(min_length=1, max_length=64, description="target chat id or @channel")
    min_severity: Severity = Severity.WARNING
    api_base_url: str = Field(
        default="https://api.telegram.org",
        pattern=r"^https?://[^\s/]+(:\d+)?(/[^\s]*)?$",
        description="Bot API base URL (overridable for tests)",
    )
    parse_mode: Literal["HTML"] | None = "HTML"

    @model_validator(mode="before")
    @classmethod
    def _parse_severity(cls, data: object) -> object:
        return _coerce_severity(data)


def _coerce_severity(data: object) -> object:
    if isinstance(data, dict) and "min_severity" in data:
        data = dict(data)
        data["min_severity"] = Severity.parse(data["min_severity"])
    return data


class AlertsConfig(_Frozen):
    """Routes, deduplication, rate limits and the retry budget of alert delivery."""

    enabled: bool = True
    instance: str = Field(
        default="hedgegridd", min_length=1, max_length=64, description="name shown in messages"
    )
    slack: SlackRoute | None = None
    telegram: TelegramRoute | None = None
    min_severity: Severity = Severity.INFO
    dedup_window_s: float = Field(
        default=300.0, ge=0.0, le=86400.0, description="identical alerts within this are dropped"
    )
    rate_limit_count: int = Field(
        default=5, ge=1, le=1000, description="max alerts per key within rate_limit_window_s"
    )
    rate_limit_window_s: float = Field(default=600.0, gt=0.0, le=86400.0)
    queue_size: int = Field(
        default=256, ge=1, le=100_000, description="bounded queue; the oldest alert is dropped"
    )
    request_timeout_s: float = Field(default=10.0, gt=0.0, le=120.0)
    max_attempts: int = Field(default=5, ge=1, le=20, description="attempts per alert per route")
    retry_budget_s: float = Field(
        default=60.0, gt=0.0, le=3600.0, description="total time allowed per alert per route"
    )
    backoff_initial_s: float = Field(default=1.0, gt=0.0, le=60.0)
    backoff_max_s: float = Field(default=30.0, gt=0.0, le=600.0)
    large_loss: Decimal | None = Field(
        default=None,
        gt=0,
        description="alert (warning) when PnL since the daemon started falls this much (quote)",
    )

    @model_validator(mode="before")
    @classmethod
    def _parse_severity(cls, data: object) -> object:
        return _coerce_severity(data)


class MetricsConfig(_Frozen):
    """The Prometheus endpoint: loopback by default, non-loopback only when allowed."""

    enabled: bool = True
    host: str = Field(default="127.0.0.1", description="bind address (IP literal)")
    port: int = Field(default=9464, ge=0, le=65535, description="TCP port, 0 = ephemeral")
    path: str = Field(default="/metrics", pattern=r"^/[A-Za-z0-9_\-/]*$")
    allow_non_loopback: bool = Field(
        default=False, description="must be true to bind anything but a loopback address"
    )
    loop_lag_interval_s: float = Field(
        default=0.5, ge=0.01, le=60.0, description="cadence of the event-loop lag probe"
    )

    @model_validator(mode="after")
    def _check_bind(self) -> Self:
        try:
            address = ipaddress.ip_address(self.host)
        except ValueError as exc:
            raise ValueError(f"host must be an IP address literal, got {self.host!r}") from exc
        if not address.is_loopback and not self.allow_non_loopback:
            raise ValueError(
                f"host {self.host} is not a loopback address; set allow_non_loopback=true "
                "to expose metrics beyond this machine"
            )
        return self
