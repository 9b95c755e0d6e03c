"""Restart adoption: orders found at start without our tags are classified, never duplicated."""

from __future__ import annotations

from nautilus_trader.model.enums import OrderSide, TriggerType
from nautilus_trader.model.objects import Price, Quantity

from hedgegridd.core.types import Side
from hedgegridd.strategy.orders import ENTRY, SL, TP, meta_from_order, meta_from_tags
from tests.strategy.harness import Harness, at, build


def test_untagged_orders_found_at_start_are_classified_by_side_and_type(
    disposer: list[Harness],
) -> None:
    """Closing limit = TP, closing stop = SL, opening limit = entry level 0 (cancelled by diff)."""
    h = build(minutes=60)
    disposer.append(h)
    h.session.advance(at(h, 30))
    assert len(h.orders()) > 0
    f = h.strategy.order_factory
    iid = h.strategy.instrument_id
    qty, px = Quantity.from_str("0.003"), Price.from_str("50000.0")
    sell_limit = f.limit(iid, OrderSide.SELL, qty, px)
    sell_stop = f.stop_market(iid, OrderSide.SELL, qty, px, trigger_type=TriggerType.LAST_PRICE)
    buy_limit = f.limit(iid, OrderSide.BUY, qty, px)
    assert meta_from_order(sell_limit, Side.LONG).kind == TP  # type: ignore[union-attr]
    assert meta_from_order(sell_stop, Side.LONG).kind == SL  # type: ignore[union-attr]
    entry = meta_from_order(buy_limit, Side.LONG)
    assert entry is not None
    assert (entry.kind, entry.level) == (ENTRY, 0)
    assert meta_from_order(buy_limit, Side.SHORT).kind == TP  # type: ignore[union-attr]
    assert meta_from_order(buy_limit, None) is None
    assert meta_from_tags(["entry", "SHORT:4"]) is not None
    assert meta_from_tags(["entry", "bogus"]) is None
