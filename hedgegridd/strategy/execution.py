"""Sending the core's intents: cancels, exits (TP/SL paired OUO), gated entries.

The only place orders are submitted. ``submit_order`` is overridden so that an
order without a hedge position id is an ``AssertionError`` (a bug), whatever
path produced it.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import structlog
from nautilus_trader.model.identifiers import ClientOrderId, PositionId
from nautilus_trader.model.orders import Order

from hedgegridd.core.closing import Exposure, ReduceKind, admit, exposure_of
from hedgegridd.core.engine import Decision
from hedgegridd.core.exits import StopBreached
from hedgegridd.core.types import ZERO, ExitKind, PlaceEntry, PlaceExit, Side
from hedgegridd.strategy.closer import GAP_REASON
from hedgegridd.strategy.orders import ENTRY, FLATTEN, SL, TP, OrderMeta, side_of_position_id
from hedgegridd.strategy.state import StrategyAttrs

log = structlog.get_logger(__name__)


class ExecutionMixin(StrategyAttrs):
    """Order sending for ``HedgeGridStrategy`` (mixed in; uses its state)."""

    def submit_order(
        self,
        order: Order,
        position_id: PositionId | None = None,
        client_id: Any = None,
        params: Any = None,
    ) -> None:
        """Submit with a hedge position id, or fail loudly: an order without one is a bug."""
        side = side_of_position_id(position_id)
        if side is None or position_id is None:
            raise AssertionError(
                f"order {order.client_order_id} submitted without a hedge position id"
            )
        if not position_id.value.startswith(str(order.instrument_id)):
            raise AssertionError(f"position id {position_id} is not for {order.instrument_id}")
        super().submit_order(order, position_id=position_id)  # type: ignore[misc]

    def _send(self, order: Order, meta: OrderMeta) -> None:
        self.book.track(order, meta)
        pid = self.long_pid if meta.side is Side.LONG else self.short_pid
        self.submit_order(order, position_id=pid)

    def _cancel_id(self, order_id: str) -> bool:
        order = self.cache.order(ClientOrderId(order_id))
        if order is None or order.is_closed or order_id in self.book.cancelling:
            return False
        self.cancel_order(order)
        self.book.cancel_sent(order)
        return True

    def _execute(self, decision: Decision, now_ns: int, source: str) -> None:
        cancelled = sum(1 for c in decision.entries.cancels if self._cancel_id(c.order_id))
        exit_cancels = sum(1 for c in decision.exits.cancels if self._cancel_id(c.order_id))
        exits = self._place_exits(decision.exits.places, decision.exits.stop_breached)
        placed = self._place_entries(decision.entries.places, now_ns)
        if cancelled or exit_cancels or exits or placed:
            log.info(
                "grid.synced",
                source=source,
                entries_placed=placed,
                entries_cancelled=cancelled,
                exits_placed=exits,
                exits_cancelled=exit_cancels,
                center=str(decision.center),
                recentered=decision.recentered,
            )

    def _exposure(self, side: Side) -> Exposure:
        """Confirmed position of ``side`` and the open quantity of our reducing orders on it."""
        long, short = self.confirmed_positions()
        position = (long if side is Side.LONG else short).qty
        _, exits = self.book.views()
        return exposure_of(position, side, exits, self.book.closing_qty(side))

    def _admit(self, side: Side, kind: ReduceKind, qty: Decimal) -> Decimal:
        """The reduce gate (one enforcement point): how much of ``qty`` may be sent.

        Every TP, SL and market close passes here, so the open TP total plus closes and
        the open SL total plus closes never exceed the confirmed position of the side:
        no interleaving of fills can change the sign of a hedge leg
        (``hedgegridd.core.closing``, property-tested).
        """
        assert self.rules is not None
        allowed = admit(self._exposure(side), kind, qty, self.rules)
        if allowed < qty:
            # Routine while an exit's cancel is in flight (it still counts until confirmed);
            # the planner re-plans on the cancel event. Info, not a warning.
            log.info(
                "order.reduce_gated",
                side=side.value,
                kind=kind.value,
                qty=str(qty),
                allowed=str(allowed),
            )
        return allowed

    def _send_close(self, side: Side, qty: Decimal) -> Decimal:
        """A reduce-only market close of up to ``qty`` of ``side`` (what the gate admits)."""
        builder = self.builder
        assert builder is not None
        allowed = self._admit(side, ReduceKind.CLOSE, qty)
        if allowed > 0:
            self._send(builder.flatten(side, allowed), OrderMeta(FLATTEN, side))
        return allowed

    def _place_exits(
        self, places: Sequence[PlaceExit], breached: Sequence[StopBreached] = ()
    ) -> int:
        builder = self.builder
        assert builder is not None
        sent = 0
        gone: set[Side] = set()
        for side in (Side.LONG, Side.SHORT):
            qty = sum((b.qty for b in breached if b.side is side), ZERO)
            if qty > 0:
                # The stop is already through the market: it has fired. Close the quantity
                # it would have protected at market instead (one incident per side).
                b = next(b for b in breached if b.side is side)
                log.warning(
                    "exit.stop_breached", side=side.value, stop=str(b.stop_price), mid=str(b.mid)
                )
                gone.add(side)
                self.closer.request(side, qty, GAP_REASON)
        places = [p for p in places if p.side not in gone]
        for side in (Side.LONG, Side.SHORT):
            tps = [p for p in places if p.side is side and p.kind is ExitKind.TP]
            sls = [p for p in places if p.side is side and p.kind is ExitKind.SL]
            while tps and sls and tps[0].qty == sls[0].qty:
                tp, sl = tps.pop(0), sls.pop(0)
                tp_ok = self._admit(side, ReduceKind.TP, tp.qty) == tp.qty
                sl_ok = self._admit(side, ReduceKind.SL, sl.qty) == sl.qty
                if tp_ok and sl_ok:
                    tp_order, sl_order = builder.exit_pair(tp, sl)
                    self._send(tp_order, OrderMeta(TP, side))
                    self._send(sl_order, OrderMeta(SL, side))
                    sent += 2
                elif tp_ok or sl_ok:  # the other waits for a cancel in flight (gated)
                    single = tp if tp_ok else sl
                    self._send(builder.exit(single), OrderMeta(TP if tp_ok else SL, side))
                    sent += 1
            for p in (*tps, *sls):
                kind = ReduceKind.TP if p.kind is ExitKind.TP else ReduceKind.SL
                if self._admit(side, kind, p.qty) != p.qty:
                    continue
                self._send(builder.exit(p), OrderMeta(TP if kind is ReduceKind.TP else SL, side))
                sent += 1
        return sent

    def _place_entries(self, places: Sequence[PlaceEntry], now_ns: int) -> int:
        if not places:
            return 0
        builder, risk = self.builder, self.risk
        assert builder is not None
        assert risk is not None
        live, _ = self.book.views()
        long, short = self.confirmed_positions()
        existing = {Side.LONG: long.qty, Side.SHORT: short.qty}
        pending = {Side.LONG: ZERO, Side.SHORT: ZERO}
        for e in live:
            if not e.pending_cancel:
                pending[e.side] += e.qty
        sent = 0
        for p in places:
            side = p.rung.side
            verdict = risk.check_entry_order(
                existing_qty=existing[side],
                pending_qty=pending[side],
                new_qty=p.rung.qty,
                now_ns=now_ns,
            )
            if not verdict.allowed:
                for reason in verdict.reasons:
                    self.gate_denials[reason.value] = self.gate_denials.get(reason.value, 0) + 1
                log.debug(
                    "risk.entry_denied", key=p.key, reasons=[r.value for r in verdict.reasons]
                )
                continue
            self._send(builder.entry(p.rung), OrderMeta(ENTRY, side, p.rung.level))
            pending[side] += p.rung.qty
            sent += 1
        return sent

    def _cancel_kind(self, *, entries: bool, exits: bool, side: Side | None = None) -> int:
        """Cancel our open entries and/or exits (optionally of one side); returns count."""
        count = 0
        for key, meta in list(self.book.open_ids.items()):
            if side is not None and meta.side is not side:
                continue
            is_entry = meta.kind == ENTRY
            is_exit = meta.kind in (TP, SL)
            if (entries and is_entry) or (exits and is_exit):
                count += self._cancel_id(key)
        return count
