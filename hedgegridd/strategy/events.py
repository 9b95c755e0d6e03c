"""Order event handlers: translate, book once, re-plan exits. All idempotent.

- fill: booked once per (client order id, trade id) (a replay changes nothing),
  then exits are re-planned at once (entries wait for the next bar).
- rejection/denial: counted once per order; an entry rejection feeds the circuit
  breaker under its logical key (``LONG:3``), so retries count once per window,
  and schedules one retry of the sync (through the risk gate) after
  ``retry_delay``; a stop-loss refused because its trigger is already crossed starts
  a gap close of its quantity (``Closer``: blocking exits cancelled, one market
  close, the stop fired); a refused close is retried by the closer with backoff.
- cancel/expire/update/accept: the views are rebuilt; a cancelled exit is re-planned;
  a side being closed is pumped (its close goes once the blocking exits are gone).
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import TYPE_CHECKING

import structlog
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.events import (
    OrderCanceled,
    OrderCancelRejected,
    OrderDenied,
    OrderExpired,
    OrderFilled,
    OrderRejected,
    OrderUpdated,
)
from nautilus_trader.model.identifiers import ClientOrderId

from hedgegridd.core.risk import BreakerEvent
from hedgegridd.core.types import Side
from hedgegridd.strategy.closer import GAP_REASON
from hedgegridd.strategy.orders import ENTRY, FLATTEN, SL, TP, side_of_position_id

if TYPE_CHECKING:
    from nautilus_trader.common.events import TimeEvent

from hedgegridd.strategy.state import StrategyAttrs

log = structlog.get_logger(__name__)

RETRY_TIMER = "hedgegrid-retry"
RETRY_DELAY_NS = 5_000_000_000
_STOP_CROSSED = ("in the market", "-2021", "immediately trigger")


def reason_key(reason: str) -> str:
    """Stable bucket of a rejection reason: Binance code if any, else its leading words."""
    code = re.search(r"-\d{4}", reason)
    if code is not None:
        return code.group(0)
    if "POST_ONLY" in reason or "post-only" in reason.lower():
        return "POST_ONLY"
    words = re.sub(r"[0-9][0-9.,]*", "N", reason).split()
    return " ".join(words[:3])[:40] or "unknown"


class OrderEventsMixin(StrategyAttrs):
    """Order event handlers of ``HedgeGridStrategy`` (mixed in; uses its state)."""

    def on_order_filled(self, event: OrderFilled) -> None:
        try:
            self._handle_fill(event)
        except Exception as exc:  # noqa: BLE001 - handler boundary
            self._enter_degraded("on_order_filled", exc)

    def _handle_fill(self, event: OrderFilled) -> None:
        side = side_of_position_id(event.position_id)
        if side is None or event.instrument_id != self.instrument_id:
            return
        opening = (side is Side.LONG) == (event.order_side == OrderSide.BUY)
        delta = self.book.apply_fill(
            event.client_order_id.value,
            event.trade_id.value,
            side,
            opening,
            event.last_px.as_decimal(),
            event.last_qty.as_decimal(),
            event.commission.as_decimal(),
        )
        if delta is None:
            log.debug("fill.replayed", client_order_id=event.client_order_id.value)
            return
        meta = self.book.meta.get(event.client_order_id.value)
        self.book.forget_if_closed(event.client_order_id, self.cache)
        if meta is not None and meta.kind in (TP, SL):
            self.closer.on_exit_filled(side, event.last_qty.as_decimal())
        # No per-fill log line: fills are in Nautilus' own event records and in the
        # snapshot counters; a structlog call costs ~50 us even when filtered out.
        if opening or self.builder is None or not self.builder.pairs_exits:
            # An entry grew the side: protect it now. (After an exit fill with OUO pairs the
            # venue shrinks/cancels the twin itself; its cancel event triggers the re-plan.)
            self._sync("fill", entries=False)
        elif meta is None:
            self._sync("fill", entries=False)
        if self.closer.is_closing(side):
            self.closer.pump(side)

    def on_order_rejected(self, event: OrderRejected) -> None:
        try:
            self._handle_refusal(event.client_order_id, str(event.reason), denied=False)
        except Exception as exc:  # noqa: BLE001 - handler boundary
            self._enter_degraded("on_order_rejected", exc)

    def on_order_denied(self, event: OrderDenied) -> None:
        try:
            self._handle_refusal(event.client_order_id, str(event.reason), denied=True)
        except Exception as exc:  # noqa: BLE001 - handler boundary
            self._enter_degraded("on_order_denied", exc)

    def _handle_refusal(self, client_order_id: ClientOrderId, reason: str, *, denied: bool) -> None:
        key = client_order_id.value
        meta = self.book.meta.get(key)
        if not self.book.record_reject(key, reason_key(reason)):
            return  # replayed
        if denied:
            self.book.denied += 1
        self.book.forget_if_closed(client_order_id, self.cache)
        if meta is None:
            return
        now = self.clock.timestamp_ns()
        log.info(
            "order.refused",
            kind=meta.kind,
            side=meta.side.value,
            level=meta.level,
            reason=reason_key(reason),
            denied=denied,
        )
        if meta.kind == ENTRY and self.risk is not None:
            event = self.risk.record_rejection(f"{meta.side.value}:{meta.level}", now)
            if event is BreakerEvent.TRIPPED:
                log.warning("risk.breaker_tripped", trips=self.risk.trips)
                self._alert("circuit_breaker", {"trips": str(self.risk.trips)})
                self._sync("breaker")
            self._schedule_retry(now)
        elif meta.kind == SL and any(s in reason for s in _STOP_CROSSED):
            order = self.cache.order(client_order_id)
            qty = order.quantity.as_decimal() if order is not None else Decimal(0)
            long, short = self.confirmed_positions()
            held = (long if meta.side is Side.LONG else short).qty
            qty = min(qty, held)
            if qty > 0:
                log.warning("exit.stop_crossed", side=meta.side.value, qty=str(qty))
                self.closer.request(meta.side, qty, GAP_REASON)
        elif meta.kind == FLATTEN:
            self.closer.on_close_refused(meta.side, reason_key(reason))
        elif meta.kind in (TP, SL):
            # Re-place on the retry timer (or the next bar), never at once: an immediate
            # re-sync after a refusal loops submit -> refuse -> submit at the throttler's
            # rate for as long as the venue keeps refusing (a rate-limit ban on Binance).
            self._schedule_retry(now)

    def _schedule_retry(self, now_ns: int) -> None:
        if RETRY_TIMER in self.clock.timer_names:
            return
        self.clock.set_time_alert_ns(RETRY_TIMER, now_ns + RETRY_DELAY_NS, self._on_retry_timer)

    def _on_retry_timer(self, event: TimeEvent) -> None:
        try:
            self._poll_breaker()
            self._sync("retry")
        except Exception as exc:  # noqa: BLE001 - handler boundary
            self._enter_degraded("retry_timer", exc)

    def on_order_canceled(self, event: OrderCanceled) -> None:
        try:
            meta = self.book.meta.get(event.client_order_id.value)
            self.book.forget_if_closed(event.client_order_id, self.cache)
            if meta is not None and meta.kind in (TP, SL):
                self._sync("exit_cancelled", entries=False)
            if meta is not None and self.closer.is_closing(meta.side):
                self.closer.pump(meta.side)
        except Exception as exc:  # noqa: BLE001 - handler boundary
            self._enter_degraded("on_order_canceled", exc)

    def on_order_expired(self, event: OrderExpired) -> None:
        try:
            self.book.forget_if_closed(event.client_order_id, self.cache)
        except Exception as exc:  # noqa: BLE001 - handler boundary
            self._enter_degraded("on_order_expired", exc)

    def on_order_updated(self, event: OrderUpdated) -> None:
        try:
            self.book.refresh(event.client_order_id, self.cache)
        except Exception as exc:  # noqa: BLE001 - handler boundary
            self._enter_degraded("on_order_updated", exc)

    def on_order_cancel_rejected(self, event: OrderCancelRejected) -> None:
        try:
            self.book.cancel_refused(event.client_order_id, self.cache)
            log.info("order.cancel_refused", client_order_id=event.client_order_id.value)
        except Exception as exc:  # noqa: BLE001 - handler boundary
            self._enter_degraded("on_order_cancel_rejected", exc)
