"""The close-and-verify path shared by the kill switch and a manual flatten.

Cancel entries, hand closing orders to the strategy, then poll ``is_flat`` with
``anyio.sleep`` (never blocking the loop) until a deadline; if the book is not
flat, send closing orders again, up to ``flatten_attempts``; alert at each step
(sent, verified, unverified). Strategy errors are logged and count as a failed
attempt: this path never raises on their account.

Its log events are ``flatten.*`` with the ``actor`` (``killswitch`` when the kill
switch fired, the operator's peer for ``hedgegridctl flatten``, ``restart:...`` when
a flatten interrupted by a crash is finished); ``killswitch.*`` events are the kill
switch's own. ``flatten.closing_sent`` carries ``sent_ns`` (wall clock) of the first
closing orders handed to the strategy.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import anyio
import structlog

from hedgegridd.ops.alert_model import AlertKey, AlertSink
from hedgegridd.ops.config import KillSwitchConfig, Severity
from hedgegridd.strategy.handle import FlattenSide, FlattenTicket, StrategyHandle

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class FlattenOutcome:
    """What one flatten path did; durations are from the start of the path."""

    side: FlattenSide
    actor: str
    verified: bool
    attempts: int
    orders_sent_after_s: float | None  # first closing orders handed to the strategy
    verified_after_s: float | None  # book seen flat
    ticket: FlattenTicket | None = None  # what the first successful flatten call did

    @property
    def sent(self) -> FlattenTicket:
        """``ticket``, or an empty one for ``side`` when no flatten call succeeded."""
        if self.ticket is not None:
            return self.ticket
        sides = ("LONG", "SHORT") if self.side is FlattenSide.BOTH else (self.side.value,)
        return FlattenTicket(sides=sides, entries_cancelled=0, closing_orders={})


async def close_and_verify(
    strategy: StrategyHandle,
    side: FlattenSide,
    *,
    actor: str,
    config: KillSwitchConfig,
    alerts: AlertSink,
    heartbeat: Callable[[], None],
) -> FlattenOutcome:
    """Cancel entries, send closing orders, poll until flat; retry; alert at each step."""
    cfg = config
    started = anyio.current_time()
    sent_after: float | None = None
    first_ticket: FlattenTicket | None = None
    for attempt in range(1, cfg.flatten_attempts + 1):
        try:
            cancelled = strategy.cancel_entries()
            ticket = strategy.flatten(side)
        except Exception as exc:  # retried below, then reported unverified
            log.error(
                "flatten.call_failed",
                actor=actor,
                attempt=attempt,
                error=type(exc).__name__,
                exc_info=True,
            )
        else:
            if sent_after is None:
                sent_after = anyio.current_time() - started
                first_ticket = ticket
            orders = {k: str(v) for k, v in ticket.closing_orders.items()}
            log.warning(
                "flatten.closing_sent",
                actor=actor,
                sent_ns=time.time_ns(),
                side=side.value,
                attempt=attempt,
                entries_cancelled=cancelled + ticket.entries_cancelled,
                closing_orders=orders,
            )
            alerts.notify(
                AlertKey.FLATTEN_SENT,
                Severity.WARNING,
                f"closing orders sent ({side.value}), attempt {attempt}",
                fields={"actor": actor, **orders},
            )
        if await _wait_flat(
            strategy, side, cfg.flatten_verify_timeout_s, cfg.flatten_poll_interval_s, heartbeat
        ):
            elapsed = anyio.current_time() - started
            log.warning(
                "flatten.flat_verified",
                actor=actor,
                side=side.value,
                attempts=attempt,
                after_s=elapsed,
            )
            alerts.notify(
                AlertKey.FLATTEN_VERIFIED,
                Severity.WARNING,
                f"flat verified ({side.value})",
                fields={"actor": actor, "attempts": str(attempt), "after_s": f"{elapsed:.2f}"},
            )
            return FlattenOutcome(side, actor, True, attempt, sent_after, elapsed, first_ticket)
        log.error("flatten.not_flat", actor=actor, side=side.value, attempt=attempt)
    log.critical(
        "flatten.flat_unverified", actor=actor, side=side.value, attempts=cfg.flatten_attempts
    )
    alerts.notify(
        AlertKey.FLATTEN_UNVERIFIED,
        Severity.CRITICAL,
        f"FLATTEN UNVERIFIED ({side.value}): positions may remain open, act manually",
        fields={"actor": actor, "attempts": str(cfg.flatten_attempts)},
    )
    return FlattenOutcome(side, actor, False, cfg.flatten_attempts, sent_after, None, first_ticket)


async def _wait_flat(
    strategy: StrategyHandle,
    side: FlattenSide,
    timeout_s: float,
    poll_s: float,
    heartbeat: Callable[[], None],
) -> bool:
    with anyio.move_on_after(timeout_s):
        while True:
            heartbeat()
            if _is_flat(strategy, side):
                return True
            await anyio.sleep(poll_s)
    return _is_flat(strategy, side)


def _is_flat(strategy: StrategyHandle, side: FlattenSide) -> bool:
    try:
        return bool(strategy.is_flat(side))
    except Exception as exc:  # unknown counts as not flat, and is logged
        log.error("flatten.is_flat_failed", error=type(exc).__name__, exc_info=True)
        return False
