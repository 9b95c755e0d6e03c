"""``FlattenIntents``: a flatten and its pause, persisted so a crash cannot lose them.

The kill switch records every flatten here *before* its closing orders are sent
(``record``): side, actor, and for an operator flatten its pause reason. A flatten
verified flat is ``finish``-ed (dropped when it holds no pause; a fired flatten's
halt is the latch). At start ``restore`` re-applies the pause and tells the kill
switch whether a flatten is still pending (it then finishes it). An operator
``resume`` lifts the pause (``clear_pause``) unless a flatten is still closing.
A failing store never stops a flatten: it is logged and alerted instead.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import structlog

from hedgegridd.errors import HedgegridError
from hedgegridd.ops.alert_model import AlertKey, AlertSink
from hedgegridd.ops.config import Severity
from hedgegridd.ops.latch import IntentRecord, KillSwitchStore
from hedgegridd.strategy.handle import FlattenSide, StrategyHandle

log = structlog.get_logger(__name__)

PAUSE_REASON_FLATTEN = "operator_flatten"
# The strategy's own pause while it closes a side (``StrategyHandle.flatten``).
PAUSE_REASON_STRATEGY_FLATTEN = "flatten"


class FlattenIntents:
    """The persisted flatten intent of the kill switch's close-and-verify path."""

    def __init__(
        self,
        *,
        store: KillSwitchStore,
        strategy: StrategyHandle,
        alerts: AlertSink,
        clock_ns: Callable[[], int],
    ) -> None:
        self._store = store
        self._strategy = strategy
        self._alerts = alerts
        self._clock_ns = clock_ns
        self.current: IntentRecord | None = None

    @property
    def pending(self) -> bool:
        """True while a recorded flatten has not been verified flat."""
        return self.current is not None and self.current.pending

    @property
    def holds_pause(self) -> bool:
        """True while an operator flatten's pause is recorded."""
        return self.current is not None and self.current.pause_reason is not None

    async def restore(self) -> IntentRecord | None:
        """Load the intent and pause the strategy again (raises StateStoreError)."""
        intent = self.current = await self._store.flatten_intent()
        if intent is None:
            return None
        if intent.pause_reason is not None:
            self._strategy.pause(intent.pause_reason)
        log.warning(
            "flatten.intent_restored",
            side=intent.side,
            actor=intent.actor,
            pending=intent.pending,
            pause_reason=intent.pause_reason,
        )
        return intent

    async def record(self, side: FlattenSide, actor: str, *, pause_reason: str | None) -> None:
        """Persist a flatten (and its pause) before any closing order is sent."""
        try:
            self.current = await self._store.set_flatten_intent(
                side.value, actor=actor, pause_reason=pause_reason, at_ns=self._clock_ns()
            )
        except HedgegridError as exc:  # closing the book matters more; loud instead
            log.error("flatten.intent_persist_failed", error=type(exc).__name__, exc_info=True)
            self._alerts.notify(
                AlertKey.STATE_STORE_FAILED,
                Severity.CRITICAL,
                "flatten intent could NOT be persisted: a crash now would not resume it",
                fields={"error": type(exc).__name__},
            )

    async def record_fired(
        self, reason: str, details: Mapping[str, Any], at_ns: int, *, actor: str
    ) -> None:
        """Persist the kill switch's latch, its journal entry and a BOTH flatten: one commit."""
        try:
            self.current = await self._store.fire_killswitch(reason, details, at_ns, actor=actor)
        except HedgegridError as exc:  # flattening must not wait on a broken disk; loud instead
            log.error("killswitch.latch_persist_failed", error=type(exc).__name__, exc_info=True)
            self._alerts.notify(
                AlertKey.KILLSWITCH_LATCH_FAILED,
                Severity.CRITICAL,
                "kill switch latch could NOT be persisted: a restart would not stay halted",
                fields={"error": type(exc).__name__},
            )

    async def finish(self) -> None:
        """The book was verified flat: no longer pending (dropped when it holds no pause)."""
        if self.current is None:
            return
        try:
            await self._store.finish_flatten_intent()
            self.current = await self._store.flatten_intent()
        except HedgegridError as exc:  # a restart would re-verify an already flat book
            log.error("flatten.intent_finish_failed", error=type(exc).__name__, exc_info=True)

    async def clear_pause(self, *, by: str, busy: bool) -> bool:
        """Operator resume: lift the flatten pauses; refused (False) while ``busy`` or pending."""
        if busy or self.pending:
            return False
        for reason in (PAUSE_REASON_FLATTEN, PAUSE_REASON_STRATEGY_FLATTEN):
            self._strategy.resume(reason)
        intent, self.current = self.current, None
        try:
            await self._store.clear_flatten_pause()
        except HedgegridError as exc:
            log.error("flatten.pause_clear_failed", error=type(exc).__name__, exc_info=True)
        if intent is not None:
            await self.journal("flatten.pause_cleared", by, {"side": intent.side})
        return True

    async def journal(self, kind: str, actor: str, details: Mapping[str, Any]) -> None:
        """Append to the state journal; a failing store is logged, never raised."""
        try:
            await self._store.journal(kind, actor=actor, details=details, at_ns=self._clock_ns())
        except HedgegridError as exc:
            log.error("killswitch.journal_failed", kind=kind, error=type(exc).__name__)
