"""The ONLY module of hedgegridd that handles process signals.

SIGTERM/SIGINT ask for a graceful stop; a second one escalates (forced stop);
SIGHUP asks for a reload. The Nautilus kernel installs its own loop handlers for
SIGTERM/SIGINT when the node is built: this task is started AFTER the node is built,
and ``anyio.open_signal_receiver`` replaces those handlers, on purpose, so that one
place decides what a signal means.
"""

from __future__ import annotations

import signal
from collections.abc import Callable

import anyio
import structlog
from anyio.abc import TaskStatus

log = structlog.get_logger(__name__)


class SignalRouter:
    """Turns signals into stop / escalate / reload callbacks."""

    def __init__(
        self,
        *,
        on_stop: Callable[[str], None],
        on_escalate: Callable[[str], None],
        on_reload: Callable[[], None],
        heartbeat: Callable[[], None] | None = None,
    ) -> None:
        self._on_stop = on_stop
        self._on_escalate = on_escalate
        self._on_reload = on_reload
        self._heartbeat = heartbeat
        self.stop_requested = False

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Receive signals until cancelled."""
        with anyio.open_signal_receiver(signal.SIGTERM, signal.SIGINT, signal.SIGHUP) as signals:
            task_status.started()
            async for signum in signals:
                name = signal.Signals(signum).name
                if signum == signal.SIGHUP:
                    log.info("signal.reload_requested", signal=name)
                    self._on_reload()
                elif not self.stop_requested:
                    self.stop_requested = True
                    log.info("signal.stop_requested", signal=name)
                    self._on_stop(name)
                else:
                    log.warning("signal.stop_escalated", signal=name)
                    self._on_escalate(name)
                if self._heartbeat is not None:
                    self._heartbeat()
