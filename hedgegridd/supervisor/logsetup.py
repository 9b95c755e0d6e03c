"""Logging of the daemon: structlog with journald, JSON or console output, and redaction.

- ``journald``: chosen automatically when ``JOURNAL_STREAM`` names our stderr. When journald's
  socket is reachable, each event is a native journal entry (``journal.py``):
  ``MESSAGE``, ``PRIORITY``, ``SYSLOG_IDENTIFIER``, ``EVENT=<event>`` and every key of
  the event as an upper-case field (``journalctl EVENT=killswitch.fired``). When
  ``JOURNAL_STREAM`` names our stderr, NautilusTrader's own stdout/stderr lines are
  forwarded too, with the priority of their ``[LEVEL]``. Without the socket: one
  ``<N>event key=value`` line per event on stderr (sd-daemon priority prefix).
- ``json``: one JSON object per line (``--log-format json``).
- ``console``: readable, coloured when stderr is a TTY.
Every format runs ``SecretRedactor`` last before rendering: configured secret values,
secret-named keys and URL credentials (Telegram bot tokens, Slack webhook paths,
``signature=``/``token=``/``listenKey=`` query values) never reach a log line.
"""

from __future__ import annotations

import atexit
import io
import json
import logging
import os
import re
import sys
from collections.abc import Iterable, Mapping, MutableMapping
from typing import Any, TextIO, cast

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

from hedgegridd.supervisor.journal import (
    JournalSender,
    StdioForwarder,
    field_name,
    field_value,
    journal_available,
    socket_path,
    stream_is_journal,
)

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


_NOT_FIELDS = frozenset({"event", "level", "timestamp", "exception", "_priority"})
_PLAIN = re.compile(r"^\S+$")


def _kv(value: Any) -> str:
    text = field_value(value)
    return text if text and _PLAIN.match(text) else json.dumps(text, ensure_ascii=False)


def render_message(event_dict: Mapping[str, Any]) -> str:
    """``event key=value ...`` (sorted keys; values as text, not Python reprs)."""
    parts = [str(event_dict.get("event", ""))]
    parts += [f"{k}={_kv(v)}" for k, v in sorted(event_dict.items()) if k not in _NOT_FIELDS]
    text = " ".join(parts)
    exception = event_dict.get("exception")
    return f"{text}\n{exception}" if exception else text


def _priority(method: str, event_dict: Mapping[str, Any]) -> int:
    return _PRIORITY.get(str(event_dict.get("level", method)).lower(), 6)


def journal_fields(
    method: str, event_dict: Mapping[str, Any], identifier: str
) -> list[tuple[str, str]]:
    """The native journal entry of one (already redacted) event."""
    fields = [
        ("MESSAGE", render_message(event_dict)),
        ("PRIORITY", str(_priority(method, event_dict))),
        ("SYSLOG_IDENTIFIER", identifier),
        ("EVENT", str(event_dict.get("event", ""))),
    ]
    if event_dict.get("exception"):
        fields.append(("EXCEPTION", str(event_dict["exception"])))
    fields += [
        (field_name(k), field_value(v))
        for k, v in sorted(event_dict.items())
        if k not in _NOT_FIELDS
    ]
    return fields


class JournalLogger:
    """structlog logger writing entries to journald; falls back to ``<N>`` lines on ``stream``."""

    def __init__(self, sender: JournalSender, stream: TextIO) -> None:
        self._sender = sender
        self._stream = stream

    def msg(self, fields: list[tuple[str, str]]) -> None:
        """Send one entry (rendered by ``JournalRenderer``)."""
        if not self._sender.send(fields):
            entry = dict(fields)
            self._stream.write(f"<{entry['PRIORITY']}>{entry['MESSAGE']}\n")
            self._stream.flush()

    debug = info = warning = warn = error = critical = exception = fatal = log = msg


class JournalRenderer:
    """Last structlog processor: the event as journal fields for ``JournalLogger``."""

    def __init__(self, identifier: str) -> None:
        self.identifier = identifier

    def __call__(self, logger: WrappedLogger, method: str, event_dict: EventDict) -> Any:
        return ((journal_fields(method, event_dict, self.identifier),), {})


class JournalHandler(logging.Handler):
    """stdlib handler: records of libraries (aiohttp, asyncio) through the same chain."""

    def __init__(self, chain: list[Processor], renderer: JournalRenderer, out: JournalLogger):
        super().__init__()
        self._chain = chain
        self._renderer = renderer
        self._out = out

    def emit(self, record: logging.LogRecord) -> None:
        """Process and send one record."""
        try:
            method = record.levelname.lower()
            event: EventDict = {"event": record.getMessage(), "logger": record.name}
            if record.exc_info:
                event["exc_info"] = record.exc_info
            for proc in self._chain:
                event = cast(EventDict, proc(None, method, event))
            (fields,), _ = self._renderer(None, method, event)
            self._out.msg(fields)
        except Exception:  # noqa: BLE001 (logging's contract: handleError reports it)
            self.handleError(record)


def journald_prefix(logger: WrappedLogger, method: str, event_dict: EventDict) -> EventDict:
    """Remember the sd-daemon priority of the event for the journald line renderer."""
    event_dict["_priority"] = _PRIORITY.get(method, 6)
    return event_dict


class JournaldRenderer:
    """Render ``<N>event key=value ...`` lines for journald's stream parser (no socket)."""

    def __call__(self, logger: WrappedLogger, method: str, event_dict: EventDict) -> str:
        priority = event_dict.pop("_priority", 6)
        event_dict.pop("timestamp", None)  # journald stamps lines itself
        event_dict.pop("level", None)  # the prefix carries it
        return f"<{priority}>{render_message(event_dict)}"


_forwarder: StdioForwarder | None = None


def _forward_stdio(sender: JournalSender, identifier: str, redactor: SecretRedactor) -> None:
    """Send other components' stdout/stderr lines (NautilusTrader's) to the journal too."""
    global _forwarder
    if _forwarder is not None and _forwarder.active:
        return
    _forwarder = StdioForwarder(sender, identifier=identifier, redact=redactor.redact_text)
    _forwarder.start()
    atexit.register(_forwarder.stop)


def resolve_format(
    requested: str, environ: Mapping[str, str] | None = None, stream: TextIO | None = None
) -> str:
    """``auto`` -> journald when JOURNAL_STREAM names our log stream, console on a TTY, else json.

    JOURNAL_STREAM is inherited by children whose stderr goes elsewhere (a file, a
    pipe): only a matching device:inode means systemd connected this stream to journald.
    """
    if requested != "auto":
        return requested
    env = os.environ if environ is None else environ
    out = stream if stream is not None else sys.stderr
    if env.get("JOURNAL_STREAM"):
        try:
            if stream_is_journal(env, out.fileno()):
                return "journald"
        except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
            pass
    return "console" if out.isatty() else "json"


def configure_logging(
    *,
    fmt: str = "auto",
    level: str = "INFO",
    secrets: Iterable[str] = (),
    stream: TextIO | None = None,
    environ: Mapping[str, str] | None = None,
    identifier: str = "hedgegridd",
) -> SecretRedactor:
    """Configure structlog and stdlib logging for the daemon; returns the redactor in use."""
    out = stream if stream is not None else sys.stderr
    env = os.environ if environ is None else environ
    chosen = resolve_format(fmt, env, out)
    redactor = SecretRedactor(secrets)
    shared: list[Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        structlog.processors.format_exc_info,
        redactor,
    ]
    numeric = _LEVELS.get(level.upper(), logging.INFO)
    path = socket_path(env)
    if chosen == "journald" and journal_available(path):
        sender = JournalSender(path)
        journal = JournalLogger(sender, out)
        native = JournalRenderer(identifier)
        structlog.configure(
            processors=[*shared, native],
            wrapper_class=structlog.make_filtering_bound_logger(numeric),
            logger_factory=lambda *args: journal,
            cache_logger_on_first_use=False,
        )
        _install_root(JournalHandler(shared, native, journal), numeric)
        if stream is None and stream_is_journal(env, 2):
            _forward_stdio(sender, identifier, redactor)
        return redactor
    renderer: Processor
    if chosen == "journald":
        shared.insert(0, journald_prefix)
        renderer = JournaldRenderer()
    elif chosen == "json":
        renderer = structlog.processors.JSONRenderer(sort_keys=True)
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=out.isatty())
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
    _install_root(handler, numeric)
    return redactor


def _install_root(handler: logging.Handler, numeric: int) -> None:
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(max(numeric, logging.INFO))
