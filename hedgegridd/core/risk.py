"""Risk gate: a pure state machine consulted on every order path.

Every outcome is a value the caller must handle: ``RiskVerdict`` (allowed, or the
``DenyReason``s), ``BreakerEvent`` (NONE / TRIPPED / RESET) and ``DrawdownStatus``.
Nothing here raises on the bar path, reads a clock or touches storage: time comes in
as ``now_ns`` and the peak equity is passed in (restored by the caller from storage)
and read back (``peak_equity``) for the caller to persist.

* pause: operator/degraded reasons accumulate; ``resume(reason)`` clears one, "*" all.
* drawdown: (peak - equity) / peak on equity *including unrealized PnL*; a breach
  latches until ``clear_drawdown(equity)`` re-bases the peak (an operator action).
* circuit breaker: ``max_rejections`` distinct rejected orders within
  ``rejection_window_ns`` trip it; entries are denied for ``cooldown_ns``; then
  ``poll`` reports RESET. Rejections are keyed by the caller's *logical* order key
  (e.g. the rung key "LONG:3"), so retries of the same order count once per window.
* position size: existing + pending + new <= ``max_position_qty`` per side.
* stale data: no bar yet, or the last bar older than ``stale_after_ns``.
Exits (closing orders) are not gated: they only ever reduce risk.
"""

from __future__ import annotations

import enum
from collections import deque
from dataclasses import dataclass
from decimal import Decimal

from hedgegridd.core.specs import RiskSpec
from hedgegridd.core.types import ZERO

_HUNDRED = Decimal(100)


class DenyReason(enum.StrEnum):
    """Why an entry order may not be sent."""

    PAUSED = "paused"
    DRAWDOWN = "drawdown"
    CIRCUIT_BREAKER = "circuit_breaker"
    POSITION_LIMIT = "position_limit"
    STALE_DATA = "stale_data"
    NO_DATA = "no_data"


@dataclass(frozen=True, slots=True)
class RiskVerdict:
    """Allowed when ``reasons`` is empty."""

    reasons: tuple[DenyReason, ...] = ()

    @property
    def allowed(self) -> bool:
        """True when nothing denies the order."""
        return not self.reasons


ALLOWED = RiskVerdict()


class BreakerEvent(enum.StrEnum):
    """Transition reported by the circuit breaker."""

    NONE = "none"
    TRIPPED = "tripped"  # caller: cancel entries, alert
    RESET = "reset"  # caller: entries may resume


@dataclass(frozen=True, slots=True)
class DrawdownStatus:
    """Result of ``update_equity``; persist ``peak`` when ``peak_changed``."""

    equity: Decimal
    peak: Decimal
    drawdown_pct: Decimal
    breached: bool
    newly_breached: bool
    peak_changed: bool


class RiskGate:
    """Pause, drawdown, circuit breaker, position size and stale-data checks."""

    def __init__(self, spec: RiskSpec, *, peak_equity: Decimal | None = None) -> None:
        self.spec = spec
        self._peak = peak_equity
        self._pauses: set[str] = set()
        self._drawdown_latched = False
        self._rejections: deque[tuple[int, str]] = deque()
        self._tripped_at: int | None = None
        self.trips = 0
        self.last_bar_ns: int | None = None

    # -- pause ---------------------------------------------------------------
    @property
    def pause_reasons(self) -> tuple[str, ...]:
        """Active pause reasons, sorted."""
        return tuple(sorted(self._pauses))

    def pause(self, reason: str) -> None:
        """Add a pause reason (idempotent)."""
        self._pauses.add(reason)

    def resume(self, reason: str) -> None:
        """Clear one pause reason, or every one with "*"."""
        if reason == "*":
            self._pauses.clear()
        else:
            self._pauses.discard(reason)

    # -- drawdown ------------------------------------------------------------
    @property
    def peak_equity(self) -> Decimal | None:
        """Highest equity seen (including the restored peak); persist it."""
        return self._peak

    @property
    def drawdown_latched(self) -> bool:
        """True after a drawdown breach until ``clear_drawdown``."""
        return self._drawdown_latched

    def update_equity(self, equity: Decimal) -> DrawdownStatus:
        """Track the peak and the drawdown of ``equity`` (unrealized PnL included)."""
        peak_changed = self._peak is None or equity > self._peak
        if peak_changed:
            self._peak = equity
        peak = self._peak if self._peak is not None else equity
        drawdown = (peak - equity) * _HUNDRED / peak if peak > 0 else ZERO
        breached = drawdown >= self.spec.max_drawdown_pct
        newly = breached and not self._drawdown_latched
        if breached:
            self._drawdown_latched = True
        return DrawdownStatus(equity, peak, drawdown, breached, newly, peak_changed)

    def clear_drawdown(self, equity: Decimal) -> Decimal:
        """Operator reset: unlatch and re-base the peak on ``equity``; returns the new peak."""
        self._drawdown_latched = False
        self._peak = equity
        return equity

    # -- circuit breaker -----------------------------------------------------
    @property
    def breaker_tripped(self) -> bool:
        """True while tripped (until ``poll`` reports RESET)."""
        return self._tripped_at is not None

    def record_rejection(self, order_key: str, now_ns: int) -> BreakerEvent:
        """Count a venue rejection of the logical order ``order_key``; TRIPPED when the
        count of distinct keys within the window reaches ``max_rejections``."""
        if self._tripped_at is not None:
            return BreakerEvent.NONE
        self._prune(now_ns)
        if any(key == order_key for _, key in self._rejections):
            return BreakerEvent.NONE
        self._rejections.append((now_ns, order_key))
        if len(self._rejections) >= self.spec.max_rejections:
            self._tripped_at = now_ns
            self.trips += 1
            self._rejections.clear()
            return BreakerEvent.TRIPPED
        return BreakerEvent.NONE

    def rejections_in_window(self, now_ns: int) -> int:
        """Distinct rejected orders currently inside the window."""
        self._prune(now_ns)
        return len(self._rejections)

    def poll(self, now_ns: int) -> BreakerEvent:
        """RESET once the cooldown has elapsed after a trip; NONE otherwise."""
        if self._tripped_at is not None and now_ns - self._tripped_at >= self.spec.cooldown_ns:
            self._tripped_at = None
            return BreakerEvent.RESET
        return BreakerEvent.NONE

    def _prune(self, now_ns: int) -> None:
        horizon = now_ns - self.spec.rejection_window_ns
        while self._rejections and self._rejections[0][0] <= horizon:
            self._rejections.popleft()

    # -- data freshness ------------------------------------------------------
    def on_bar(self, bar_close_ns: int) -> None:
        """Record the close time of the latest bar (never moves backwards)."""
        if self.last_bar_ns is None or bar_close_ns > self.last_bar_ns:
            self.last_bar_ns = bar_close_ns

    # -- checks --------------------------------------------------------------
    def check_entries(self, now_ns: int) -> RiskVerdict:
        """May entries be placed now? (pause, drawdown, breaker, data freshness)."""
        reasons: list[DenyReason] = []
        if self._pauses:
            reasons.append(DenyReason.PAUSED)
        if self._drawdown_latched:
            reasons.append(DenyReason.DRAWDOWN)
        if self._tripped_at is not None:
            reasons.append(DenyReason.CIRCUIT_BREAKER)
        if self.last_bar_ns is None:
            reasons.append(DenyReason.NO_DATA)
        elif now_ns - self.last_bar_ns > self.spec.stale_after_ns:
            reasons.append(DenyReason.STALE_DATA)
        return RiskVerdict(tuple(reasons)) if reasons else ALLOWED

    def check_entry_order(
        self, *, existing_qty: Decimal, pending_qty: Decimal, new_qty: Decimal, now_ns: int
    ) -> RiskVerdict:
        """``check_entries`` plus the side's size: existing + pending + new within the limit."""
        verdict = self.check_entries(now_ns)
        if existing_qty + pending_qty + new_qty > self.spec.max_position_qty:
            return RiskVerdict((*verdict.reasons, DenyReason.POSITION_LIMIT))
        return verdict
