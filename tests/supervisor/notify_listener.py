"""A fake systemd notify socket: a datagram listener at a path, collecting messages."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from pathlib import Path


class NotifyListener:
    """Binds a Unix datagram socket; ``messages`` holds every datagram received."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(path))
        self.sock.setblocking(False)
        self.messages: list[str] = []

    def drain(self) -> list[str]:
        """Read every datagram waiting now (after close: what was read before)."""
        while self.sock.fileno() != -1:
            try:
                data = self.sock.recv(65536)
            except BlockingIOError:
                return self.messages
            self.messages.append(data.decode())
        return self.messages

    def lines(self) -> list[str]:
        """Every KEY=VALUE line received so far, in order."""
        self.drain()
        return [line for msg in self.messages for line in msg.split("\n")]

    def wait_for(self, predicate: Callable[[list[str]], bool], timeout: float = 60.0) -> list[str]:
        """Poll (blocking; use from sync tests) until ``predicate(lines)`` or fail."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            lines = self.lines()
            if predicate(lines):
                return lines
            time.sleep(0.05)
        raise AssertionError(f"notify condition not met; got {self.lines()}")

    def close(self) -> None:
        self.sock.close()
