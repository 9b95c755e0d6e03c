"""``FlattenPath``: the kill switch's one way to flatten, whoever asks.

A fired flatten, an operator's flatten and one a restart resumes all go through
``run``: serialised by one lock (which ``KillSwitch.reset`` also takes, so a reset
waits for a flatten in flight), closed and verified by ``close_and_verify``, the
persisted intent finished once flat, and the outcome journaled. It owns that lock,
whether a flatten is in progress, and the last outcome.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import anyio
import structlog

from hedgegridd.ops.alert_model import AlertKey, AlertSink
from hedgegridd.ops.config import KillSwitchConfig, Severity
from hedgegridd.ops.flatten import FlattenOutcome, close_and_verify
from hedgegridd.ops.intents import PAUSE_REASON_FLATTEN, FlattenIntents
from hedgegridd.ops.latch import IntentRecord
from hedgegridd.strategy.handle import FlattenSide, StrategyHandle

log = structlog.get_logger(__name__)


class FlattenPath:
    """Serialised close-and-verify for fired, manual and resumed flattens."""

    def __init__(
        self,
        *,
        strategy: StrategyHandle,
        intents: FlattenIntents,
        alerts: AlertSink,
        config: Callable[[], KillSwitchConfig],
        heartbeat: Callable[[], None],
    ) -> None:
        self._strategy = strategy
        self._intents = intents
        self._alerts = alerts
        self._config = config
        self._heartbeat = heartbeat
        self._flatten_lock: anyio.Lock | None = None
        self.flattening = False
        self.last: FlattenOutcome | None = None

    def lock(self) -> anyio.Lock:
        """The lock serialising flatten paths and resets (created on the loop)."""
        if self._flatten_lock is None:
            self._flatten_lock = anyio.Lock()
        return self._flatten_lock

    async def manual(self, side: FlattenSide, *, actor: str) -> FlattenOutcome:
        """Manual flatten (control socket): pause, persist, then the close-and-verify path."""
        self._strategy.pause(PAUSE_REASON_FLATTEN)
        await self._intents.record(side, actor, pause_reason=PAUSE_REASON_FLATTEN)
        await self.journal("flatten.requested", actor, {"side": side.value})
        return await self.run(side, actor=actor)

    async def finish_interrupted(self, intent: IntentRecord) -> None:
        """After a restart: send what remains of a flatten a crash interrupted."""
        actor = f"restart:{intent.actor}"
        log.warning("flatten.resumed", side=intent.side, actor=actor)
        self._alerts.notify(
            AlertKey.FLATTEN_RESUMED,
            Severity.WARNING,
            f"finishing a flatten interrupted by a restart ({intent.side})",
            fields={"requested_by": intent.actor},
        )
        await self.journal("flatten.resumed", actor, {"side": intent.side})
        await self.run(FlattenSide(intent.side), actor=actor)

    async def clear_pause(self, *, by: str) -> bool:
        """Operator resume: lift the flatten pauses unless a flatten is still in progress."""
        return await self._intents.clear_pause(by=by, busy=self.flattening)

    async def run(self, side: FlattenSide, *, actor: str) -> FlattenOutcome:
        """Close ``side`` and verify it flat under the lock; finish the intent and journal."""
        async with self.lock():
            self.flattening = True
            try:
                outcome = await close_and_verify(
                    self._strategy,
                    side,
                    actor=actor,
                    config=self._config(),
                    alerts=self._alerts,
                    heartbeat=self._heartbeat,
                )
            finally:
                self.flattening = False
        if outcome.verified:
            await self._intents.finish()
        self.last = outcome
        await self.journal(
            "flatten.verified" if outcome.verified else "flatten.unverified",
            actor,
            {"side": side.value, "attempts": outcome.attempts},
        )
        return outcome

    async def journal(self, kind: str, actor: str, details: Mapping[str, Any]) -> None:
        """Journal a flatten step (a failing store is logged, never raised)."""
        await self._intents.journal(kind, actor, details)
