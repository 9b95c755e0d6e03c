"""Restart adoption: orders found at start are re-tracked by client id, never duplicated."""

from __future__ import annotations

from decimal import Decimal

import pytest
import structlog
from nautilus_trader.model.enums import OrderSide
from nautilus_trader.model.objects import Price, Quantity

from hedgegridd.core.order_ids import BINANCE_CLIENT_ID
from hedgegridd.core.types import ZERO, ExitKind, PlaceExit, Side
from hedgegridd.strategy import startup
from hedgegridd.strategy.book import Book
from hedgegridd.strategy.orders import SL, TP, meta_from_client_id, meta_from_tags
from tests.strategy.harness import Harness, at, build


def _resting(h: Harness, side: Side, kind: str) -> Decimal:
    """Open quantity of the strategy's ``kind`` exits on ``side`` in the engine's cache."""
    total = ZERO
    for order in h.session.engine.cache.orders_open(instrument_id=h.strategy.instrument_id):
        meta = meta_from_client_id(order.client_order_id)
        if meta is not None and meta.side is side and meta.kind == kind:
            total += order.leaves_qty.as_decimal()
    return total


def _until_exits(h: Harness, last_minute: int) -> int:
    """Advance minute by minute until a LONG position with resting exits exists."""
    for minute in range(30, last_minute):
        h.session.advance(at(h, minute))
        long, _ = h.strategy.confirmed_positions()
        if long.qty > 0 and _resting(h, Side.LONG, SL) > 0:
            return minute
    raise AssertionError("no LONG position with exits in the run")


def test_every_client_order_id_names_kind_side_and_level(disposer: list[Harness]) -> None:
    """Every order's id decodes to the same kind/side/level as its tags and suits Binance."""
    h = build(minutes=600)
    disposer.append(h)
    h.session.advance(at(h, 600))
    assert len(h.orders()) > 0
    assert len(h.fills()) > 0
    kinds = set()
    for order in h.orders():
        coid = order.client_order_id.value
        assert BINANCE_CLIENT_ID.match(coid), coid
        meta = meta_from_client_id(order.client_order_id)
        assert meta is not None, coid
        assert meta == meta_from_tags(order.tags), coid
        kinds.add(meta.kind)
    assert {"entry", TP, SL} <= kinds


def test_restart_adoption_reads_ids_cancels_unknown_and_trims_excess_exits(
    disposer: list[Harness], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Untagged, position-less orders are re-adopted from their ids; foreign ones cancelled;
    an adopted SL beyond the position is cancelled by the exit planner."""
    h = build(minutes=900)
    disposer.append(h)
    minute = _until_exits(h, 880)
    assert len(h.fills()) > 0
    s = h.strategy
    assert s.builder is not None
    long, _ = s.confirmed_positions()
    # An order that is not ours (legacy / another client's id) and an extra SL of ours
    # the book does not track (what a crash between submit and bookkeeping leaves).
    foreign = s.order_factory.limit(
        s.instrument_id, OrderSide.BUY, Quantity.from_str("0.003"), Price.from_str("1000.0")
    )
    s.submit_order(foreign, position_id=s.long_pid)
    sl_price = long.avg_price * Decimal("0.9")  # type: ignore[operator]
    extra = s.builder.exit(
        PlaceExit(Side.LONG, ExitKind.SL, sl_price.quantize(Decimal("0.1")), long.qty)
    )
    s.submit_order(extra, position_id=s.long_pid)
    h.session.advance(at(h, minute + 1))  # accepted (latency)
    assert _resting(h, Side.LONG, SL) == 2 * long.qty
    before = dict(s.book.open_ids)

    # Restart: what the adapter reconciles has no tags; the strategy's book is empty.
    cache = h.session.engine.cache
    monkeypatch.setattr(startup, "meta_from_tags", lambda tags: None)
    s.book = Book()
    capture = structlog.testing.LogCapture()
    structlog.reset_defaults()  # no level filter left behind by an earlier test
    structlog.configure(processors=[capture])
    try:
        s._adopt_existing()
    finally:
        structlog.reset_defaults()
    events = {e["event"]: e for e in capture.entries}
    assert events["strategy.unknown_order_cancelled"]["client_order_id"] == (
        foreign.client_order_id.value
    )
    assert events["strategy.adopted"]["unknown_cancelled"] == 1
    adopted = dict(s.book.open_ids)
    assert {k: v for k, v in adopted.items() if k in before} == before
    assert extra.client_order_id.value in adopted

    h.session.advance(at(h, minute + 3))
    assert cache.order(foreign.client_order_id).is_closed
    long, _ = s.confirmed_positions()
    assert _resting(h, Side.LONG, SL) == long.qty
    assert _resting(h, Side.LONG, TP) == long.qty
