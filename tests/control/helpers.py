"""Helpers for the control tests: a live server in-loop or in a thread, raw clients."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import anyio
import anyio.from_thread
import anyio.lowlevel

from hedgegridd.control.backend import ControlBackend
from hedgegridd.control.config import ControlConfig
from hedgegridd.control.protocol import PROTOCOL_VERSION
from hedgegridd.control.server import ControlServer, JournalWriter
from tests.control.fakes import FakeDaemon


@asynccontextmanager
async def serve(
    config: ControlConfig,
    backend: ControlBackend,
    journal: JournalWriter,
    **kwargs: Any,
) -> AsyncIterator[ControlServer]:
    """Run a ControlServer in the current loop for the duration of the block."""
    server = ControlServer(config, backend, journal, **kwargs)
    async with anyio.create_task_group() as tg:
        await tg.start(server.run)
        yield server
        tg.cancel_scope.cancel()


class ServerThread:
    """A ControlServer on its own event loop in a thread (for sync clients and the ctl)."""

    def __init__(
        self,
        config: ControlConfig,
        daemon: FakeDaemon,
        *,
        backend: ControlBackend | None = None,
        **kwargs: Any,
    ) -> None:
        self.config = config
        self.daemon = daemon
        self.backend = backend
        self.kwargs = kwargs
        self.server: ControlServer | None = None
        self._ready = threading.Event()
        self._stop: anyio.Event | None = None
        self._token: Any = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._main, daemon=True)

    def _main(self) -> None:
        try:
            anyio.run(self._serve)
        except BaseException as exc:
            self._error = exc
            self._ready.set()

    async def _serve(self) -> None:
        backend = self.backend or self.daemon.backend()
        async with serve(self.config, backend, self.daemon.journal, **self.kwargs) as srv:
            self.server = srv
            self._stop = anyio.Event()
            self._token = anyio.lowlevel.current_token()
            self._ready.set()
            await self._stop.wait()

    def __enter__(self) -> ServerThread:
        self._thread.start()
        assert self._ready.wait(60), "control server did not start"
        if self._error is not None:
            raise self._error
        return self

    def __exit__(self, *exc: object) -> None:
        if self._stop is not None:
            anyio.from_thread.run_sync(self._stop.set, token=self._token)
        self._thread.join(60)
        assert not self._thread.is_alive()


def wait_for(predicate: Any, timeout: float = 30.0) -> None:
    """Poll ``predicate`` until true or fail after a generous deadline."""
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.01)


async def eventually(predicate: Any, deadline_s: float = 30.0) -> None:
    """Async: poll ``predicate`` until true or fail after a generous deadline."""
    with anyio.fail_after(deadline_s):
        for _ in iter(int, 1):
            if predicate():
                return
            await anyio.sleep(0.01)


class RawClient:
    """A blocking socket speaking raw bytes, to send what no well-behaved ctl would."""

    def __init__(self, path: Path, timeout: float = 30.0) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(str(path))
        self._buf = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def send_json(self, obj: dict[str, Any]) -> None:
        self.send(json.dumps(obj).encode() + b"\n")

    def hello(self) -> dict[str, Any]:
        self.send_json({"type": "hello", "protocol": PROTOCOL_VERSION, "client": "raw"})
        reply = self.recv()
        assert reply is not None
        return reply

    def recv(self) -> dict[str, Any] | None:
        """Next reply object, or None on EOF/reset."""
        while b"\n" not in self._buf:
            try:
                chunk = self.sock.recv(65536)
            except (ConnectionResetError, BrokenPipeError):
                return None
            if not chunk:
                return None
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        obj: dict[str, Any] = json.loads(line)
        return obj

    def request(self, rid: int, command: str, **args: Any) -> dict[str, Any] | None:
        self.send_json({"type": "request", "id": rid, "command": command, "args": args})
        return self.recv()

    def close(self) -> None:
        self.sock.close()


def config_for(sock_dir: Path, **overrides: Any) -> ControlConfig:
    """A ControlConfig with its socket in ``sock_dir``."""
    return ControlConfig(socket_path=sock_dir / "control.sock", **overrides)
