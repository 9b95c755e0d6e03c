"""The ``StrategyHandle`` operations (state, pause, throttle, flatten, halt).

The read-only views (snapshot, open orders, ladders) are built by ``views``. Called
by the daemon on the node's event loop. Commands that can place entries
(resume, throttle, unhalt) go through the same ``_sync`` as bars, so the risk
gate applies to them too; pause/halt/flatten only ever reduce activity.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

import structlog

from hedgegridd.core.policy import validate_throttle
from hedgegridd.core.types import Side
from hedgegridd.errors import ConfigError, DomainError
from hedgegridd.strategy import views
from hedgegridd.strategy.closer import FLATTEN_REASON
from hedgegridd.strategy.command_sync import CommandResync
from hedgegridd.strategy.handle import (
    FlattenSide,
    FlattenTicket,
    OrderView,
    RungView,
    StrategySnapshot,
    TradingState,
)
from hedgegridd.strategy.state import StrategyAttrs
from hedgegridd.strategy.throttle_effect import throttle_effect

log = structlog.get_logger(__name__)
FLATTEN_PAUSE = "flatten"


def _sides(side: FlattenSide) -> tuple[Side, ...]:
    if side is FlattenSide.BOTH:
        return (Side.LONG, Side.SHORT)
    return (Side(side.value),)


class ControlMixin(StrategyAttrs):
    """``StrategyHandle`` for ``HedgeGridStrategy`` (mixed in; uses its state)."""

    def state_now(self) -> TradingState:
        """Coarse trading state derived from the lifecycle and the risk gate."""
        if self.start_failure is not None or self.trading_state is TradingState.STOPPED:
            return TradingState.STOPPED
        if self.trading_state is TradingState.STARTING or self.risk is None:
            return TradingState.STARTING
        if self.halted_reason is not None:
            return TradingState.HALTED
        if "degraded" in self.risk.pause_reasons:
            return TradingState.DEGRADED
        if self.pause_reasons_now():
            return TradingState.PAUSED
        return TradingState.RUNNING

    def pause_reasons_now(self) -> tuple[str, ...]:
        """Every reason entries are not placed right now (pauses, drawdown, breaker)."""
        if self.risk is None:
            return ()
        reasons = list(self.risk.pause_reasons)
        if self.risk.drawdown_latched:
            reasons.append("drawdown")
        if self.risk.breaker_tripped:
            reasons.append("circuit_breaker")
        return tuple(sorted(set(reasons)))

    def snapshot(self) -> StrategySnapshot:
        """Current state in plain values at the instrument's precisions (``views``)."""
        return views.snapshot(self)

    def open_orders(self) -> Sequence[OrderView]:
        """Our open orders (entries, exits, flatten) as plain views."""
        return views.open_orders(self)

    def ladders(self) -> Sequence[RungView]:
        """Desired rungs of the last grid decision."""
        return views.ladders(self)

    def pause(self, reason: str, *, keep_orders: bool = False) -> None:
        """Stop new exposure under ``reason``: resting entries are withdrawn (cancelled),
        or with ``keep_orders`` left resting untouched (frozen). Exits always stay.

        Reasons accumulate; entries stay frozen only while every pause reason in force
        was given with ``keep_orders`` (a later pause without it withdraws them).
        """
        if self.risk is None:
            return
        if keep_orders:
            self.frozen_pauses.add(reason)
        else:
            self.frozen_pauses.discard(reason)
        self.risk.pause(reason)
        log.info(
            "strategy.paused",
            reason=reason,
            keep_orders=keep_orders,
            reasons=list(self.pause_reasons_now()),
        )
        self._sync_guarded("pause")

    def resume(self, reason: str | None = None) -> None:
        """Clear ``reason`` ("*": every operator/degraded reason; "drawdown" re-bases the peak).

        This name is also Nautilus' component ``resume()`` (DEGRADED -> RUNNING): called
        without a reason, or with "degraded"/"*" while the node has the component
        DEGRADED, the component is resumed too so events flow again.
        """
        if reason is None or reason in ("degraded", "*"):
            from nautilus_trader.trading.strategy import Strategy

            if self.is_degraded:
                Strategy.resume(self)
            reason = reason or "degraded"
        if self.risk is None:
            return
        if reason == "*":
            for r in self.risk.pause_reasons:
                if r != "halted":
                    self.risk.resume(r)
                    self.frozen_pauses.discard(r)
            self.degraded_reason = None
        elif reason == "drawdown":
            equity = self.current_equity()
            if equity is not None:
                self.risk.clear_drawdown(equity)
        else:
            self.risk.resume(reason)
            self.frozen_pauses.discard(reason)
            if reason == "degraded":
                self.degraded_reason = None
        log.info("strategy.resumed", reason=reason, reasons=list(self.pause_reasons_now()))
        self._command_sync("resume")

    def set_throttle(self, value: Decimal) -> None:
        """Scale entry quantities by ``value`` in [0, 1]; ConfigError otherwise. A side whose
        scaled rungs all fall under the venue's minimums is logged as a warning."""
        try:
            throttle = validate_throttle(Decimal(value))
        except (DomainError, ArithmeticError, TypeError, ValueError) as exc:
            raise ConfigError(f"throttle must be a number within [0, 1], got {value!r}") from exc
        if throttle != self.throttle:
            self.throttle = throttle
            log.info("strategy.throttle", throttle=str(throttle))
            self._command_sync("throttle")
        for side, (_, need) in self.throttle_effect().items():
            if need is not None:
                log.warning(
                    "strategy.throttle_empties_side",
                    side=side,
                    throttle=str(throttle),
                    min_throttle=str(need),
                    why="every scaled rung falls under the minimum quantity or notional",
                )

    def throttle_effect(self) -> dict[str, tuple[int, Decimal | None]]:
        """Entry rungs per side now; for a side the throttle empties, the throttle keeping one."""
        decision, grid = self.last_decision, self.grid
        if decision is None or grid is None or self.regime is None or self.last_price is None:
            return {}
        effect = throttle_effect(
            grid,
            decision,
            regime=self.regime.regime,
            mid=self.last_price,
            positions=self.confirmed_positions(),
            throttle=self.throttle,
        )
        return {side.value: (e.rungs, e.min_throttle) for side, e in effect.items()}

    def cancel_entries(self) -> int:
        """Cancel every resting entry; returns how many cancels were sent."""
        count = self._cancel_kind(entries=True, exits=False)
        log.info("strategy.entries_cancelled", count=count)
        return count

    def flatten(self, side: FlattenSide) -> FlattenTicket:
        """Pause, cancel entries of ``side`` and close what is not already being closed.

        Idempotent by quantity: closes in flight (and the part queued behind exits being
        cancelled) count against the position, so any number of calls (operator, kill
        switch retries, gap closes) closes the position once, never more. A call while a
        close waits for its retry backoff retries at once.
        """
        self.pause(FLATTEN_PAUSE)
        sides = _sides(side)
        cancelled = 0
        closing: dict[str, Decimal] = {}
        already: dict[str, Decimal] = {}
        sent: dict[str, Decimal] = {}
        for s in sides:
            cancelled += self._cancel_kind(entries=True, exits=False, side=s)
            held = self._held(s)
            if held == 0 and not self.closer.is_closing(s):
                continue
            before = self.closer.committed(s, held)
            now = self.closer.request(s, None, FLATTEN_REASON)
            after = self.closer.committed(s, self._held(s))
            if before > 0:
                already[s.value] = before
            if after > before:
                closing[s.value] = after - before
            if now > 0:
                sent[s.value] = now
        log.warning(
            "strategy.flatten",
            sides=[s.value for s in sides],
            closing={k: str(v) for k, v in closing.items()},
            already_closing={k: str(v) for k, v in already.items()},
            sent_now={k: str(v) for k, v in sent.items()},
        )
        return FlattenTicket(
            sides=tuple(s.value for s in sides),
            entries_cancelled=cancelled,
            closing_orders=closing,
            already_closing=already,
            sent_now=sent,
        )

    def _held(self, side: Side) -> Decimal:
        long, short = self.confirmed_positions()
        return (long if side is Side.LONG else short).qty

    def is_flat(self, side: FlattenSide) -> bool:
        """True when the confirmed position of ``side`` (or both) is zero."""
        long, short = self.confirmed_positions()
        qty = {Side.LONG: long.qty, Side.SHORT: short.qty}
        return all(qty[s] == 0 for s in _sides(side))

    def halt(self, reason: str) -> None:
        """Kill switch latched: withdraw entries until ``unhalt``."""
        self.halted_reason = reason
        if self.risk is not None:
            self.risk.pause("halted")
        log.warning("strategy.halted", reason=reason)
        self._sync_guarded("halt")

    def unhalt(self) -> None:
        """Operator reset of the kill switch: trading resumes unless other pauses remain."""
        self.halted_reason = None
        if self.risk is not None:
            self.risk.resume("halted")
        log.info("strategy.unhalted", reasons=list(self.pause_reasons_now()))
        self._command_sync("unhalt")

    def _command_sync(self, source: str) -> None:
        """Re-sync for a command that can place entries: bursts coalesce (command_sync.py)."""
        if (resync := getattr(self, "_command_resync", None)) is None:
            resync = self._command_resync = CommandResync(self.clock, self._sync_guarded)
        resync.request(source)
