"""``ControlClient``: the async (anyio) client side of the control socket.

``hedgegridctl --all`` asks every instance at once with it; a single command goes
through ``roundtrip.call`` (blocking, no event loop), which shares its connect errors
and reply checks with this class.
"""

from __future__ import annotations

import contextlib
import os
import socket
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import anyio
from anyio.abc import SocketStream
from anyio.streams.buffered import BufferedByteReceiveStream
from pydantic import BaseModel

from hedgegridd.control.protocol import (
    COMMANDS,
    PROTOCOL_VERSION,
    ErrorCode,
    ErrorReply,
    Hello,
    Request,
    Result,
    Welcome,
    encode_frame,
    expect_result,
    expect_welcome,
    parse_server_message,
    validate_result,
)
from hedgegridd.control.roundtrip import CLIENT_NAME, MAX_REPLY_BYTES, connect_error
from hedgegridd.errors import ControlError


async def connect(path: str | os.PathLike[str]) -> SocketStream:
    """Connect to a Unix socket (retrying while its backlog is full) as an anyio stream."""
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.setblocking(False)
    try:
        while True:
            try:
                sock.connect(os.fspath(path))
                break
            except BlockingIOError:  # EAGAIN: listen backlog full
                await anyio.sleep(0.005)
        return await SocketStream.from_socket(sock)
    except BaseException:
        sock.close()
        raise


class ControlClient:
    """One connection to the daemon: handshake on connect, then request/reply."""

    def __init__(self, stream: SocketStream, welcome: Welcome, reader: BufferedByteReceiveStream):
        self._stream = stream
        self._reader = reader
        self.welcome = welcome
        self._next_id = 1

    @classmethod
    async def connect(
        cls,
        path: str | Path,
        *,
        protocol: int = PROTOCOL_VERSION,
        client_name: str = CLIENT_NAME,
    ) -> Self:
        """Connect and handshake; ``ControlError`` with a client-side code on failure."""
        try:
            stream = await connect(path)
        except OSError as exc:
            raise connect_error(path, exc) from exc
        reader = BufferedByteReceiveStream(stream)
        try:
            await _send_quietly(stream, Hello(protocol=protocol, client=client_name))
            welcome = expect_welcome(await _receive(reader))
        except BaseException:
            await stream.aclose()
            raise
        return cls(stream, welcome, reader)

    async def aclose(self) -> None:
        await self._stream.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def call_raw(self, command: str, args: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Send one request and return the result object, or raise the error reply."""
        request_id = self._next_id
        self._next_id += 1
        request = Request(id=request_id, command=command, args=dict(args or {}))
        try:
            await self._stream.send(encode_frame(request))
        except (anyio.BrokenResourceError, anyio.ClosedResourceError, OSError) as exc:
            raise ControlError(ErrorCode.NOT_RUNNING, "the daemon closed the connection") from exc
        return expect_result(await _receive(self._reader), request_id)

    async def call(self, command: str, args: Mapping[str, Any] | None = None) -> BaseModel:
        """Like ``call_raw`` but validated into the command's result model."""
        spec = COMMANDS.get(command)
        if spec is None:
            raise ControlError(ErrorCode.UNKNOWN_COMMAND, f"unknown command {command!r}")
        return validate_result(command, await self.call_raw(command, args))


async def _send_quietly(stream: SocketStream, message: BaseModel) -> None:
    """Send; if the peer already closed, the reply (or EOF) read next tells what happened."""
    with contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
        await stream.send(encode_frame(message))


async def _receive(reader: BufferedByteReceiveStream) -> Welcome | Result | ErrorReply:
    try:
        line = await reader.receive_until(b"\n", MAX_REPLY_BYTES)
    except (anyio.IncompleteRead, anyio.EndOfStream, anyio.BrokenResourceError) as exc:
        raise ControlError(
            ErrorCode.NOT_RUNNING, "the daemon closed the connection without a reply"
        ) from exc
    except anyio.DelimiterNotFound as exc:
        raise ControlError(
            ErrorCode.PROTOCOL_VIOLATION, "the daemon sent an oversized reply"
        ) from exc
    return parse_server_message(line, max_bytes=MAX_REPLY_BYTES)
