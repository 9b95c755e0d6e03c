"""One request on a blocking socket: the ``hedgegridctl`` round trip, without an event loop.

A single command needs no concurrency, so it runs on a plain stdlib socket with one
deadline (``--timeout``) over connect, handshake and reply: no anyio, no asyncio.
The protocol's models (pydantic) are imported only once the socket is connected, so
``hedgegridctl status`` with no daemon running fails in the time the interpreter
takes to start. Frames, envelopes and result models are ``protocol``'s, as for the
async ``ControlClient`` (``--all``, the tests), which shares ``connect_error`` and
the reply checks with this module.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from hedgegridd import __version__
from hedgegridd.control.commands import MAX_FRAME_BYTES, PROTOCOL_VERSION, ErrorCode
from hedgegridd.errors import ControlError

if TYPE_CHECKING:
    from pydantic import BaseModel

CLIENT_NAME = f"hedgegridctl/{__version__}"
MAX_REPLY_BYTES = 16 * MAX_FRAME_BYTES  # a reply line larger than this is a violation
_REQUEST_ID = 1


def connect_error(path: str | os.PathLike[str], exc: OSError) -> ControlError:
    """The plain-words error of a failed connect to the control socket."""
    if isinstance(exc, FileNotFoundError | ConnectionRefusedError):
        return ControlError(
            ErrorCode.NOT_RUNNING, f"no daemon is listening on {path} (is hedgegridd running?)"
        )
    if isinstance(exc, PermissionError):
        return ControlError(
            ErrorCode.PERMISSION_DENIED,
            f"permission denied opening {path}; ask to be added to the control group",
        )
    reason = exc.strerror or "error"
    return ControlError(ErrorCode.NOT_RUNNING, f"cannot connect to {path}: {reason}")


class _Line:
    """Reads ``\\n``-terminated lines from a socket, each before ``deadline``."""

    def __init__(self, sock: socket.socket, deadline: float) -> None:
        self._sock = sock
        self._deadline = deadline
        self._buffer = bytearray()

    def read(self) -> bytes:
        while (end := self._buffer.find(b"\n")) < 0:
            if len(self._buffer) > MAX_REPLY_BYTES:
                raise ControlError(
                    ErrorCode.PROTOCOL_VIOLATION, "the daemon sent an oversized reply"
                )
            self._sock.settimeout(_remaining(self._deadline))
            try:
                chunk = self._sock.recv(65536)
            except TimeoutError:
                raise
            except OSError:
                chunk = b""
            if not chunk:
                raise ControlError(
                    ErrorCode.NOT_RUNNING, "the daemon closed the connection without a reply"
                )
            self._buffer += chunk
        line = bytes(self._buffer[:end])
        del self._buffer[: end + 1]
        return line


def _remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError
    return left


def call(
    path: str | os.PathLike[str],
    command: str,
    args: Mapping[str, Any] | None = None,
    *,
    timeout_s: float,
    protocol: int = PROTOCOL_VERSION,
    client_name: str = CLIENT_NAME,
) -> BaseModel:
    """Connect, handshake, run ``command`` and return its validated result model.

    ``ControlError`` with the protocol's codes (client-side ones included:
    ``not_running``, ``permission_denied``, ``protocol_violation``); ``TimeoutError``
    once ``timeout_s`` has passed.
    """
    deadline = time.monotonic() + timeout_s
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        _connect(sock, path, deadline)
        import hedgegridd.control.protocol as p  # pydantic: only with a daemon to talk to

        lines = _Line(sock, deadline)
        _send(sock, deadline, p.encode_frame(p.Hello(protocol=protocol, client=client_name)))
        p.expect_welcome(p.parse_server_message(lines.read(), max_bytes=MAX_REPLY_BYTES))
        request = p.Request(id=_REQUEST_ID, command=command, args=dict(args or {}))
        if not _send(sock, deadline, p.encode_frame(request)):
            raise ControlError(ErrorCode.NOT_RUNNING, "the daemon closed the connection")
        reply = p.parse_server_message(lines.read(), max_bytes=MAX_REPLY_BYTES)
        return p.validate_result(command, p.expect_result(reply, _REQUEST_ID))


def _connect(sock: socket.socket, path: str | os.PathLike[str], deadline: float) -> None:
    """Connect before ``deadline``, retrying while the listen backlog is full (EAGAIN)."""
    while True:
        sock.settimeout(_remaining(deadline))
        try:
            sock.connect(os.fspath(path))
            return
        except BlockingIOError:  # a busy daemon's backlog: as the async client, retry
            time.sleep(0.005)
        except TimeoutError:
            raise
        except OSError as exc:
            raise connect_error(path, exc) from exc


def _send(sock: socket.socket, deadline: float, frame: bytes) -> bool:
    """Send one frame; False if the peer already closed (its reply or EOF tells why)."""
    sock.settimeout(_remaining(deadline))
    try:
        sock.sendall(frame)
    except TimeoutError:
        raise
    except OSError:
        return False
    return True
