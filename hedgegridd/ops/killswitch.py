"""``KillSwitch``: the supervised task that checks limits and, on a held breach, flattens.

Everything runs on the one event loop: the check reads ``StrategyHandle.snapshot()``
directly (no threads), persistence goes through the awaitable state store (its
own worker thread), waits are ``anyio.sleep``. On firing:

1. the strategy is halted (no new entries from this instant),
2. the HALTED latch is persisted (survives restarts; only ``reset`` clears it),
3. entries are cancelled and both sides are closed with closing orders,
4. flatness is polled without blocking until a deadline; closing is retried
   if the book is not flat; an alert goes out at each step.

A manual ``flatten`` (control socket) goes through the same path and pauses the
strategy; that path (its lock, progress and last outcome) is
``hedgegridd.ops.killswitch_flatten.FlattenPath``. ``run`` restores a persisted
latch (strategy halted) before it reports started. Errors reading the latch
propagate (``StateStoreError``): the supervisor decides that a kill switch failing
to start is fatal in live mode.

Crash consistency (``hedgegridd.ops.intents``): every flatten (fired or manual) is
recorded in the state store, with the manual flatten's pause, *before* closing
orders are sent. After a kill -9 the restarted daemon pauses again at start (the
strategy factory reads the intent) and ``run`` finishes a pending flatten through
the same close-and-verify path; the pause stays until an operator resumes
(``clear_flatten_pause``).

Fails closed: see ``hedgegridd.ops.blind``. ``wake()`` (called on every mark update)
makes the next check run at once instead of at the end of the interval.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import anyio
import structlog
from anyio.abc import TaskStatus

from hedgegridd.ops.alert_model import AlertKey, AlertSink, NullAlertSink
from hedgegridd.ops.baselines import Baselines
from hedgegridd.ops.blind import PAUSE_REASON_BLIND, BlindWatch, is_blind
from hedgegridd.ops.config import KillSwitchConfig, Severity
from hedgegridd.ops.flatten import FlattenOutcome
from hedgegridd.ops.intents import (
    PAUSE_REASON_FLATTEN,
    PAUSE_REASON_STRATEGY_FLATTEN,
    FlattenIntents,
)
from hedgegridd.ops.killswitch_flatten import FlattenPath
from hedgegridd.ops.killswitch_report import CheckReporter
from hedgegridd.ops.killswitch_rules import (
    BreachTracker,
    CheckResult,
    Readings,
    ReadingStatus,
    describe,
    readings_from_snapshot,
)
from hedgegridd.ops.latch import KillSwitchStore, LatchRecord, MemoryLatch
from hedgegridd.strategy.handle import (
    FlattenSide,
    StrategyHandle,
    StrategySnapshot,
)

log = structlog.get_logger(__name__)

__all__ = [
    "PAUSE_REASON_BLIND",
    "PAUSE_REASON_FLATTEN",
    "FlattenOutcome",
    "KillSwitch",
    "KillSwitchStatus",
    "KillSwitchStore",
    "LatchRecord",
]

# A woken check (mark update) runs at most this often.
MIN_WAKE_GAP_S = 0.1


def _pending_breach(result: CheckResult) -> bool:
    return any(v.status is ReadingStatus.BREACH for v in result.verdicts)


@dataclass(frozen=True, slots=True)
class KillSwitchStatus:
    """Read-only view for status, metrics and the control socket."""

    enabled: bool
    latched: bool
    reason: str | None
    details: Mapping[str, Any]
    fired_at_ns: int | None
    flattening: bool
    fired_total: int
    checks_total: int
    last_check: CheckResult | None
    last_flatten: FlattenOutcome | None
    blind: bool = False  # failing closed: entries paused, readings cannot be taken
    flatten_pending: bool = False  # a persisted flatten not yet verified flat


class KillSwitch:
    """Checks limits on a cadence; on a held breach latches HALTED and flattens."""

    def __init__(
        self,
        config: KillSwitchConfig,
        *,
        strategy: StrategyHandle,
        store: KillSwitchStore,
        alerts: AlertSink | None = None,
        clock_ns: Callable[[], int] = time.time_ns,
        heartbeat: Callable[[], None] | None = None,
        on_check: Callable[[StrategySnapshot, Readings], None] | None = None,
    ) -> None:
        self._config = config
        self._on_check = on_check
        self._strategy = strategy
        self._store = store
        self._alerts: AlertSink = alerts or NullAlertSink()
        self._clock_ns = clock_ns
        self._heartbeat = heartbeat or (lambda: None)
        self._tracker = BreachTracker(config)
        self._latch: LatchRecord | None = None
        self._restored = False
        self._baselines = Baselines(store, self._alerts)
        self._reporter = CheckReporter(self._alerts)
        self._blind = BlindWatch(strategy, self._alerts, config.fail_closed_after_checks)
        self._intents = FlattenIntents(
            store=store, strategy=strategy, alerts=self._alerts, clock_ns=clock_ns
        )
        self._flat = FlattenPath(
            strategy=strategy,
            intents=self._intents,
            alerts=self._alerts,
            config=lambda: self._config,
            heartbeat=self._heartbeat,
        )
        self._wake: anyio.Event | None = None
        self._woken_at_ns: int | None = None
        self.fired_total = 0
        self.checks_total = 0
        self.last_check: CheckResult | None = None

    # ----------------------------------------------------------------- status
    @property
    def latched(self) -> bool:
        """True while the HALTED latch is set."""
        return self._latch is not None

    @property
    def last_flatten(self) -> FlattenOutcome | None:
        """The outcome of the last flatten (fired, manual or resumed), or None."""
        return self._flat.last

    def status(self) -> KillSwitchStatus:
        """Current state (cheap; safe to call on every scrape)."""
        latch = self._latch
        return KillSwitchStatus(
            enabled=self._config.enabled,
            latched=latch is not None,
            reason=None if latch is None else latch.reason,
            details={} if latch is None else dict(latch.details),
            fired_at_ns=None if latch is None else latch.fired_at_ns,
            flattening=self._flat.flattening,
            fired_total=self.fired_total,
            checks_total=self.checks_total,
            last_check=self.last_check,
            last_flatten=self._flat.last,
            blind=self._blind.blind,
            flatten_pending=self._intents.pending,
        )

    def wake(self) -> None:
        """Run the next check now (a mark update arrived); cheap, call from the loop."""
        if self._wake is not None and not self._wake.is_set():
            self._woken_at_ns = self._clock_ns()
            self._wake.set()

    def reconfigure(self, config: KillSwitchConfig) -> None:
        """Apply new limits/cadence (SIGHUP reload); the breach window starts afresh."""
        old = self._config
        self._config = config
        self._tracker = BreachTracker(config)
        self._blind.after_checks = config.fail_closed_after_checks
        log.warning(
            "killswitch.reconfigured",
            limits={k.value: str(v) for k, v in self._tracker.limits.items()},
            interval_s=config.check_interval_s,
            enabled=config.enabled,
            was_enabled=old.enabled,
        )

    # ----------------------------------------------------------------- lifecycle
    async def restore(self) -> LatchRecord | None:
        """Load the persisted latch and baselines; halt the strategy if latched.

        Call it before the strategy trades (``run`` calls it too). Raises
        ``StateStoreError`` if the store cannot be read.
        """
        latch = await self._store.killswitch_latch()
        await self._baselines.restore()
        self._latch = latch
        if latch is not None:
            self._strategy.halt(latch.reason)
            log.warning("killswitch.latch_restored", reason=latch.reason, at_ns=latch.fired_at_ns)
        await self._intents.restore()
        self._restored = True
        return latch

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Check on a fixed cadence until cancelled; fire on a held breach."""
        if not self._restored:
            await self.restore()
        log.info(
            "killswitch.started",
            interval_s=self._config.check_interval_s,
            rule=f"{self._config.breaches_required}/{self._config.breach_window}",
            limits={k.value: str(v) for k, v in self._tracker.limits.items()},
            latched=self.latched,
        )
        self._wake = anyio.Event()  # before started(): a mark may wake the first check
        task_status.started()
        async with anyio.create_task_group() as tg:
            intent = self._intents.current
            if intent is not None and intent.pending:
                tg.start_soon(self._flat.finish_interrupted, intent)
            await self._check_loop()

    async def _check_loop(self) -> None:
        self._wake = self._wake or anyio.Event()
        next_at = anyio.current_time()
        last_check = -MIN_WAKE_GAP_S
        if not self._config.enabled:
            log.warning("killswitch.disabled", latched=self.latched)
        while True:
            self._heartbeat()
            # Checks go on during a manual (one-side) flatten: a breach then latches at
            # once and flattens both sides as soon as the manual path has finished.
            interval = self._config.check_interval_s
            if self._config.enabled and not self.latched:
                last_check = anyio.current_time()
                result = await self.check_once()
                if result is not None and result.fire:
                    await self._fire(result)
                elif result is not None and _pending_breach(result):
                    # A breach awaiting confirmation: re-check sooner if configured.
                    interval = self._config.confirm_interval_s or interval
            now = anyio.current_time()
            next_at = max(now, min(next_at + interval, now + interval))  # no burst after lag
            with anyio.move_on_after(next_at - now):
                await self._wake.wait()  # a mark update wakes the next check early
            if self._wake.is_set():
                self._wake = anyio.Event()
                await anyio.sleep_until(last_check + MIN_WAKE_GAP_S)

    # ----------------------------------------------------------------- checking
    async def check_once(self) -> CheckResult | None:
        """One check: read the snapshot, update baselines and the breach window."""
        try:
            snapshot = self._strategy.snapshot()
        except Exception as exc:  # reported, counted as blind: N in a row fail closed
            log.error("killswitch.snapshot_failed", error=type(exc).__name__, exc_info=True)
            self._alerts.notify(
                AlertKey.READINGS_MISSING,
                Severity.WARNING,
                "kill switch cannot read the strategy",
                fields={"error": type(exc).__name__},
            )
            self._blind.observe(blind=True, cause=f"snapshot failed: {type(exc).__name__}")
            return None
        now_ns = self._clock_ns()
        base = self._baselines
        await base.update(snapshot, now_ns)
        readings = readings_from_snapshot(
            snapshot,
            now_ns=now_ns,
            equity_basis=base.equity_basis(self._config),
            session_basis_pnl=base.session,
            daily_basis_pnl=base.daily,
        )
        result = self._tracker.update(readings)
        if self._on_check is not None:
            try:
                self._on_check(snapshot, readings)
            except Exception as exc:  # an observer bug must not stop the kill switch
                log.error("killswitch.on_check_failed", error=type(exc).__name__, exc_info=True)
        self.checks_total += 1
        self.last_check = result
        self._blind.observe(blind=is_blind(result), cause="no limit could be evaluated")
        self._reporter.report(
            result,
            snapshot,
            data_age_s=readings.data_age_s,
            now_ns=now_ns,
            required=self._config.breaches_required,
            woken=self._woken_at_ns is not None,
        )
        self._woken_at_ns = None
        return result

    # ----------------------------------------------------------------- firing
    async def _fire(self, result: CheckResult) -> None:
        reason = "limit:" + ",".join(limit.value for limit in result.firing)
        await self.fire(reason, details=describe(result.verdicts))

    async def fire(
        self, reason: str, *, details: Mapping[str, Any] | None = None, actor: str = "killswitch"
    ) -> FlattenOutcome:
        """Latch HALTED, halt the strategy, cancel entries, flatten both sides and verify."""
        at_ns = self._clock_ns()
        details = dict(details or {})
        try:
            self._strategy.halt(reason)
        except Exception as exc:  # keep going: closing the book matters more
            log.error("killswitch.halt_failed", error=type(exc).__name__, exc_info=True)
        self.fired_total += 1
        self._latch = MemoryLatch(reason, details, at_ns)
        log.critical("killswitch.fired", reason=reason, actor=actor, **details)
        self._alerts.notify(
            AlertKey.KILLSWITCH_FIRED,
            Severity.CRITICAL,
            "KILL SWITCH FIRED: halting and flattening",
            text=reason,
            fields={str(k): str(v) for k, v in details.items()},
        )
        await self._intents.record_fired(reason, details, at_ns, actor=actor)
        return await self._flat.run(FlattenSide.BOTH, actor=actor)

    async def flatten(self, side: FlattenSide, *, actor: str) -> FlattenOutcome:
        """Manual flatten (control socket): pause, persist, then the close-and-verify path."""
        return await self._flat.manual(side, actor=actor)

    async def clear_flatten_pause(self, *, by: str) -> bool:
        """Operator resume: lift the flatten pauses unless a flatten is still in progress.

        Returns False (pauses kept) while closing orders are being sent or verified,
        or while a persisted flatten is still pending.
        """
        return await self._flat.clear_pause(by=by)

    # ----------------------------------------------------------------- reset
    async def reset(self, *, by: str) -> bool:
        """Operator reset: clear the latch, unhalt, re-base peak/session/daily baselines.

        Returns False when nothing was latched. Waits for an in-flight flatten to end.
        """
        async with self._flat.lock():
            if self._latch is None:
                return False
            at_ns = self._clock_ns()
            previous = self._latch.reason
            await self._store.clear_killswitch_latch(by, at_ns)
            self._latch = None
            self._tracker.reset()
            await self._rebase()
            self._strategy.unhalt()
            if not self._intents.holds_pause:
                # The fired flatten's own pause goes with the latch (an operator
                # flatten's pause stays until resume).
                self._strategy.resume(PAUSE_REASON_STRATEGY_FLATTEN)
        log.warning("killswitch.reset", by=by, previous_reason=previous)
        self._alerts.notify(
            AlertKey.KILLSWITCH_RESET,
            Severity.WARNING,
            "kill switch reset by operator: trading may resume",
            fields={"by": by, "previous_reason": previous},
        )
        return True

    async def _rebase(self) -> None:
        try:
            snap: StrategySnapshot | None = self._strategy.snapshot()
        except Exception as exc:  # baselines re-seed on the next check instead
            log.error("killswitch.rebase_failed", error=type(exc).__name__, exc_info=True)
            snap = None
        await self._baselines.rebase(snap)
