"""The strategy's fills from the node's message bus, for the ``Notifier``.

The execution engine publishes every ``OrderFilled`` on ``events.fills.<instrument>``
after the strategy's own handler has run (``events.order.<strategy>``). The handler
subscribed here only appends the event to the notifier's deque: translation to a
``FillNote`` happens later on the notifier's task (``translate``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.events import OrderFilled

from hedgegridd.core.order_ids import decode
from hedgegridd.ops.notify_model import FillNote
from hedgegridd.strategy.orders import side_of_position_id


def fill_note(event: OrderFilled) -> FillNote | None:
    """A hedge-side fill as a ``FillNote``; None for fills outside a hedge position."""
    side = side_of_position_id(event.position_id)
    if side is None:
        return None
    info = decode(event.client_order_id.value)
    return FillNote(
        ts_ns=event.ts_event,
        instrument=str(event.instrument_id),
        client_order_id=event.client_order_id.value,
        trade_id=event.trade_id.value,
        side=side.value,
        order_side="BUY" if event.order_side == OrderSide.BUY else "SELL",
        kind=info.kind.value if info is not None else "other",
        price=event.last_px.as_decimal(),
        quantity=event.last_qty.as_decimal(),
        commission=event.commission.as_decimal(),
    )


class MessageBusFills:
    """``FillSource`` over a Nautilus strategy's message bus (its instrument, its orders)."""

    def __init__(self, strategy: Any) -> None:
        self._msgbus = strategy.msgbus
        self._topic = f"events.fills.{strategy.instrument_id}"
        self._strategy_id = strategy.id

    @classmethod
    def of(cls, strategy: object) -> MessageBusFills | None:
        """The source for ``strategy``; None when it has no message bus (a test fake)."""
        if getattr(strategy, "msgbus", None) is None or not hasattr(strategy, "instrument_id"):
            return None
        return cls(strategy)

    def start(self, push: Callable[[object], None]) -> Callable[[], None]:
        """Subscribe ``push`` to the fills topic; returns the unsubscribe call."""
        self._msgbus.subscribe(self._topic, push)

        def stop() -> None:
            self._msgbus.unsubscribe(self._topic, push)

        return stop

    def translate(self, raw: object) -> FillNote | None:
        """The strategy's own fills only."""
        if not isinstance(raw, OrderFilled) or raw.strategy_id != self._strategy_id:
            return None
        return fill_note(raw)
