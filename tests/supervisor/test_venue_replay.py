"""Replay of lost user-stream events from the venue's answers, with a recording exec client."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from nautilus_trader.model.enums import OrderSide, OrderStatus, OrderType
from nautilus_trader.model.identifiers import ClientOrderId, StrategyId, TradeId, VenueOrderId
from nautilus_trader.model.objects import Price, Quantity
from nautilus_trader.test_kit.providers import TestInstrumentProvider

from hedgegridd.supervisor.venue_reader import OrderFate, VenueTrade
from hedgegridd.supervisor.venue_replay import replay_fates

D = Decimal
BTC = TestInstrumentProvider.btcusdt_perp_binance()
SL = "HG-SL-1700000000000-2"
ENTRY = "HG-EL3-1700000000000-3"
TP = "HG-TL-1700000000000-1"
STRATEGY = StrategyId("HedgeGridStrategy-001")


@dataclass
class Order:
    """The parts of a Nautilus order the replay reads."""

    key: str
    qty: str
    venue_order_id: VenueOrderId | None
    order_type: OrderType = OrderType.LIMIT
    side: OrderSide = OrderSide.SELL
    status: OrderStatus = OrderStatus.ACCEPTED
    filled: str = "0"
    trade_ids: list[TradeId] = field(default_factory=list)
    is_closed: bool = False
    strategy_id: StrategyId = STRATEGY
    instrument_id: Any = BTC.id

    @property
    def quantity(self) -> Quantity:
        return Quantity.from_str(self.qty)

    @property
    def filled_qty(self) -> Quantity:
        return Quantity.from_str(self.filled)

    @property
    def has_price(self) -> bool:
        return self.order_type is OrderType.LIMIT

    @property
    def price(self) -> Price:
        return Price.from_str("61000.0")

    @property
    def has_trigger_price(self) -> bool:
        return self.order_type is OrderType.STOP_MARKET

    @property
    def trigger_price(self) -> Price:
        return Price.from_str("57500.0")


class Cache:
    def __init__(self, *orders: Order) -> None:
        self.orders = {o.key: o for o in orders}

    def order(self, cid: ClientOrderId) -> Order | None:
        return self.orders.get(cid.value)

    def instrument(self, _id: Any) -> Any:
        return BTC


class Client:
    """Records the ``generate_order_*`` calls in order."""

    use_position_ids = True

    def __init__(self) -> None:
        self.calls: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = []
        self._triggered_algo_order_ids: set[ClientOrderId] = set()
        self._clock = type("C", (), {"timestamp_ns": lambda _s: 1})()

    def __getattr__(self, name: str) -> Any:
        if not name.startswith("generate_order_"):
            raise AttributeError(name)
        return lambda *a, **kw: self.calls.append((name[len("generate_order_") :], a, kw))

    def names(self) -> list[str]:
        return [c[0] for c in self.calls]


def trade(tid: str, qty: str, t_ms: int, px: str = "57000") -> VenueTrade:
    return VenueTrade(tid, D(px), D(qty), D("0.08"), "USDT", False, "LONG", t_ms)


def test_triggered_stop_is_relinked_then_filled_with_the_venue_trade_id() -> None:
    """The algo id in the cache moves to the triggered order's id before its fill."""
    algo = Order(SL, "0.003", VenueOrderId("3000000001"), OrderType.STOP_MARKET)
    client = Client()
    fate = OrderFate(SL, "FILLED", "8389765000000031", D("0.003"), (trade("5011", "0.003", 5),))
    done = replay_fates(Cache(algo), client, [_algo(fate)])
    assert client.names() == ["updated", "filled"]
    _, updated, kw = client.calls[0]
    assert updated[3] == VenueOrderId("8389765000000031")
    assert kw == {"venue_order_id_modified": True}
    _, filled, _ = client.calls[1]
    assert filled[3] == VenueOrderId("8389765000000031")
    assert filled[5] == TradeId("5011")
    assert str(filled[4]) == "BTCUSDT-PERP.BINANCE-LONG"
    assert ClientOrderId(SL) in client._triggered_algo_order_ids
    assert (done.fills, done.relinked, done.closed, done.incomplete) == (1, 1, 0, ())


def _algo(fate: OrderFate) -> OrderFate:
    return OrderFate(
        fate.client_id, fate.status, fate.venue_order_id, fate.executed, fate.trades, algo=True
    )


def test_fills_of_several_orders_replay_in_venue_time_order() -> None:
    """An entry filled before the stop triggered is replayed first, whatever the lookups'
    order, so the position passes through the states it really had."""
    stop = Order(SL, "0.003", VenueOrderId("3000000001"), OrderType.STOP_MARKET)
    entry = Order(ENTRY, "0.003", VenueOrderId("11"), side=OrderSide.BUY)
    stop_fate = _algo(OrderFate(SL, "FILLED", "31", D("0.003"), (trade("5012", "0.003", 9),)))
    entry_fate = OrderFate(ENTRY, "FILLED", "11", D("0.003"), (trade("5010", "0.003", 4),))
    client = Client()
    done = replay_fates(Cache(stop, entry), client, [stop_fate, entry_fate])
    fills = [c[1][5] for c in client.calls if c[0] == "filled"]
    assert fills == [TradeId("5010"), TradeId("5012")]
    assert done.first_fill_ms == 4
    assert client.names()[0] == "updated"  # relinks come before any fill


def test_known_trades_are_skipped_and_a_replay_is_idempotent() -> None:
    """A trade the order already has (heard live, or replayed before) is not applied again;
    a closed order is left alone."""
    entry = Order(ENTRY, "0.003", VenueOrderId("11"), side=OrderSide.BUY, filled="0.001")
    entry.trade_ids.append(TradeId("5010"))
    fate = OrderFate(
        ENTRY, "FILLED", "11", D("0.003"), (trade("5010", "0.001", 4), trade("5013", "0.002", 6))
    )
    client = Client()
    done = replay_fates(Cache(entry), client, [fate])
    assert [c[1][5] for c in client.calls] == [TradeId("5013")]
    assert done.fills == 1
    entry.is_closed = True
    again = Client()
    assert replay_fates(Cache(entry), again, [fate]).events == 0
    assert again.calls == []


def test_cancelled_and_expired_orders_are_closed_after_their_fills() -> None:
    """Partly filled then cancelled: the fill, then the cancel; an algo expired untriggered
    (no regular order): expired under its own id."""
    tp = Order(TP, "0.003", VenueOrderId("12"))
    stop = Order(SL, "0.003", VenueOrderId("3000000001"), OrderType.STOP_MARKET)
    tp_fate = OrderFate(TP, "CANCELED", "12", D("0.001"), (trade("5014", "0.001", 7),))
    stop_fate = OrderFate(SL, "EXPIRED", None, D(0), algo=True)
    client = Client()
    done = replay_fates(Cache(tp, stop), client, [tp_fate, stop_fate])
    assert client.names() == ["filled", "canceled", "expired"]
    assert client.calls[2][1][3] == VenueOrderId("3000000001")
    assert (done.fills, done.closed) == (1, 2)


def test_fills_the_venue_did_not_list_leave_the_order_incomplete_and_open() -> None:
    """Executed 0.003 but no trade listed: nothing invented, reported incomplete."""
    entry = Order(ENTRY, "0.003", VenueOrderId("11"), side=OrderSide.BUY)
    fate = OrderFate(ENTRY, "FILLED", "11", D("0.003"), ())
    client = Client()
    done = replay_fates(Cache(entry), client, [fate])
    assert client.calls == []
    assert done.incomplete == (ENTRY,)


def test_an_order_whose_acceptance_was_lost_is_accepted_before_its_close() -> None:
    """SUBMITTED here (accept lost), cancelled untriggered at the venue: accepted under its
    algo id, then cancelled."""
    stop = Order(SL, "0.003", None, OrderType.STOP_MARKET, status=OrderStatus.SUBMITTED)
    fate = OrderFate(SL, "CANCELED", None, D(0), algo=True, algo_id="3000000007")
    client = Client()
    done = replay_fates(Cache(stop), client, [fate])
    assert client.names() == ["accepted", "canceled"]
    assert client.calls[0][1][3] == VenueOrderId("3000000007")
    assert client.calls[1][1][3] == VenueOrderId("3000000007")
    assert (done.relinked, done.closed) == (1, 1)
