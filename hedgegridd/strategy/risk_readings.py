"""The strategy's risk readings: what entries may do, what the book is worth, what to persist.

Pure functions of core values (no Nautilus import, no clock, no I/O); the strategy's
handlers read the engine's cache and the risk gate and call these:

- ``entry_mode``: the ``EntryMode`` the risk gate's verdict leaves entries in;
- ``unrealized_pnl``: both hedge sides valued at one price;
- ``state_update``: the peak equity / realized PnL values that changed and must be
  persisted (``None`` when nothing did).
"""

from __future__ import annotations

from collections.abc import Collection
from decimal import Decimal

from hedgegridd.core.engine import EntryMode
from hedgegridd.core.risk import DenyReason, DrawdownStatus, RiskVerdict
from hedgegridd.core.types import ZERO, Position
from hedgegridd.strategy.warmup import StateUpdate


def entry_mode(
    verdict: RiskVerdict,
    pause_reasons: Collection[str],
    frozen_pauses: set[str],
    *,
    halted: bool,
) -> EntryMode:
    """ACTIVE when allowed; WITHDRAW for a pause (unless every one keeps orders), a halt,
    a drawdown or the breaker; FREEZE for anything else (stale data, position limit)."""
    if verdict.allowed:
        return EntryMode.ACTIVE
    if DenyReason.PAUSED in verdict.reasons and not frozen_pauses.issuperset(pause_reasons):
        return EntryMode.WITHDRAW  # a pause means no new exposure (unless keep_orders)
    if (
        halted
        or DenyReason.DRAWDOWN in verdict.reasons
        or DenyReason.CIRCUIT_BREAKER in verdict.reasons
    ):
        return EntryMode.WITHDRAW
    return EntryMode.FREEZE


def unrealized_pnl(price: Decimal | None, positions: tuple[Position, Position]) -> Decimal:
    """Unrealized PnL of the LONG and SHORT ``positions`` at ``price`` (ZERO without one)."""
    if price is None:
        return ZERO
    total = ZERO
    long, short = positions
    for pos, sign in ((long, 1), (short, -1)):
        if pos.qty > 0 and pos.avg_price is not None:
            total += (price - pos.avg_price) * pos.qty * sign
    return total


def state_update(
    status: DrawdownStatus, realized_pnl: Decimal, last_persisted_pnl: Decimal | None
) -> StateUpdate | None:
    """The changed values to persist: a new peak, a realized PnL not yet persisted."""
    peak = status.peak if status.peak_changed else None
    pnl = realized_pnl if realized_pnl != last_persisted_pnl else None
    if peak is None and pnl is None:
        return None
    return StateUpdate(peak_equity=peak, realized_pnl=pnl)
