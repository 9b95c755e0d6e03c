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

from hedgegridd.core.engine import Decision
from hedgegridd.core.exits import StopBreached
from hedgegridd.core.types import ZERO, ExitKind, PlaceEntry, PlaceExit, Side
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

    def _place_exits(
        self, places: Sequence[PlaceExit], breached: Sequence[StopBreached] = ()
    ) -> int:
        builder = self.builder
        assert builder is not None
        sent = 0
        for b in breached:
            # The stop is already through the market: it has fired; close at market instead.
            if b.side not in self.flattening:
                log.warning(
                    "exit.stop_breached", side=b.side.value, stop=str(b.stop_price), mid=str(b.mid)
                )
                self.flattening.add(b.side)
                self._send_flatten(b.side, b.qty)
                sent += 1
        if breached:
            gone = {b.side for b in breached}
            places = [p for p in places if p.side not in gone]
        for side in (Side.LONG, Side.SHORT):
            tps = [p for p in places if p.side is side and p.kind is ExitKind.TP]
            sls = [p for p in places if p.side is side and p.kind is ExitKind.SL]
            while tps and sls and tps[0].qty == sls[0].qty:
                tp_order, sl_order = builder.exit_pair(tps.pop(0), sls.pop(0))
                self._send(tp_order, OrderMeta(TP, side))
                self._send(sl_order, OrderMeta(SL, side))
                sent += 2
            for p in (*tps, *sls):
                kind = TP if p.kind is ExitKind.TP else SL
                self._send(builder.exit(p), OrderMeta(kind, side))
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

    def _send_flatten(self, side: Side, qty: Decimal) -> Decimal:
        """Reduce-only market orders closing ``qty`` of ``side`` (split at max qty)."""
        builder, rules = self.builder, self.rules
        assert builder is not None
        assert rules is not None
        remaining = qty
        while remaining > 0:
            chunk = min(remaining, rules.max_qty)
            self._send(builder.flatten(side, chunk), OrderMeta(FLATTEN, side))
            remaining -= chunk
        return qty
