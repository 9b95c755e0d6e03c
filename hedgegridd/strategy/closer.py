"""``Closer``: the sides being closed at market (flatten, gap through the stop) and their retries.

A side is *closing* from ``request`` until its position is down to what it keeps:
nothing for a flatten; for a gap close, the part still protected by its own exits
when the incident started (exit fills of that part shrink it). Everything else of the
side is closed at market: the quantity whose stop is through the market, and any lot
that fills while the incident lasts (its stop would be through the market too, so it
is closed instead of being sent a stop the venue would refuse). While closing:

- the exit planner sees only the kept part (``effective``), so it neither places exits
  for the part being closed nor fights the close;
- ``pump`` applies ``hedgegridd.core.closing.plan_close``: exits blocking the close are
  cancelled and a market close goes out for what the reduce gate admits now (the
  quantity not already being closed, less what still-open exits could take); the rest
  goes when the cancels are confirmed (the strategy pumps on every cancel and fill);
- a refused close is retried with exponential backoff (``RETRY_BASE_NS`` doubling up
  to ``RETRY_CAP_NS``), never at once, so a venue that keeps refusing sees at most
  one close per backoff step; after ``ALERT_AFTER`` refusals one critical alert
  (``close_failed``) is raised and retries go on at the capped delay (the kill switch
  and the operator can still ``flatten``, which retries at once).

One alert per incident: ``gap_close`` when a gap close starts on a side that was not
closing. The state (what is wanted, attempts, backoff) lives here, not on the strategy.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

import structlog

from hedgegridd.core.closing import plan_close
from hedgegridd.core.types import ZERO, Position, Side

if TYPE_CHECKING:
    from hedgegridd.core.types import InstrumentRules
    from hedgegridd.strategy.book import Book

log = structlog.get_logger(__name__)

FLATTEN_REASON = "flatten"
GAP_REASON = "gap"
RETRY_BASE_NS = 1_000_000_000
RETRY_CAP_NS = 30_000_000_000
ALERT_AFTER = 3
_TIMER = "hedgegrid-close-retry-"


class CloserHost(Protocol):
    """What the closer needs from the strategy (``HedgeGridStrategy`` implements it)."""

    book: Book
    rules: InstrumentRules | None
    clock: Any

    def confirmed_positions(self) -> tuple[Position, Position]: ...

    def _send_close(self, side: Side, qty: Decimal) -> Decimal: ...

    def _cancel_id(self, order_id: str) -> bool: ...

    def _alert(self, kind: str, details: dict[str, str]) -> None: ...

    def _enter_degraded(self, where: str, exc: BaseException) -> None: ...


@dataclass(slots=True)
class SideClose:
    """One closing incident of a side."""

    reason: str  # FLATTEN_REASON | GAP_REASON
    keep: Decimal  # position kept under its exits (ZERO for a flatten); the rest closes
    started_ns: int
    refusals: int = 0
    retry_at_ns: int = 0
    failed_alerted: bool = False


class Closer:
    """Sides being closed at market, with their in-flight accounting and bounded retries."""

    def __init__(self, host: CloserHost) -> None:
        self._host = host
        self._sides: dict[Side, SideClose] = {}

    # -- queries -------------------------------------------------------------------
    def is_closing(self, side: Side) -> bool:
        """True while ``side`` has a closing incident open."""
        return side in self._sides

    @property
    def active(self) -> bool:
        """True when some side is being closed."""
        return bool(self._sides)

    def incident(self, side: Side) -> SideClose | None:
        """The open incident of ``side`` (None when it is not closing)."""
        return self._sides.get(side)

    def committed(self, side: Side, position: Decimal) -> Decimal:
        """Quantity of ``side`` already set to close: in flight or queued behind exit cancels."""
        inc = self._sides.get(side)
        in_flight = min(self._host.book.closing_qty(side), position)
        if inc is None:
            return in_flight
        return max(position - min(inc.keep, position), in_flight)

    def effective(self, position: Position) -> Position:
        """``position`` as the exit planner should see it: only the part kept under exits."""
        inc = self._sides.get(position.side)
        if inc is None or position.qty <= inc.keep:
            return position
        keep = inc.keep
        return Position(position.side, keep, position.avg_price if keep > 0 else None)

    # -- commands ------------------------------------------------------------------
    def request(self, side: Side, qty: Decimal | None, reason: str) -> Decimal:
        """Close ``qty`` more of ``side`` (None: all of it); returns the quantity sent now.

        A flatten supersedes a gap close and retries at once (backoff reset); a gap close
        while the side is already closing adds the newly uncovered quantity.
        """
        now = self._host.clock.timestamp_ns()
        position = self._held(side)
        inc = self._sides.get(side)
        if inc is None:
            keep = ZERO if qty is None else max(position - qty, ZERO)
            inc = SideClose(reason, keep, now)
            self._sides[side] = inc
            if reason == GAP_REASON:
                details = {"side": side.value, "qty": str(qty), "position": str(position)}
                log.warning("exit.gap_close", **details)
                self._host._alert("gap_close", details)
        elif qty is None:
            inc.keep, inc.reason, inc.retry_at_ns = ZERO, reason, 0
        else:
            inc.keep = max(min(inc.keep, position) - qty, ZERO)
        return self.pump(side)

    def _held(self, side: Side) -> Decimal:
        long, short = self._host.confirmed_positions()
        return (long if side is Side.LONG else short).qty

    def pump(self, side: Side | None = None) -> Decimal:
        """Cancel what blocks and send what may go now, for ``side`` or every closing side."""
        sent = ZERO
        for s in (side,) if side is not None else tuple(self._sides):
            if s in self._sides:
                sent += self._pump_side(s)
        return sent

    def _pump_side(self, side: Side) -> Decimal:
        host, inc = self._host, self._sides[side]
        rules = host.rules
        if rules is None:
            return ZERO
        position = self._held(side)
        _, exits = host.book.views()
        want = max(position - inc.keep, ZERO)
        plan = plan_close(side, position, want, exits, host.book.closing_qty(side), rules)
        if plan.done:
            self._finish(side, position)
            return ZERO
        for order_id in plan.cancels:
            host._cancel_id(order_id)
        if not plan.send or host.clock.timestamp_ns() < inc.retry_at_ns:
            return ZERO
        sent = ZERO
        for qty in plan.send:
            sent += host._send_close(side, qty)
        if sent:
            log.info("exit.close_sent", side=side.value, qty=str(sent), reason=inc.reason)
        return sent

    def _finish(self, side: Side, position: Decimal) -> None:
        inc = self._sides.pop(side)
        self._cancel_timer(side)
        log.info(
            "exit.close_done",
            side=side.value,
            reason=inc.reason,
            position=str(position),
            refusals=inc.refusals,
        )

    # -- events ---------------------------------------------------------------------
    def on_exit_filled(self, side: Side, qty: Decimal) -> None:
        """A TP/SL of the kept part filled ``qty``: that much less is kept."""
        inc = self._sides.get(side)
        if inc is not None:
            inc.keep = max(inc.keep - qty, ZERO)

    def on_close_refused(self, side: Side, reason: str) -> None:
        """A close was refused: retry after a backoff; one critical alert after a few."""
        inc = self._sides.get(side)
        if inc is None:
            return
        inc.refusals += 1
        now = self._host.clock.timestamp_ns()
        delay = min(RETRY_BASE_NS * 2 ** (inc.refusals - 1), RETRY_CAP_NS)
        inc.retry_at_ns = now + delay
        log.warning(
            "exit.close_refused",
            side=side.value,
            reason=reason,
            refusals=inc.refusals,
            retry_in_s=delay / 1e9,
        )
        if inc.refusals >= ALERT_AFTER and not inc.failed_alerted:
            inc.failed_alerted = True
            details = {"side": side.value, "refusals": str(inc.refusals), "reason": reason}
            log.critical("exit.close_failed", **details)
            self._host._alert("close_failed", details)
        self._cancel_timer(side)
        self._host.clock.set_time_alert_ns(_TIMER + side.value, inc.retry_at_ns, self._on_timer)

    def _on_timer(self, event: Any) -> None:
        try:
            self.pump(Side(str(event.name).removeprefix(_TIMER)))
        except Exception as exc:  # noqa: BLE001 - a timer handler boundary
            self._host._enter_degraded("close_retry_timer", exc)

    def _cancel_timer(self, side: Side) -> None:
        name = _TIMER + side.value
        if name in self._host.clock.timer_names:
            self._host.clock.cancel_timer(name)

    def clear(self) -> None:
        """Forget every incident (strategy reset)."""
        for side in tuple(self._sides):
            self._cancel_timer(side)
        self._sides.clear()
