"""The one exception hierarchy of hedgegrid.

Library errors (pydantic, aiohttp, sqlite3, nautilus) are caught at the boundary
that calls the library and re-raised as one of these with ``raise ... from exc``.
Messages are plain, one line, and never contain secrets; tracebacks go to the log.
Stdlib only: the pure core imports this module.
"""

from __future__ import annotations


class HedgegridError(Exception):
    """Base of every error hedgegrid raises on purpose."""


class ConfigError(HedgegridError):
    """A setting or config file is invalid. The message names the key and the allowed range."""


class DomainError(HedgegridError):
    """A trading rule was violated in the pure core (e.g. inventory cap, bad rung)."""


class WarmupError(HedgegridError):
    """Async warmup could not fetch what the strategy needs within its deadline."""


class VenueRefusedError(HedgegridError):
    """The venue or account cannot be traded safely (netting mode, missing instrument, ...)."""


class StateStoreError(HedgegridError):
    """The state database is unreadable, corrupt, or of an unknown schema version."""


class DataError(HedgegridError):
    """Market data could not be read, validated or written."""


class BacktestError(HedgegridError):
    """A backtest could not be configured or run."""


class ControlError(HedgegridError):
    """A control-protocol request failed; ``code`` is the stable wire error code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
