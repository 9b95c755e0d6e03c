"""Intent -> Nautilus order translation, and the one submit path that enforces hedge ids.

Every order goes out through ``OrderRouter.submit`` with the position id of its
hedge side (``<instrument>-LONG`` / ``<instrument>-SHORT``); an order without one
raises ``AssertionError`` (a bug, never a silent INITIALIZED order, which is what
the Binance adapter does in hedge mode when the id is missing).

Why exits can never open or flip a position:

1. They are always closing-side (SELL on LONG, BUY on SHORT) on the side's own
   position id, so they can only act on that side.
2. The exits planner sizes them so the resting TP total and the resting SL total
   of a side each never exceed the confirmed position.
3. They carry ``reduce_only=True``: the Nautilus RiskEngine denies, at submit, any
   reduce-only order larger than the position it targets (or when flat). The venue
   runs with ``use_reduce_only=False`` on purpose (with True, Nautilus resizes every
   resting reduce-only order to the whole position after each fill, which would
   multiply our per-lot exits), and on Binance hedge mode closing orders are
   capped by the exchange itself.
4. A TP and an SL placed together are linked one-updates-other (OUO): when one
   fills (partly), the venue shrinks or cancels the other in the same matching
   step, so a bar whose range crosses both cannot fill both (configurable with
   ``exit_contingency``; Binance ignores the link and relies on 2 and 3).
   Links do not survive a restart (the adapter reconciles orders without them);
   then 2 alone holds: after a fill the planner cancels whatever exit quantity now
   exceeds the position (newest first), whichever lot it was placed for.

Client order ids (``hedgegridd.core.order_ids``): ``HG-<kind><side><level>-<ms>-<seq>``
from the engine clock and a counter, so a restart re-adopts every resting order by
its id alone (reconciled orders carry no tags and no position id).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from nautilus_trader.common.component import Clock
from nautilus_trader.common.factories import OrderFactory
from nautilus_trader.core.uuid import UUID4
from nautilus_trader.model.enums import (
    ContingencyType,
    OrderSide,
    TimeInForce,
    TriggerType,
)
from nautilus_trader.model.identifiers import ClientOrderId, InstrumentId, PositionId
from nautilus_trader.model.instruments import Instrument
from nautilus_trader.model.objects import Price, Quantity
from nautilus_trader.model.orders import LimitOrder, MarketOrder, Order, StopMarketOrder

from hedgegridd.core.order_ids import OrderIdGenerator, OrderKind, decode
from hedgegridd.core.types import ExitKind, PlaceExit, Rung, Side

ENTRY = OrderKind.ENTRY.value
TP = OrderKind.TP.value
SL = OrderKind.SL.value
FLATTEN = OrderKind.FLATTEN.value


@dataclass(frozen=True, slots=True)
class OrderMeta:
    """What the strategy knows about one of its orders (kept in an index by client id)."""

    kind: str  # ENTRY | TP | SL | FLATTEN
    side: Side
    level: int | None = None


def position_id_for(instrument_id: InstrumentId, side: Side) -> PositionId:
    """The hedge position id of ``side``: ``<instrument>-LONG`` / ``<instrument>-SHORT``."""
    return PositionId(f"{instrument_id}-{side.value}")


def side_of_position_id(position_id: PositionId | None) -> Side | None:
    """LONG/SHORT from a hedge position id (None when it is not one of ours)."""
    if position_id is None:
        return None
    text = position_id.value
    if text.endswith("-LONG"):
        return Side.LONG
    if text.endswith("-SHORT"):
        return Side.SHORT
    return None


def _order_side(side_text: str) -> OrderSide:
    return OrderSide.BUY if side_text == "BUY" else OrderSide.SELL


class OrderBuilder:
    """Builds Nautilus orders from core intents (prices/quantities via the instrument)."""

    def __init__(
        self, factory: OrderFactory, clock: Clock, instrument: Instrument, *, pair_exits: bool
    ) -> None:
        self._factory = factory
        self._clock = clock
        self._instrument = instrument
        self._iid = instrument.id
        self._pair_exits = pair_exits
        self._price_prec = instrument.price_precision
        self._size_prec = instrument.size_precision
        self._ids = OrderIdGenerator()

    def client_order_id(self, kind: str, side: Side, level: int | None = None) -> ClientOrderId:
        """A deterministic id that names kind, side and level (``hedgegridd.core.order_ids``)."""
        return ClientOrderId(
            self._ids.next_id(OrderKind(kind), side, level, self._clock.timestamp_ns())
        )

    @property
    def pairs_exits(self) -> bool:
        """True when TP/SL placed together are linked OUO."""
        return self._pair_exits

    def price(self, value: Decimal) -> Price:
        """A Price at the instrument's precision (value already on tick)."""
        return Price(value, self._price_prec)

    def qty(self, value: Decimal) -> Quantity:
        """A Quantity at the instrument's precision (value already on step)."""
        return Quantity(value, self._size_prec)

    def entry(self, rung: Rung) -> LimitOrder:
        """Post-only GTC limit that opens/grows ``rung.side``."""
        order: LimitOrder = self._factory.limit(
            self._iid,
            _order_side(rung.side.entry_order_side),
            self.qty(rung.qty),
            self.price(rung.price),
            time_in_force=TimeInForce.GTC,
            post_only=True,
            tags=[ENTRY, f"{rung.side.value}:{rung.level}"],
            client_order_id=self.client_order_id(ENTRY, rung.side, rung.level),
        )
        return order

    def exit(
        self,
        intent: PlaceExit,
        *,
        client_order_id: ClientOrderId | None = None,
        linked: ClientOrderId | None = None,
    ) -> Order:
        """Reduce-only TP (GTC limit) or SL (stop-market on last price), optionally OUO-linked."""
        side = _order_side(intent.side.exit_order_side)
        kind = TP if intent.kind is ExitKind.TP else SL
        coid = client_order_id or self.client_order_id(kind, intent.side)
        contingency = ContingencyType.OUO if linked is not None else ContingencyType.NO_CONTINGENCY
        links = [linked] if linked is not None else None
        tags = [kind, intent.side.value]
        ts = self._clock.timestamp_ns()
        if intent.kind is ExitKind.TP:
            return LimitOrder(
                trader_id=self._factory.trader_id,
                strategy_id=self._factory.strategy_id,
                instrument_id=self._iid,
                client_order_id=coid,
                order_side=side,
                quantity=self.qty(intent.qty),
                price=self.price(intent.price),
                init_id=UUID4(),
                ts_init=ts,
                time_in_force=TimeInForce.GTC,
                post_only=False,
                reduce_only=True,
                contingency_type=contingency,
                linked_order_ids=links,
                tags=tags,
            )
        return StopMarketOrder(
            trader_id=self._factory.trader_id,
            strategy_id=self._factory.strategy_id,
            instrument_id=self._iid,
            client_order_id=coid,
            order_side=side,
            quantity=self.qty(intent.qty),
            trigger_price=self.price(intent.price),
            trigger_type=TriggerType.LAST_PRICE,
            init_id=UUID4(),
            ts_init=ts,
            time_in_force=TimeInForce.GTC,
            reduce_only=True,
            contingency_type=contingency,
            linked_order_ids=links,
            tags=tags,
        )

    def exit_pair(self, tp: PlaceExit, sl: PlaceExit) -> tuple[Order, Order]:
        """TP and SL of equal quantity, linked OUO when pairing is enabled."""
        if not self._pair_exits:
            return self.exit(tp), self.exit(sl)
        tp_id = self.client_order_id(TP, tp.side)
        sl_id = self.client_order_id(SL, sl.side)
        return (
            self.exit(tp, client_order_id=tp_id, linked=sl_id),
            self.exit(sl, client_order_id=sl_id, linked=tp_id),
        )

    def flatten(self, side: Side, qty: Decimal) -> MarketOrder:
        """Reduce-only market order closing ``qty`` of ``side``."""
        order: MarketOrder = self._factory.market(
            self._iid,
            _order_side(side.exit_order_side),
            self.qty(qty),
            time_in_force=TimeInForce.GTC,
            reduce_only=True,
            tags=[FLATTEN, side.value],
            client_order_id=self.client_order_id(FLATTEN, side),
        )
        return order


def meta_from_client_id(client_order_id: ClientOrderId) -> OrderMeta | None:
    """Rebuild ``OrderMeta`` from one of our client order ids (None when not ours).

    This is what survives a restart: the Binance adapter reconciles resting orders
    with ``position_id=None`` and no tags, but with the id we sent.
    """
    info = decode(client_order_id.value)
    if info is None:
        return None
    return OrderMeta(info.kind.value, info.side, info.level)


def meta_from_tags(tags: list[str] | None) -> OrderMeta | None:
    """Rebuild ``OrderMeta`` from the tags ``OrderBuilder`` puts on every order."""
    if not tags:
        return None
    kind = tags[0]
    try:
        if kind == ENTRY and len(tags) > 1:
            side_text, level = tags[1].split(":")
            return OrderMeta(ENTRY, Side(side_text), int(level))
        if kind in (TP, SL, FLATTEN) and len(tags) > 1:
            return OrderMeta(kind, Side(tags[1]))
    except ValueError:
        return None
    return None
