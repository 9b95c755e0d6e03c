"""``BlindWatch``: the kill switch fails closed when it cannot take readings.

A check is *blind* when the strategy's book cannot be read (``snapshot()`` raised)
or when no enabled limit could be evaluated (every reading missing or stale). After
``fail_closed_after_checks`` consecutive blind checks the watch pauses entries
(reason ``killswitch_blind``), logs ``killswitch.blind`` at CRITICAL and sends a
critical alert; the first check that evaluates a limit again lifts that pause
(``killswitch.sighted``, warning alert). ``0`` turns failing closed off (refused in
live mode by ``KillSwitchConfig.require_for_mode``).
"""

from __future__ import annotations

import structlog

from hedgegridd.ops.alert_model import AlertKey, AlertSink
from hedgegridd.ops.config import Severity
from hedgegridd.ops.killswitch_rules import CheckResult, ReadingStatus
from hedgegridd.strategy.handle import StrategyHandle

log = structlog.get_logger(__name__)

PAUSE_REASON_BLIND = "killswitch_blind"
_KNOWN = (ReadingStatus.OK, ReadingStatus.BREACH)


def is_blind(result: CheckResult) -> bool:
    """True when limits are enabled but none of them could be evaluated."""
    return bool(result.verdicts) and not any(v.status in _KNOWN for v in result.verdicts)


class BlindWatch:
    """Counts consecutive blind checks; pauses entries after N, resumes when sighted."""

    def __init__(self, strategy: StrategyHandle, alerts: AlertSink, after_checks: int) -> None:
        self._strategy = strategy
        self._alerts = alerts
        self.after_checks = after_checks
        self.consecutive = 0
        self.blind = False

    def observe(self, *, blind: bool, cause: str) -> None:
        """Record one check (``cause`` says why it was blind, for logs and alerts)."""
        if not blind:
            self.consecutive = 0
            if self.blind:
                self._sighted()
            return
        self.consecutive += 1
        if self.after_checks > 0 and self.consecutive >= self.after_checks and not self.blind:
            self._go_blind(cause)

    def _go_blind(self, cause: str) -> None:
        self.blind = True
        try:
            self._strategy.pause(PAUSE_REASON_BLIND)
        except Exception as exc:  # the alert below still goes out
            log.error("killswitch.blind_pause_failed", error=type(exc).__name__, exc_info=True)
        log.critical("killswitch.blind", checks=self.consecutive, cause=cause)
        self._alerts.notify(
            AlertKey.KILLSWITCH_BLIND,
            Severity.CRITICAL,
            "KILL SWITCH BLIND: readings cannot be taken, entries paused",
            fields={"checks": str(self.consecutive), "cause": cause},
        )

    def _sighted(self) -> None:
        self.blind = False
        try:
            self._strategy.resume(PAUSE_REASON_BLIND)
        except Exception as exc:  # logged; the next blind spell pauses again
            log.error("killswitch.sighted_resume_failed", error=type(exc).__name__, exc_info=True)
        log.warning("killswitch.sighted")
        self._alerts.notify(
            AlertKey.KILLSWITCH_SIGHTED,
            Severity.WARNING,
            "kill switch readings are back: the blind pause is lifted",
        )
