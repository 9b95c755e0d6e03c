"""Logging of the daemon: structlog with journald, JSON or console output, and redaction.

- ``journald``: one line per event, prefixed ``<N>`` (sd-daemon priority) so journald
  stores the right priority; chosen automatically when ``JOURNAL_STREAM`` is set.
- ``json``: one JSON object per line (``--log-format json``).
- ``console``: readable, coloured when stderr is a TTY.
Every format runs ``SecretRedactor`` last before rendering: configured secret values,
secret-named keys and URL credentials (Telegram bot tokens, Slack webhook paths,
``signature=``/``token=``/``listenKey=`` query values) never reach a log line.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import Iterable, Mapping, MutableMapping
from typing import Any, TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

REDACTED = "***"

_SECRET_KEY_RE = re.compile(r"(api_?key|api_?secret|secret|token|password|webhook|signature)", re.I)
_URL_SECRET_PATTERNS = (
    # Telegram bot API: /bot<id>:<token>/
    re.compile(r"(/bot)\d+:[A-Za-z0-9_-]+"),
    # Slack incoming webhooks: /services/T.../B.../xxxx
    re.compile(r"(hooks\.slack\.com/services/)[A-Za-z0-9/_-]+"),
    # Signed/keyed query parameters
    re.compile(r"((?:signature|token|listenKey|apiKey|api_key|key)=)[^&\s\"']+", re.I),
)

_PRIORITY = {"debug": 7, "info": 6, "warning": 4, "warn": 4, "error": 3, "critical": 2}
_LEVELS = {"DEBUG": logging.DEBUG, "INFO": logging.INFO, "WARNING": logging.WARNING}
_LEVELS["ERROR"] = logging.ERROR


class SecretRedactor:
    """structlog processor removing secrets from every value of the event dict."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: list[str] = []
        self.add(secrets)

    def add(self, secrets: Iterable[str]) -> None:
        """Register more secret values (longest first so overlaps redact fully)."""
        merged = {*self._secrets, *(s for s in secrets if s and len(s) >= 4)}
        self._secrets = sorted(merged, key=len, reverse=True)

    def redact_text(self, text: str) -> str:
        """``text`` with every known secret and URL credential replaced."""
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        for pattern in _URL_SECRET_PATTERNS:
            text = pattern.sub(lambda m: m.group(1) + REDACTED, text)
        return text

    def _value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.redact_text(value)
        if isinstance(value, Mapping):
            return {k: self._field(str(k), v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return type(value)(self._value(v) for v in value)
        if isinstance(value, int | float | bool) or value is None:
            return value
        return self.redact_text(str(value))

    def _field(self, key: str, value: Any) -> Any:
        if _SECRET_KEY_RE.search(key) and value not in (None, "", True, False):
            return REDACTED
        return self._value(value)

    def __call__(self, logger: WrappedLogger, method: str, event_dict: EventDict) -> EventDict:
        out: MutableMapping[str, Any] = {}
        for key, value in event_dict.items():
            out[key] = self._value(value) if key == "event" else self._field(key, value)
        return dict(out)


def journald_prefix(logger: WrappedLogger, method: str, event_dict: EventDict) -> EventDict:
    """Remember the sd-daemon priority of the event for the journald renderer."""
    event_dict["_priority"] = _PRIORITY.get(method, 6)
    return event_dict


class JournaldRenderer:
    """Render ``<N>event key=value ...`` lines for journald's stream parser."""

    def __init__(self) -> None:
        self._kv = structlog.processors.KeyValueRenderer(
            key_order=["event"], drop_missing=True, sort_keys=True
        )

    def __call__(self, logger: WrappedLogger, method: str, event_dict: EventDict) -> str:
        priority = event_dict.pop("_priority", 6)
        event_dict.pop("timestamp", None)  # journald stamps lines itself
        return f"<{priority}>{self._kv(logger, method, event_dict)}"


def resolve_format(
    requested: str, environ: Mapping[str, str] | None = None, stream: TextIO | None = None
) -> str:
    """``auto`` -> journald under systemd (JOURNAL_STREAM), console on a TTY, else json."""
    if requested != "auto":
        return requested
    env = os.environ if environ is None else environ
    if env.get("JOURNAL_STREAM"):
        return "journald"
    out = stream if stream is not None else sys.stderr
    return "console" if out.isatty() else "json"


def configure_logging(
    *,
    fmt: str = "auto",
    level: str = "INFO",
    secrets: Iterable[str] = (),
    stream: TextIO | None = None,
    environ: Mapping[str, str] | None = None,
) -> SecretRedactor:
    """Configure structlog and stdlib logging for the daemon; returns the redactor in use."""
    out = stream if stream is not None else sys.stderr
    chosen = resolve_format(fmt, environ, out)
    redactor = SecretRedactor(secrets)
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        redactor,
    ]
    renderer: Processor
    if chosen == "journald":
        shared.insert(0, journald_prefix)
        renderer = JournaldRenderer()
    elif chosen == "json":
        renderer = structlog.processors.JSONRenderer(sort_keys=True)
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=out.isatty())
    numeric = _LEVELS.get(level.upper(), logging.INFO)
    structlog.configure(
        processors=[*shared, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(out),
        cache_logger_on_first_use=False,
    )
    # Libraries logging through stdlib (aiohttp, asyncio) go through the same chain.
    handler = logging.StreamHandler(out)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
            foreign_pre_chain=shared,
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(max(numeric, logging.INFO))
    return redactor
