"""Replay of user-stream events that were lost, from what the venue says happened.

The venue watch looks up each order of ours the venue no longer lists open
(``VenueReader.order_fate``: final status, the regular order that carried the fills,
every fill with its trade id). ``replay_fates`` hands that to the exec client's own
``generate_order_*`` calls, exactly as the Binance adapter does for live stream events,
so the engine applies them as it would have applied the lost events:

1. A triggered conditional (algo) order first gets the venue order id of the regular
   order its trigger created, with ``venue_order_id_modified`` (what the lost
   ``ALGO_UPDATE`` TRIGGERED does in the adapter). Without it the engine refuses every
   fill of that order on a venue order id mismatch, a mass status' included. An order
   whose acceptance was lost too is accepted first (an untriggered algo order under its
   algo id, as the adapter's ALGO_UPDATE NEW does).
2. Fills of all orders in the venue's time order (then trade id), so the position passes
   through the states it really had. Each carries the venue's trade id (the stream's
   ``t``): one the order already has is skipped, and a late stream event of a replayed
   fill is dropped by the engine as a duplicate (same trade id, side, price, quantity).
3. A final cancel/expiry/rejection for orders the venue closed without filling fully.

Events are queued on the engine's event queue in that order (FIFO). An order whose
venue-reported executed quantity exceeds its listed fills is reported ``incomplete``
(the watch then falls back to Nautilus' mass status, which infers the rest).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import structlog
from nautilus_trader.core.datetime import millis_to_nanos
from nautilus_trader.model.enums import LiquiditySide, OrderStatus
from nautilus_trader.model.identifiers import ClientOrderId, PositionId, TradeId, VenueOrderId
from nautilus_trader.model.objects import Money

from hedgegridd.supervisor.venue_reader import OrderFate, VenueTrade

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Replayed:
    """What ``replay_fates`` queued for the engine."""

    fills: int = 0  # fills generated (trades the cache did not have)
    closed: int = 0  # terminal events (canceled/expired/rejected)
    relinked: int = 0  # orders moved to the venue order id that carried their fills
    incomplete: tuple[str, ...] = ()  # orders whose venue fills were not all listed
    first_fill_ms: int | None = None  # venue time of the oldest fill replayed

    @property
    def events(self) -> int:
        """Events queued in all."""
        return self.fills + self.closed + self.relinked


@dataclass(slots=True)
class _Open:
    """One cached open order being replayed."""

    fate: OrderFate
    order: Any
    ids: tuple[Any, Any, ClientOrderId]
    venue_id: Any
    filled: Decimal


def replay_fates(cache: Any, client: Any, fates: Sequence[OrderFate]) -> Replayed:
    """Queue the events the lost stream events would have been (see the module doc)."""
    now = client._clock.timestamp_ns()
    opened = [o for o in (_open(cache, f) for f in fates) if o is not None]
    relinked = sum(_relink(client, o, now) for o in opened)
    trades = sorted(
        ((t, o) for o in opened for t in o.fate.trades),
        key=lambda pair: (pair[0].time_ms, _trade_key(pair[0].trade_id)),
    )
    fills = 0
    first_ms: int | None = None
    for trade, o in trades:
        if _fill(cache, client, o, trade):
            fills += 1
            first_ms = trade.time_ms if first_ms is None else min(first_ms, trade.time_ms)
    closed = sum(_close(client, o, now) for o in opened)
    incomplete = tuple(o.fate.client_id for o in opened if o.filled < o.fate.executed)
    for o in opened:
        log.warning(
            "venue.order_replayed",
            order_id=o.fate.client_id,
            status=o.fate.status,
            venue_filled=str(o.fate.executed),
            filled=str(o.filled),
        )
    return Replayed(fills, closed, relinked, incomplete, first_ms)


def _trade_key(trade_id: str) -> tuple[int, str]:
    return (int(trade_id), "") if trade_id.isdigit() else (0, trade_id)


def _open(cache: Any, fate: OrderFate) -> _Open | None:
    cid = ClientOrderId(fate.client_id)
    order = cache.order(cid)
    if order is None or order.is_closed:
        return None
    ids = (order.strategy_id, order.instrument_id, cid)
    return _Open(fate, order, ids, order.venue_order_id, order.filled_qty.as_decimal())


def _relink(client: Any, o: _Open, now: int) -> int:
    """Accept (acceptance lost too) or move to the regular order id that carried the fills."""
    target = o.fate.venue_order_id
    if o.order.status == OrderStatus.SUBMITTED:
        target = target or o.fate.algo_id  # an algo order's id until it triggers
        if target is None:
            return 0
        new_id = VenueOrderId(target)
        client.generate_order_accepted(*o.ids, new_id, now)
    elif target is None or VenueOrderId(target) == o.venue_id:
        return 0
    else:
        new_id = VenueOrderId(target)
        if o.fate.algo:  # a cancel of a triggered algo order goes to the regular endpoint
            client._triggered_algo_order_ids.add(o.ids[2])
        order = o.order
        client.generate_order_updated(
            *o.ids,
            new_id,
            order.quantity,
            order.price if order.has_price else None,
            order.trigger_price if order.has_trigger_price else None,
            now,
            venue_order_id_modified=True,
        )
    o.venue_id = new_id
    return 1


def _fill(cache: Any, client: Any, o: _Open, trade: VenueTrade) -> int:
    order = o.order
    if TradeId(trade.trade_id) in order.trade_ids:
        return 0
    if o.filled + trade.qty > order.quantity.as_decimal():
        log.warning("venue.replay_overfill_skipped", order_id=o.fate.client_id)
        return 0
    instrument = cache.instrument(order.instrument_id)
    if instrument is None:
        raise LookupError(f"instrument {order.instrument_id} not in the cache")
    position_id = None
    if getattr(client, "use_position_ids", False) and trade.position_side:
        position_id = PositionId(f"{order.instrument_id}-{trade.position_side}")
    client.generate_order_filled(
        *o.ids,
        o.venue_id,
        position_id,
        TradeId(trade.trade_id),
        order.side,
        order.order_type,
        instrument.make_qty(trade.qty),
        instrument.make_price(trade.price),
        instrument.quote_currency,
        Money.from_str(f"{trade.commission} {trade.commission_asset}"),
        LiquiditySide.MAKER if trade.maker else LiquiditySide.TAKER,
        millis_to_nanos(trade.time_ms),
    )
    o.filled += trade.qty
    return 1


def _close(client: Any, o: _Open, now: int) -> int:
    """Terminal event for an order the venue closed short of a full fill."""
    fate = o.fate
    if fate.is_open or o.filled < fate.executed or o.filled >= o.order.quantity.as_decimal():
        return 0
    if fate.status == "EXPIRED":
        client.generate_order_expired(*o.ids, o.venue_id, now)
    elif fate.status == "REJECTED" and o.order.status == OrderStatus.SUBMITTED:
        client.generate_order_rejected(*o.ids, "REJECTED", now)
    elif fate.status in ("CANCELED", "REJECTED"):
        client.generate_order_canceled(*o.ids, o.venue_id, now)
    else:
        return 0
    return 1
