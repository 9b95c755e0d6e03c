"""The ONLY module of hedgegridd that handles process signals.

SIGTERM/SIGINT ask for a graceful stop; a second one escalates (forced stop);
SIGHUP asks for a reload. The router is installed at startup, and the Nautilus
kernel installs its own loop handlers for SIGTERM/SIGINT when the node is built:
``take_over()`` re-installs ours right after the build, on purpose, so that one
place decides what a signal means.
"""

from __future__ import annotations

import signal
from collections.abc import Callable

import anyio
import structlog
from anyio.abc import TaskStatus

log = structlog.get_logger(__name__)

HANDLED = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


class SignalRouter:
    """Turns signals into stop / escalate / reload callbacks."""

    def __init__(
        self,
        *,
        on_stop: Callable[[str], None],
        on_escalate: Callable[[str], None],
        on_reload: Callable[[], None],
    ) -> None:
        self._on_stop = on_stop
        self._on_escalate = on_escalate
        self._on_reload = on_reload
        self.stop_requested = False
        self.installs = 0
        self._reinstall: anyio.Event | None = None
        self._installed: anyio.Event | None = None

    def _dispatch(self, signum: int) -> None:
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

    async def take_over(self) -> None:
        """Re-install our handlers (call after the Nautilus node is built)."""
        if self._reinstall is None:
            return
        installed = anyio.Event()
        self._installed = installed
        self._reinstall.set()
        await installed.wait()
        log.info("signal.handlers_taken_over", installs=self.installs)

    def _late_signal(self, signum: int, frame: object) -> None:
        self._dispatch(signum)

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Receive signals until cancelled; re-install on ``take_over()``.

        When the router is closed (final cleanup after the loop's tasks ended) a plain
        handler keeps the same meaning, so a late second SIGTERM still escalates
        instead of killing the process with the default action.
        """
        try:
            await self._receive(task_status)
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT):
                signal.signal(sig, self._late_signal)

    async def _receive(self, task_status: TaskStatus[None]) -> None:
        while True:
            reinstall = anyio.Event()
            self._reinstall = reinstall
            with anyio.open_signal_receiver(*HANDLED) as signals:
                self.installs += 1
                if self.installs == 1:
                    task_status.started()
                if self._installed is not None:
                    self._installed.set()
                async with anyio.create_task_group() as tg:

                    async def _watch(
                        scope: anyio.CancelScope = tg.cancel_scope, event: anyio.Event = reinstall
                    ) -> None:
                        await event.wait()
                        scope.cancel()

                    tg.start_soon(_watch)
                    async for signum in signals:
                        self._dispatch(signum)
