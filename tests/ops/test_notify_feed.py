"""The notifier's fill feed: the node's message bus, the strategy's own fills only."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from nautilus_trader.common.component import MessageBus, TestClock
from nautilus_trader.core.uuid import UUID4
from nautilus_trader.model.enums import LiquiditySide, OrderSide, OrderType
from nautilus_trader.model.events import OrderFilled
from nautilus_trader.model.identifiers import (
    AccountId,
    ClientOrderId,
    InstrumentId,
    PositionId,
    StrategyId,
    TradeId,
    TraderId,
    VenueOrderId,
)
from nautilus_trader.model.objects import Currency, Money, Price, Quantity

from hedgegridd.ops.notify import Notifier
from hedgegridd.ops.notify_config import NotifyConfig
from hedgegridd.ops.notify_feed import MessageBusFills

INSTRUMENT = InstrumentId.from_str("BTCUSDT-PERP.BINANCE")
OURS = StrategyId("HedgeGridStrategy-001")


@dataclass
class StrategyLike:
    """What MessageBusFills reads from the Nautilus strategy."""

    msgbus: MessageBus
    instrument_id: InstrumentId
    id: StrategyId


def filled(n: int, strategy: StrategyId = OURS, side: str = "LONG") -> OrderFilled:
    """An OrderFilled as the execution engine publishes it (hedge position id set)."""
    usdt = Currency.from_str("USDT")
    return OrderFilled(
        TraderId("TRADER-001"),
        strategy,
        INSTRUMENT,
        ClientOrderId(f"HG-EL3-1764024090123-{n}"),
        VenueOrderId(str(n)),
        AccountId("BINANCE-001"),
        TradeId(f"T-{n}"),
        PositionId(f"BTCUSDT-PERP.BINANCE-{side}"),
        OrderSide.BUY,
        OrderType.LIMIT,
        Quantity.from_str("0.002"),
        Price.from_str("60000.0"),
        usdt,
        Money(Decimal("0.024"), usdt),
        LiquiditySide.MAKER,
        UUID4(),
        1_700_000_000_000_000_000 + n,
        1_700_000_000_000_000_000 + n,
    )


def test_fills_published_on_the_bus_reach_the_notifier_as_fill_notes() -> None:
    """A published fill is queued untouched, translated on tick; other strategies' are not."""
    bus = MessageBus(TraderId("TRADER-001"), TestClock())
    source = MessageBusFills(StrategyLike(bus, INSTRUMENT, OURS))
    sent: list[tuple[str, str]] = []

    class Sink:
        def notify(self, key, severity, title, text="", fields=None) -> None:  # type: ignore[no-untyped-def]
            sent.append((key, title))

    notifier = Notifier(NotifyConfig(enabled=True, fills="each"), Sink(), source=source)
    stop = source.start(notifier.push)
    notifier.start(0.0)
    topic = f"events.fills.{INSTRUMENT}"
    bus.publish(topic, filled(1))
    bus.publish(topic, filled(2, strategy=StrategyId("Other-002")))
    bus.publish(topic, filled(3, side="FLAT"))  # not a hedge position
    notifier.tick(1.0)
    assert notifier.fills_seen == 1
    assert sent == [("notify.fill", "fill: BUY 0.002 LONG @ 60000 (entry) fee 0.024")]
    stop()
    bus.publish(topic, filled(4))
    notifier.tick(2.0)
    assert notifier.fills_seen == 1


def test_of_returns_none_without_a_message_bus() -> None:
    """A strategy stand-in without a bus (test fakes) gets no feed, not an error."""
    assert MessageBusFills.of(object()) is None
