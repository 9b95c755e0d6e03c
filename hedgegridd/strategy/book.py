"""The strategy's bookkeeping: its own orders, fills seen, realized PnL, counters.

Everything here is idempotent by construction: a fill is applied once per
(client order id, trade id), a rejection once per client order id, so an event
delivered twice changes nothing. Realized PnL uses an average-cost book per
hedge side (Decimal) minus every commission, the same convention as the
engine's positions, so the two agree (a test checks it).

The views the core needs (``LiveEntry``/``RestingExit`` tuples) are maintained
incrementally per event and re-tupled only when something changed (``version``),
so on quiet bars the core's identity fast path applies and no view ever scans
the cache.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass
from decimal import Decimal

from nautilus_trader.cache.cache import Cache
from nautilus_trader.model.identifiers import ClientOrderId
from nautilus_trader.model.orders import Order

from hedgegridd.core.types import ZERO, ExitKind, LiveEntry, RestingExit, Side
from hedgegridd.strategy.orders import ENTRY, FLATTEN, SL, TP, OrderMeta

_SEEN_LIMIT = 50_000


@dataclass(slots=True)
class SideBook:
    """Average-cost inventory of one hedge side as the strategy booked it."""

    qty: Decimal = ZERO
    avg: Decimal = ZERO


class BoundedSeen:
    """A set remembering the last ``limit`` keys (bounded memory for long runs)."""

    def __init__(self, limit: int = _SEEN_LIMIT) -> None:
        self._order: deque[object] = deque()
        self._keys: set[object] = set()
        self._limit = limit

    def add(self, key: object) -> bool:
        """Remember ``key``; False when it was already seen."""
        if key in self._keys:
            return False
        self._keys.add(key)
        self._order.append(key)
        if len(self._order) > self._limit:
            self._keys.discard(self._order.popleft())
        return True


class Book:
    """Orders the strategy owns (by client order id) and the PnL of its fills."""

    def __init__(self, realized_pnl: Decimal = ZERO) -> None:
        self.meta: dict[str, OrderMeta] = {}
        self.open_ids: dict[str, OrderMeta] = {}  # insertion order = placement order
        self.sides = {Side.LONG: SideBook(), Side.SHORT: SideBook()}
        self.realized_pnl = realized_pnl
        self.fees = ZERO
        self.fills = 0
        self.rejects_by_reason: Counter[str] = Counter()
        self.denied = 0
        self.version = 0
        self.cancelling: set[str] = set()  # cancels we sent that have not resolved yet
        self._seen_fills = BoundedSeen()
        self._seen_rejects = BoundedSeen()
        # Incremental views, kept in placement order and updated per event (never a scan
        # of the cache): the cost of a view does not grow with the number of open orders.
        self._entry_views: dict[str, LiveEntry] = {}
        self._exit_views: dict[str, RestingExit] = {}
        self._close_views: dict[str, tuple[Side, Decimal]] = {}  # market closes: leaves qty
        self._views_version = -1
        self._entries: tuple[LiveEntry, ...] = ()
        self._exits: tuple[RestingExit, ...] = ()

    # -- orders ---------------------------------------------------------------
    def track(self, order: Order, meta: OrderMeta) -> None:
        """Remember a just-submitted (or adopted) order as ours and open."""
        key = order.client_order_id.value
        self.meta[key] = meta
        self.open_ids[key] = meta
        self._refresh_view(key, order)
        self.version += 1

    def _refresh_view(self, key: str, order: Order) -> None:
        meta = self.open_ids.get(key)
        if meta is None:
            return
        pending = key in self.cancelling
        if meta.kind == ENTRY:
            self._entry_views[key] = LiveEntry(
                order_id=key,
                side=meta.side,
                level=meta.level or 0,
                price=order.price.as_decimal(),
                qty=order.quantity.as_decimal(),
                pending_cancel=pending,
            )
        elif meta.kind == FLATTEN:
            self._close_views[key] = (meta.side, order.leaves_qty.as_decimal())
        elif meta.kind in (TP, SL):
            price = order.price if meta.kind == TP else order.trigger_price
            self._exit_views[key] = RestingExit(
                order_id=key,
                side=meta.side,
                kind=ExitKind.TP if meta.kind == TP else ExitKind.SL,
                price=price.as_decimal(),
                qty=order.leaves_qty.as_decimal(),
                pending_cancel=pending,
            )

    def _drop(self, key: str) -> None:
        if self.open_ids.pop(key, None) is not None:
            self.meta.pop(key, None)
        self.cancelling.discard(key)
        self._entry_views.pop(key, None)
        self._exit_views.pop(key, None)
        self._close_views.pop(key, None)

    def refresh(self, client_order_id: ClientOrderId, cache: Cache) -> None:
        """An order of ours changed (fill, update, close): refresh or drop its view."""
        key = client_order_id.value
        if key not in self.open_ids:
            return
        order = cache.order(client_order_id)
        if order is None or order.is_closed:
            self._drop(key)
        else:
            self._refresh_view(key, order)
        self.version += 1

    forget_if_closed = refresh

    def cancel_sent(self, order: Order) -> None:
        """A cancel is in flight: the order no longer counts (even if an ack re-opens it)."""
        self.cancelling.add(order.client_order_id.value)
        self._refresh_view(order.client_order_id.value, order)
        self.version += 1

    def cancel_refused(self, client_order_id: ClientOrderId, cache: Cache) -> None:
        """The venue refused our cancel: the order counts again."""
        self.cancelling.discard(client_order_id.value)
        self.refresh(client_order_id, cache)

    def views(self) -> tuple[tuple[LiveEntry, ...], tuple[RestingExit, ...]]:
        """Live entries and resting exits (oldest first); same tuples until an event."""
        if self._views_version != self.version:
            self._entries = tuple(self._entry_views.values())
            self._exits = tuple(self._exit_views.values())
            self._views_version = self.version
        return self._entries, self._exits

    def closing_qty(self, side: Side) -> Decimal:
        """Open (unfilled) quantity of our market closes on ``side``, submitted or accepted."""
        return sum((q for s, q in self._close_views.values() if s is side), ZERO)

    # -- fills ----------------------------------------------------------------
    def apply_fill(
        self,
        client_order_id: str,
        trade_id: str,
        side: Side,
        opening: bool,
        price: Decimal,
        qty: Decimal,
        commission: Decimal,
    ) -> Decimal | None:
        """Book a fill once; returns the realized PnL delta (None for a replayed fill)."""
        if not self._seen_fills.add((client_order_id, trade_id)):
            return None
        self.fills += 1
        self.fees += commission
        book = self.sides[side]
        delta = -commission
        if opening:
            total = book.qty + qty
            book.avg = (book.avg * book.qty + price * qty) / total
            book.qty = total
        else:
            closed = min(qty, book.qty)
            sign = 1 if side is Side.LONG else -1
            delta += (price - book.avg) * closed * sign
            book.qty -= closed
            if book.qty == 0:
                book.avg = ZERO
        self.realized_pnl += delta
        self.version += 1
        return delta

    def seed_side(self, side: Side, qty: Decimal, avg: Decimal) -> None:
        """Adopt a position found at start (restart): its cost basis becomes the book's."""
        self.sides[side] = SideBook(qty=qty, avg=avg if qty > 0 else ZERO)

    # -- rejections -----------------------------------------------------------
    def record_reject(self, client_order_id: str, reason: str) -> bool:
        """Count a rejection/denial once per order; False when already counted."""
        if not self._seen_rejects.add(client_order_id):
            return False
        self.rejects_by_reason[reason] += 1
        self.version += 1
        return True
