"""journald's native protocol: structured entries sent to ``/run/systemd/journal/socket``.

Each entry is one datagram of ``NAME=value\\n`` lines; a value containing a newline uses
the binary form (``NAME\\n`` + little-endian 64-bit length + value + ``\\n``); an entry
too large for a datagram travels in a sealed memfd passed with ``SCM_RIGHTS``
(systemd's ``sd_journal_sendv`` does the same). ``StdioForwarder`` turns lines written
to stdout/stderr by code we do not control (NautilusTrader's Rust logger, tracebacks)
into entries with the priority their ``[LEVEL]`` tag names.

The socket path can be moved with ``HEDGEGRID_JOURNAL_SOCKET`` (tests bind their own).
"""

from __future__ import annotations

import array
import contextlib
import errno
import fcntl
import json
import os
import re
import socket
import stat
import struct
import threading
from collections.abc import Callable, Iterable, Mapping
from decimal import Decimal
from typing import Any

JOURNAL_SOCKET = "/run/systemd/journal/socket"
SOCKET_ENV = "HEDGEGRID_JOURNAL_SOCKET"

# Field names journald or this module set itself; event keys with these names get a prefix.
RESERVED = frozenset(
    {
        "MESSAGE",
        "MESSAGE_ID",
        "PRIORITY",
        "SYSLOG_IDENTIFIER",
        "SYSLOG_FACILITY",
        "SYSLOG_PID",
        "SYSLOG_TIMESTAMP",
        "SYSLOG_RAW",
        "CODE_FILE",
        "CODE_LINE",
        "CODE_FUNC",
        "ERRNO",
        "EVENT",
        "EXCEPTION",
        "DOCUMENTATION",
        "TID",
    }
)
_NAME_BAD = re.compile(r"[^A-Z0-9_]")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
# NautilusTrader's console line: "<timestamp> [LEVEL] TRADER-001.Component: message".
_NAUTILUS_LINE = re.compile(r"^\S+ \[(?P<level>[A-Z]+)\] (?P<component>[^\s:]+): ?")
NAUTILUS_PRIORITY = {
    "TRACE": 7,
    "DEBUG": 7,
    "DBG": 7,
    "INFO": 6,
    "INF": 6,
    "WARN": 4,
    "WARNING": 4,
    "WRN": 4,
    "ERROR": 3,
    "ERR": 3,
}
_MAX_LINE = 48 * 1024


def socket_path(environ: Mapping[str, str] | None = None) -> str:
    """The journal socket to write to (``HEDGEGRID_JOURNAL_SOCKET`` overrides, for tests)."""
    env = os.environ if environ is None else environ
    return env.get(SOCKET_ENV) or JOURNAL_SOCKET


def journal_available(path: str) -> bool:
    """True when ``path`` is a Unix socket (journald is running)."""
    try:
        return stat.S_ISSOCK(os.stat(path).st_mode)
    except OSError:
        return False


def stream_is_journal(environ: Mapping[str, str], fd: int = 2) -> bool:
    """True when ``JOURNAL_STREAM`` (``dev:inode``) names the file behind ``fd``."""
    dev, _, ino = environ.get("JOURNAL_STREAM", "").partition(":")
    if not (dev.isdigit() and ino.isdigit()):
        return False
    try:
        st = os.fstat(fd)
    except OSError:
        return False
    return (st.st_dev, st.st_ino) == (int(dev), int(ino))


def field_name(key: str) -> str:
    """A journal field name for an event key: upper case, ``[A-Z0-9_]``, no leading ``_``."""
    name = _NAME_BAD.sub("_", key.upper()).lstrip("_") or "FIELD"
    if name[0].isdigit() or name in RESERVED:
        name = "FIELD_" + name
    return name[:64]


def field_value(value: Any) -> str:
    """A value as text: strings as they are, numbers plainly, containers as compact JSON."""
    if isinstance(value, str):
        return value
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float | Decimal):
        return str(value)
    if isinstance(value, Mapping | list | tuple | set | frozenset):
        items = sorted(value, key=str) if isinstance(value, set | frozenset) else value
        return json.dumps(items, default=str, sort_keys=True, separators=(",", ":"))
    return str(value)


def encode(fields: Iterable[tuple[str, str | bytes]]) -> bytes:
    """Serialize fields in the native protocol (binary form for values with newlines)."""
    parts: list[bytes] = []
    for name, value in fields:
        data = value.encode("utf-8", "replace") if isinstance(value, str) else value
        key = name.encode("ascii")
        if b"\n" in data:
            parts.append(key + b"\n" + struct.pack("<Q", len(data)) + data + b"\n")
        else:
            parts.append(key + b"=" + data + b"\n")
    return b"".join(parts)


class JournalSender:
    """Sends entries to journald over its native datagram socket (thread-safe)."""

    def __init__(self, path: str = JOURNAL_SOCKET) -> None:
        self.path = path
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8 * 1024 * 1024)

    def send(self, fields: Mapping[str, str | bytes] | Iterable[tuple[str, str | bytes]]) -> bool:
        """Send one entry; False when journald cannot be reached (the caller falls back)."""
        items = fields.items() if isinstance(fields, Mapping) else fields
        data = encode(items)
        try:
            self._sock.sendto(data, self.path)
            return True
        except OSError as exc:
            if exc.errno not in (errno.EMSGSIZE, errno.ENOBUFS):
                return False
        return self._send_memfd(data)

    def _send_memfd(self, data: bytes) -> bool:
        fd = os.memfd_create("hedgegrid-journal", os.MFD_CLOEXEC | os.MFD_ALLOW_SEALING)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            seals = fcntl.F_SEAL_SHRINK | fcntl.F_SEAL_GROW | fcntl.F_SEAL_WRITE | fcntl.F_SEAL_SEAL
            fcntl.fcntl(fd, fcntl.F_ADD_SEALS, seals)
            # (socket.send_fds ignores its address argument.)
            rights = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, array.array("i", [fd]))]
            self._sock.sendmsg([], rights, 0, self.path)
            return True
        except OSError:
            return False
        finally:
            os.close(fd)

    def close(self) -> None:
        """Close the socket."""
        self._sock.close()


def stdio_line_fields(
    line: str, *, default_priority: int, identifier: str, redact: Callable[[str], str]
) -> dict[str, str]:
    """Journal fields for one line another component wrote to stdout/stderr."""
    line = redact(_ANSI.sub("", line))
    fields = {
        "MESSAGE": line,
        "PRIORITY": str(default_priority),
        "SYSLOG_IDENTIFIER": identifier,
    }
    match = _NAUTILUS_LINE.match(line)
    if match and match.group("level") in NAUTILUS_PRIORITY:
        fields["PRIORITY"] = str(NAUTILUS_PRIORITY[match.group("level")])
        fields["NAUTILUS_LEVEL"] = match.group("level")
        fields["NAUTILUS_COMPONENT"] = match.group("component")
    return fields


class StdioForwarder:
    """Redirects fds 1 and 2 into pipes and forwards each line to the journal.

    Used only when systemd connected stderr to journald (so nothing is lost by not
    writing there): NautilusTrader's lines then carry their real priority instead of
    journald's default. A line the journal refuses is written to the original fd.
    """

    def __init__(
        self,
        sender: JournalSender,
        *,
        identifier: str,
        redact: Callable[[str], str] = lambda s: s,
        fds: Mapping[int, int] | None = None,
    ) -> None:
        self._sender = sender
        self._identifier = identifier
        self._redact = redact
        self._fds = dict(fds if fds is not None else {1: 6, 2: 4})  # fd -> default priority
        self._saved: dict[int, int] = {}
        self._threads: list[threading.Thread] = []

    @property
    def active(self) -> bool:
        """True while the fds are redirected."""
        return bool(self._saved)

    def start(self) -> None:
        """Redirect the fds and start one reader thread per fd."""
        if self._saved:
            return
        for fd, priority in self._fds.items():
            read_end, write_end = os.pipe()
            self._saved[fd] = os.dup(fd)
            os.dup2(write_end, fd)
            os.close(write_end)
            thread = threading.Thread(
                target=self._pump,
                args=(read_end, self._saved[fd], priority),
                name=f"journal-fd{fd}",
                daemon=True,
            )
            thread.start()
            self._threads.append(thread)

    def stop(self, timeout: float = 5.0) -> None:
        """Restore the fds, let the readers drain what was written, close the copies."""
        for fd, saved in self._saved.items():
            os.dup2(saved, fd)
        for thread in self._threads:
            thread.join(timeout)
        for saved in self._saved.values():
            with contextlib.suppress(OSError):
                os.close(saved)
        self._saved.clear()
        self._threads.clear()

    def _pump(self, read_end: int, fallback: int, priority: int) -> None:
        pending = b""
        try:
            while chunk := os.read(read_end, 65536):
                pending += chunk
                *lines, pending = pending.split(b"\n")
                if len(pending) > _MAX_LINE:
                    lines.append(pending)
                    pending = b""
                for raw in lines:
                    self._forward(raw, fallback, priority)
            if pending:
                self._forward(pending, fallback, priority)
        except OSError:
            pass
        finally:
            os.close(read_end)

    def _forward(self, raw: bytes, fallback: int, priority: int) -> None:
        if not raw.strip():
            return
        fields = stdio_line_fields(
            raw.decode("utf-8", "replace").rstrip("\r"),
            default_priority=priority,
            identifier=self._identifier,
            redact=self._redact,
        )
        if not self._sender.send(fields):
            with contextlib.suppress(OSError):
                os.write(fallback, f"<{fields['PRIORITY']}>{fields['MESSAGE']}\n".encode())
