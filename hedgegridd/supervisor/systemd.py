"""sd_notify for the daemon: READY/STATUS/STOPPING/RELOADING/WATCHDOG messages.

A thin wrapper over ``sdnotify`` that is a no-op without ``NOTIFY_SOCKET``, never
blocks (datagram socket set non-blocking) and logs what it sends at DEBUG.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Mapping

import sdnotify
import structlog

log = structlog.get_logger(__name__)


def watchdog_interval_s(environ: Mapping[str, str] | None = None) -> float | None:
    """Half of ``WATCHDOG_USEC`` in seconds, or None when systemd wants no watchdog pings.

    ``WATCHDOG_PID``, when set, must be our pid (systemd sets it for the main process).
    """
    env = os.environ if environ is None else environ
    usec = env.get("WATCHDOG_USEC", "").strip()
    if not usec:
        return None
    pid = env.get("WATCHDOG_PID", "").strip()
    if pid and pid != str(os.getpid()):
        return None
    try:
        value = int(usec)
    except ValueError:
        log.warning("systemd.watchdog_usec_invalid", value=usec)
        return None
    return value / 2_000_000 if value > 0 else None


class Notifier:
    """Sends sd_notify messages to ``NOTIFY_SOCKET`` (no-op when unset)."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        self._sock: socket.socket | None = None
        self.enabled = bool(env.get("NOTIFY_SOCKET"))
        if self.enabled:
            saved = os.environ.get("NOTIFY_SOCKET")
            os.environ["NOTIFY_SOCKET"] = env["NOTIFY_SOCKET"]
            try:
                self._sock = sdnotify.SystemdNotifier(debug=True).socket
            except OSError as exc:
                log.error("systemd.notify_socket_unusable", error=str(exc))
                self.enabled = False
            finally:
                if saved is None:
                    os.environ.pop("NOTIFY_SOCKET", None)
                else:
                    os.environ["NOTIFY_SOCKET"] = saved
            if self._sock is not None:
                self._sock.setblocking(False)
        self.last_status: str | None = None

    def send(self, message: str) -> None:
        """Send one (possibly multi-line) notify message; failures are logged, not raised."""
        if self._sock is None:
            return
        try:
            self._sock.send(message.encode("utf-8"))
        except OSError as exc:
            log.warning("systemd.notify_failed", error=str(exc), message=message.split("\n")[0])

    def ready(self, status: str | None = None) -> None:
        """READY=1 (with an optional STATUS=)."""
        self.send("READY=1" + (f"\nSTATUS={status}" if status else ""))
        log.info("systemd.ready", status=status)

    def status(self, text: str) -> None:
        """STATUS=<text>, sent only when it changed."""
        if text != self.last_status:
            self.last_status = text
            self.send(f"STATUS={text}")

    def stopping(self, status: str = "stopping") -> None:
        """STOPPING=1."""
        self.send(f"STOPPING=1\nSTATUS={status}")

    def reloading(self) -> None:
        """RELOADING=1 with MONOTONIC_USEC (Type=notify-reload compatible)."""
        self.send(f"RELOADING=1\nMONOTONIC_USEC={time.monotonic_ns() // 1000}")

    def watchdog(self) -> None:
        """WATCHDOG=1."""
        self.send("WATCHDOG=1")

    def close(self) -> None:
        """Close the socket."""
        if self._sock is not None:
            self._sock.close()
            self._sock = None
