"""The watchdog task: measures event-loop lag and pings systemd only while healthy.

It sleeps ``probe_interval_s`` at a time and measures how late it woke (loop lag).
Every ``interval_s`` (half of WATCHDOG_USEC) it sends ``WATCHDOG=1`` if the health
registry holds. A blocked loop cannot run this task at all, and once it runs again
the measured lag is over the bound, so no ping covers a stall. A dead feed or a
silent task makes ``Health.evaluate`` fail and stops the pings too.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import anyio
import structlog
from anyio.abc import TaskStatus

from hedgegridd.supervisor.health import Health
from hedgegridd.supervisor.systemd import Notifier

log = structlog.get_logger(__name__)


class Watchdog:
    """Loop-lag probe + health-gated WATCHDOG=1 pings."""

    def __init__(
        self,
        notifier: Notifier,
        health: Health,
        *,
        interval_s: float | None,
        probe_interval_s: float,
        on_ping: Callable[[], None] | None = None,
    ) -> None:
        self._on_ping = on_ping or (lambda: None)
        self._notifier = notifier
        self._health = health
        self._interval_s = interval_s
        self._probe_s = probe_interval_s
        self.pings = 0
        self._unhealthy = False

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Probe forever; cancelled on stop."""
        task_status.started()
        next_ping = time.monotonic()
        worst_lag = 0.0  # worst lag since the last ping decision: a stall is never forgotten
        while True:
            before = time.monotonic()
            await anyio.sleep(self._probe_s)
            lag = max(0.0, time.monotonic() - before - self._probe_s)
            worst_lag = max(worst_lag, lag)
            self._health.loop_lag_s = worst_lag
            if self._interval_s is None:
                worst_lag = lag
                continue
            now = time.monotonic()
            if now < next_ping or not self._health.ready:
                continue
            report = self._health.evaluate()
            worst_lag = lag
            if report.ok:
                if self._unhealthy:
                    log.info("watchdog.healthy_again")
                    self._unhealthy = False
                self._notifier.watchdog()
                self.pings += 1
                self._on_ping()
                next_ping = now + self._interval_s
            elif not self._unhealthy:
                self._unhealthy = True
                log.error("watchdog.unhealthy_pings_withheld", reasons=list(report.reasons))
