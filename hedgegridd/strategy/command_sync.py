"""Coalesced re-syncs for operator commands that can place entries (resume, throttle, unhalt).

A burst of ``pause``/``resume`` pairs would otherwise withdraw and re-place the whole
ladder per pair: hundreds of submits in a second, denied by NautilusTrader's submit
rate limit, and those denials trip the circuit breaker (no entries for its cooldown).
The first command re-syncs at once; commands within ``interval_ns`` of the last
re-sync share one timer-driven re-sync at the end of the interval, which places
entries only if nothing paused them meanwhile. Pauses never wait (they only reduce).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import structlog

log = structlog.get_logger(__name__)

TIMER = "hedgegrid-command-resync"
INTERVAL_NS = 2_000_000_000  # at most one command re-sync (placement round) per 2 s


class CommandResync:
    """Runs ``sync(source)`` at most once per ``interval_ns``; later requests coalesce."""

    def __init__(
        self, clock: Any, sync: Callable[[str], None], *, interval_ns: int = INTERVAL_NS
    ) -> None:
        self._clock = clock
        self._sync = sync
        self.interval_ns = interval_ns
        self._last_ns: int | None = None
        self.coalesced = 0  # requests folded into a pending re-sync (for tests and logs)

    @property
    def pending(self) -> bool:
        """A deferred re-sync is scheduled."""
        return TIMER in self._clock.timer_names

    def request(self, source: str) -> None:
        """Re-sync now, or once at the end of the current interval (``source`` is logged)."""
        now: int = self._clock.timestamp_ns()
        if self.pending:
            self.coalesced += 1
            return
        if self._last_ns is None or now - self._last_ns >= self.interval_ns:
            self._last_ns = now
            self._sync(source)
            return
        self.coalesced += 1
        due = self._last_ns + self.interval_ns
        log.debug("strategy.command_resync_deferred", source=source, due_ns=due)
        self._clock.set_time_alert_ns(TIMER, due, self._fire)

    def _fire(self, event: object) -> None:
        self._last_ns = self._clock.timestamp_ns()
        self._sync("command_resync")
