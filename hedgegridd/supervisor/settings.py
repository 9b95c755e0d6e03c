"""Daemon settings: TOML file + ``HEDGEGRID_*`` environment overrides, validated once.

Precedence (highest first): environment ``HEDGEGRID_<SECTION>__<KEY>`` (nested delimiter
``__``), the TOML file given by ``--config``, then defaults. Secrets never come from
here (see ``hedgegridd.supervisor.secrets``): a secret-looking key in the TOML is a
``ConfigError``. State and runtime directories come from systemd's
``STATE_DIRECTORY`` / ``RUNTIME_DIRECTORY`` when it sets them.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from contextvars import ContextVar
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic_settings import (
    BaseSettings,
    InitSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

from hedgegridd.configfile import read_toml
from hedgegridd.control.config import ControlConfig
from hedgegridd.errors import ConfigError
from hedgegridd.ops.config import AlertsConfig, KillSwitchConfig, MetricsConfig
from hedgegridd.ops.notify_config import NotifyConfig
from hedgegridd.telegram.config import TelegramConfig
from hedgegridd.venues.config import Mode, ReconcileSettings, VenueSettings

DEFAULT_CONFIG_PATH = Path("/etc/hedgegrid/hedgegridd.toml")
DEFAULT_STATE_DIR = Path("/var/lib/hedgegrid")
DEFAULT_RUNTIME_DIR = Path("/run/hedgegrid")

# Keys that look like secrets and are refused in TOML (they belong in credentials).
_SECRET_KEY_MARKERS = ("api_key", "api_secret", "secret", "token", "webhook_url", "password")

_toml_data: ContextVar[dict[str, Any] | None] = ContextVar("hedgegridd_toml_data", default=None)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


LogFormat = Literal["auto", "console", "json", "journald"]
LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR"]
StopPolicy = Literal["cancel_entries", "cancel_all", "keep_all"]


class LoggingSettings(_Frozen):
    """``[logging]``: daemon and Nautilus log output."""

    level: LogLevel = Field(default="INFO", description="daemon log level")
    format: LogFormat = Field(
        default="auto",
        description=(
            "auto = journald when JOURNAL_STREAM names our stderr, console on a TTY, else json"
        ),
    )
    nautilus_level: LogLevel = Field(default="WARNING", description="Nautilus's own log level")


class PathsSettings(_Frozen):
    """``[paths]``: used only when systemd does not set STATE_/RUNTIME_DIRECTORY."""

    state_dir: Path = DEFAULT_STATE_DIR
    runtime_dir: Path = DEFAULT_RUNTIME_DIR


class StateSettings(_Frozen):
    """``[state]``: retention of the state database's event journal."""

    journal_max_rows: int = Field(
        default=100_000,
        ge=0,
        le=100_000_000,
        description="keep at most this many journal entries (the newest); 0 = no row limit",
    )
    journal_max_age_days: float = Field(
        default=365.0,
        ge=0,
        le=36_500,
        description="delete journal entries older than this many days; 0 = no age limit",
    )


class StrategySettings(_Frozen):
    """``[strategy]``: where the grid parameters come from."""

    params_file: Path | None = Field(
        default=None, description="TOML of StrategyParams; built-in defaults when unset"
    )
    throttle: Decimal = Field(
        default=Decimal("1"),
        ge=0,
        le=1,
        description="entry size scale in [0, 1]; reloadable; an operator's ctl throttle wins",
    )


class WarmupSettings(_Frozen):
    """``[warmup]``: what is fetched before the node starts, and how hard we try."""

    total_deadline_s: float = Field(default=60.0, gt=0, le=600, description="seconds, (0, 600]")
    request_timeout_s: float = Field(default=10.0, gt=0, le=120, description="seconds, (0, 120]")
    max_attempts: int = Field(default=5, ge=1, le=20, description="attempts per request, 1..20")
    max_clock_skew_ms: int = Field(
        default=1000, ge=10, le=60000, description="refuse if |local - server| exceeds, ms"
    )
    history_bars: int = Field(
        default=300, ge=0, le=1500, description="closed bars fetched for the indicators, 0..1500"
    )


class LifecycleSettings(_Frozen):
    """``[lifecycle]``: readiness, stop and status cadence."""

    ready_timeout_s: float = Field(
        default=120.0, gt=0, le=900, description="max seconds from node start to READY, (0, 900]"
    )
    stop_deadline_s: float = Field(
        default=30.0, gt=0, le=300, description="graceful stop deadline, seconds (0, 300]"
    )
    stop_policy: StopPolicy = Field(
        default="cancel_entries",
        description="on stop: cancel entries (exits stay), cancel all, or leave orders resting",
    )
    status_interval_s: float = Field(
        default=5.0, ge=0.5, le=300, description="STATUS= refresh period, seconds [0.5, 300]"
    )


class WatchdogSettings(_Frozen):
    """``[watchdog]``: health bounds that gate WATCHDOG=1 pings."""

    max_loop_lag_s: float = Field(
        default=2.0, gt=0, le=60, description="event-loop lag bound, seconds (0, 60]"
    )
    max_data_age_s: float = Field(
        default=180.0, gt=0, le=3600, description="market data staleness bound, seconds"
    )
    max_heartbeat_age_s: float = Field(
        default=30.0, gt=0, le=600, description="every task must heartbeat within, seconds"
    )
    probe_interval_s: float = Field(
        default=0.25, ge=0.01, le=5, description="loop-lag probe period, seconds [0.01, 5]"
    )


class Settings(BaseSettings):
    """All daemon settings (``/etc/hedgegrid/hedgegridd.toml``)."""

    model_config = SettingsConfigDict(
        frozen=True,
        extra="forbid",
        env_prefix="HEDGEGRID_",
        env_nested_delimiter="__",
        case_sensitive=False,
    )

    mode: Mode = Field(default=Mode.PAPER, description="paper | testnet | live | sim")
    venue: VenueSettings = VenueSettings()
    strategy: StrategySettings = StrategySettings()
    logging: LoggingSettings = LoggingSettings()
    paths: PathsSettings = PathsSettings()
    state: StateSettings = StateSettings()
    warmup: WarmupSettings = WarmupSettings()
    lifecycle: LifecycleSettings = LifecycleSettings()
    watchdog: WatchdogSettings = WatchdogSettings()
    killswitch: KillSwitchConfig = KillSwitchConfig()
    alerts: AlertsConfig = AlertsConfig()
    notify: NotifyConfig = NotifyConfig()
    metrics: MetricsConfig = MetricsConfig()
    control: ControlConfig = ControlConfig()
    reconcile: ReconcileSettings = ReconcileSettings()
    telegram: TelegramConfig = TelegramConfig()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        toml = InitSettingsSource(settings_cls, init_kwargs=_toml_data.get() or {})
        return (init_settings, env_settings, toml)

    def state_dir(self, environ: Mapping[str, str] | None = None) -> Path:
        """State directory: systemd's STATE_DIRECTORY (first entry) or ``paths.state_dir``."""
        return _systemd_dir("STATE_DIRECTORY", self.paths.state_dir, environ)

    def runtime_dir(self, environ: Mapping[str, str] | None = None) -> Path:
        """Runtime directory: systemd's RUNTIME_DIRECTORY (first entry) or ``paths.runtime_dir``."""
        return _systemd_dir("RUNTIME_DIRECTORY", self.paths.runtime_dir, environ)


def _systemd_dir(var: str, fallback: Path, environ: Mapping[str, str] | None) -> Path:
    env = os.environ if environ is None else environ
    value = env.get(var, "")
    first = value.split(":")[0].strip()
    return Path(first) if first else fallback


def _find_secret_keys(doc: Mapping[str, Any], prefix: str = "") -> list[str]:
    found: list[str] = []
    for key, value in doc.items():
        dotted = f"{prefix}{key}"
        if isinstance(value, Mapping):
            found.extend(_find_secret_keys(value, dotted + "."))
        elif any(marker in key.lower() for marker in _SECRET_KEY_MARKERS):
            found.append(dotted)
    return found


def _format_validation_error(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:3]:
        loc = ".".join(str(p) for p in err["loc"]) or "<root>"
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        got = err.get("input")
        shown = f" (got {got!r})" if isinstance(got, str | int | float | bool) else ""
        parts.append(f"{loc}: {msg}{shown}")
    more = len(exc.errors()) - 3
    tail = f" (+{more} more)" if more > 0 else ""
    return "; ".join(parts) + tail


def load_settings(path: Path | str | None, *, missing_ok: bool = False) -> Settings:
    """Read ``path`` (TOML), apply HEDGEGRID_* overrides, validate; ConfigError on any problem.

    ``missing_ok`` lets a missing file mean "defaults only" (used by the demo and tests).
    """
    data: dict[str, Any] = {}
    if path is not None:
        data = read_toml(path, "config file", missing_ok=missing_ok)
    secret_keys = _find_secret_keys(data)
    if secret_keys:
        raise ConfigError(
            f"{secret_keys[0]}: secrets are not allowed in the config file; "
            "use systemd credentials (LoadCredential) or the environment"
        )
    token = _toml_data.set(data)
    try:
        return Settings()
    except ValidationError as exc:
        raise ConfigError(f"invalid setting {_format_validation_error(exc)}") from exc
    finally:
        _toml_data.reset(token)
