"""Alerts derived from the strategy's snapshot: degraded, circuit breaker, large loss.

The kill switch reads the snapshot on its cadence and hands each one (with the
readings it computed) to ``SnapshotAlerts.observe``; this turns *transitions*
into alerts (entering DEGRADED, a new circuit-breaker trip, session loss
crossing the large-loss threshold) so a steady state does not repeat them.
"""

from __future__ import annotations

from decimal import Decimal

from hedgegridd.ops.alert_model import AlertKey, AlertSink
from hedgegridd.ops.config import Severity
from hedgegridd.ops.killswitch_rules import Readings
from hedgegridd.strategy.handle import StrategySnapshot, TradingState


class SnapshotAlerts:
    """Edge-triggered alerts from consecutive snapshots."""

    def __init__(
        self, sink: AlertSink, *, large_loss: Decimal | None = None, transitions: bool = True
    ) -> None:
        """``transitions=False`` when the strategy reports degraded/breaker itself."""
        self._sink = sink
        self._transitions = transitions
        self._large_loss = large_loss
        self._state: TradingState | None = None
        self._trips: int | None = None
        self._loss_alerted = False

    def observe(self, snap: StrategySnapshot, readings: Readings) -> None:
        """Compare with the previous snapshot and alert on each new transition."""
        entered_degraded = (
            snap.state is TradingState.DEGRADED and self._state is not TradingState.DEGRADED
        )
        if self._transitions and entered_degraded:
            self._sink.notify(
                AlertKey.DEGRADED,
                Severity.CRITICAL,
                "strategy DEGRADED: a handler failed, entries paused until an operator resumes",
                fields={"pause_reasons": ",".join(snap.pause_reasons) or "-"},
            )
        self._state = snap.state
        if (
            self._transitions
            and self._trips is not None
            and snap.circuit_breaker_trips > self._trips
        ):
            self._sink.notify(
                AlertKey.CIRCUIT_BREAKER,
                Severity.WARNING,
                "circuit breaker tripped: entries cancelled, cooling down",
                fields={
                    "trips_total": str(snap.circuit_breaker_trips),
                    "rejects": ",".join(f"{k}={v}" for k, v in snap.rejects_by_reason.items())
                    or "-",
                },
            )
        self._trips = snap.circuit_breaker_trips
        loss = readings.session_loss
        if self._large_loss is None or loss is None:
            return
        if loss >= self._large_loss and not self._loss_alerted:
            self._loss_alerted = True
            self._sink.notify(
                AlertKey.LARGE_LOSS,
                Severity.WARNING,
                "large loss since start",
                fields={"session_loss": f"{loss:.2f}", "threshold": str(self._large_loss)},
            )
        elif loss < self._large_loss:
            self._loss_alerted = False
