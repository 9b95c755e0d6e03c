"""``CheckReporter``: what one kill-switch check tells operators and benchmarks.

Unknown readings (missing, stale) are logged on change and alerted (missing after
``MISSING_ALERT_AFTER_CHECKS`` checks in a row, stale once per spell). Every
breaching limit logs ``killswitch.breach``: the hook for "the mark crossed the
limit" (``mark_ns`` is the node-clock ns the strategy received the price the
reading was taken at, ``checked_ns`` when the check ran, ``woken`` whether a mark
update woke the check).
"""

from __future__ import annotations

import structlog

from hedgegridd.ops.alert_model import AlertKey, AlertSink
from hedgegridd.ops.config import Severity
from hedgegridd.ops.killswitch_rules import CheckResult, ReadingStatus
from hedgegridd.strategy.handle import StrategySnapshot

log = structlog.get_logger(__name__)

# Consecutive checks with a missing reading before it is alerted (startup gaps are normal).
MISSING_ALERT_AFTER_CHECKS = 30


class CheckReporter:
    """Logs and alerts for unknown readings and breaches, without repeating itself."""

    def __init__(self, alerts: AlertSink) -> None:
        self._alerts = alerts
        self._stale_reported = False
        self._unknown_reported: frozenset[str] = frozenset()
        self._missing_checks = 0

    def report(
        self,
        result: CheckResult,
        snap: StrategySnapshot,
        *,
        data_age_s: float | None,
        now_ns: int,
        required: int,
        woken: bool,
    ) -> None:
        """Report one check's unknown readings and breaches."""
        self._report_unknown(result, data_age_s)
        for v in result.verdicts:
            if v.status is ReadingStatus.BREACH:
                log.warning(
                    "killswitch.breach",
                    limit=v.limit.value,
                    value=str(v.value),
                    threshold=str(v.threshold),
                    breaches=v.breaches_in_window,
                    required=required,
                    mark_price=str(snap.mark_price),
                    mark_ns=snap.mark_ns,
                    checked_ns=now_ns,
                    woken=woken,
                )

    def _report_unknown(self, result: CheckResult, data_age_s: float | None) -> None:
        unknown = frozenset(f"{v.limit.value}:{v.status.value}" for v in result.unknown)
        if unknown and unknown != self._unknown_reported:
            log.warning("killswitch.readings_unknown", readings=sorted(unknown))
        elif not unknown and self._unknown_reported:
            log.info("killswitch.readings_restored")
        self._unknown_reported = unknown
        missing = sorted(v.limit.value for v in result.unknown if v.status.value == "missing")
        self._missing_checks = self._missing_checks + 1 if missing else 0
        if self._missing_checks == MISSING_ALERT_AFTER_CHECKS:
            self._alerts.notify(
                AlertKey.READINGS_MISSING,
                Severity.WARNING,
                "kill switch readings unknown: these limits cannot be evaluated",
                fields={"limits": ",".join(missing), "checks": str(self._missing_checks)},
            )
        stale = any(v.status.value == "stale" for v in result.unknown)
        if stale and not self._stale_reported:
            self._alerts.notify(
                AlertKey.DATA_STALE,
                Severity.WARNING,
                "market data stale: kill switch cannot evaluate price-based limits",
                fields={"price_age_s": "none" if data_age_s is None else f"{data_age_s:.0f}"},
            )
        self._stale_reported = stale
