"""Closing at market on the real strategy: gaps through the stop, flattens that cannot overshoot."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from nautilus_trader.model.data import Bar
from nautilus_trader.model.objects import Price

from hedgegridd.core.types import Side
from hedgegridd.strategy.handle import FlattenSide
from tests.strategy.harness import Harness, ObservedStrategy, at, build, market

GAP_MINUTE = 400  # bar index (0-based) from which the whole path is 8 % lower


def _shifted(bars: list[Bar], start: int, factor: float, *, only: int | None = None) -> list[Bar]:
    """``bars`` with every price from index ``start`` on (or only that one) times ``factor``."""
    out = []
    for i, b in enumerate(bars):
        if i >= start and (only is None or i == only):
            prec = b.open.precision

            def px(p: Price, prec: int = prec) -> Price:
                return Price(p.as_double() * factor, prec)

            b = Bar(b.bar_type, px(b.open), px(b.high), px(b.low), px(b.close), b.volume,
                    b.ts_event, b.ts_init)  # fmt: skip
        out.append(b)
    return out


def _closes(h: Harness, side: Side, *, after_ns: int = 0) -> list[Any]:
    """Market closes (flatten / gap close) the strategy sent on ``side`` at or after a time."""
    return [
        o
        for o in h.orders()
        if o.tags and o.tags[0] == "flatten" and o.tags[1] == side.value and o.ts_init >= after_ns
    ]


def _refusals(h: Harness) -> int:
    return sum(h.strategy.book.rejects_by_reason.values())


def test_gap_through_the_stop_closes_the_uncovered_quantity_without_a_refusal_storm(
    disposer: list[Harness],
) -> None:
    """Price gaps 8 % through the LONG stops: one alert, closes, flat, bounded refusals."""
    _, bars, _ = market(600, 3)
    h = build(observer=True, minutes=600, bars=_shifted(bars, GAP_MINUTE, 0.92))
    disposer.append(h)
    st = h.strategy
    assert isinstance(st, ObservedStrategy)
    alerts: list[tuple[str, dict[str, str]]] = []
    st.set_sinks(alert=lambda kind, details: alerts.append((kind, details)))
    h.session.advance(at(h, GAP_MINUTE))
    assert len(h.fills()) > 0
    refused_before = _refusals(h)
    gap_ns = st.clock.timestamp_ns()
    held = Decimal(0)
    for minute in range(GAP_MINUTE + 1, GAP_MINUTE + 6):
        h.session.advance(at(h, minute))
        held = max(held, st.confirmed_positions()[0].qty)
    assert held > 0  # the grid bought into the gap
    closes = _closes(h, Side.LONG, after_ns=gap_ns)
    assert closes, "the uncovered quantity must be closed at market"
    assert all(o.is_closed and o.filled_qty == o.quantity for o in closes)
    long, _ = st.confirmed_positions()
    assert long.qty == 0
    assert not st.closer.is_closing(Side.LONG)
    gap_alerts = [a for a in alerts if a[0] == "gap_close"]
    assert len(gap_alerts) == 1
    assert gap_alerts[0][1]["side"] == "LONG"
    refusals = _refusals(h) - refused_before
    assert refusals <= 6  # only stops already in flight at the gap (was 10-20, then a trip)
    snap = st.snapshot()
    assert snap.circuit_breaker_trips == 0
    assert "circuit_breaker" not in snap.pause_reasons
    assert st.over == []  # exits + closes never exceeded the position
    assert st.flips == []
    assert st.under == []  # every bar: exits == position, or closing / awaiting a cancel ack


def _probe_long_with_exits(minutes: int, seed: int, latency_ms: int) -> int:
    """First minute at which a run of these bars holds LONG with resting TP and SL."""
    h = build(minutes=minutes, seed=seed, latency_ms=latency_ms)
    try:
        for minute in range(30, minutes):
            h.session.advance(at(h, minute))
            snap = h.strategy.snapshot()
            accepted_tp = sum(
                (
                    v.quantity
                    for v in h.strategy.open_orders()
                    if v.kind == "tp" and v.position_side == "LONG" and v.status == "ACCEPTED"
                ),
                Decimal(0),
            )
            if snap.long.quantity > 0 and accepted_tp == snap.long.quantity:
                return minute
    finally:
        h.session.dispose()
    raise AssertionError("no LONG position with exits in the run")


def test_two_flattens_in_a_row_close_exactly_the_position(disposer: list[Harness]) -> None:
    """A second flatten while the first is in flight sends nothing; the leg ends flat."""
    h = build(observer=True, minutes=900, seed=3)
    disposer.append(h)
    st = h.strategy
    assert isinstance(st, ObservedStrategy)
    h.session.advance(at(h, 700))
    assert len(h.fills()) > 0
    long, short = st.confirmed_positions()
    held = {s.value: q for s, q in ((Side.LONG, long.qty), (Side.SHORT, short.qty)) if q > 0}
    assert held
    first = st.flatten(FlattenSide.BOTH)
    second = st.flatten(FlattenSide.BOTH)
    assert dict(first.closing_orders) == held
    assert dict(second.closing_orders) == {}
    assert dict(second.already_closing) == held
    assert dict(second.sent_now) == {}
    started = st.clock.timestamp_ns()
    h.session.advance(at(h, 702))
    third = st.flatten(FlattenSide.BOTH)  # a kill switch retry after the book went flat
    assert dict(third.closing_orders) == {}
    assert st.is_flat(FlattenSide.BOTH)
    for side in (Side.LONG, Side.SHORT):
        total = sum(
            (o.quantity.as_decimal() for o in _closes(h, side, after_ns=started)), Decimal(0)
        )
        assert total == held.get(side.value, Decimal(0))
    assert st.flips == []
    assert st.over == []


def test_flatten_while_a_tp_fills_concurrently_never_flips_the_leg(
    disposer: list[Harness],
) -> None:
    """The TP fills while its cancel is in flight: the close takes only what is left."""
    latency_ms = 90_000  # longer than a bar: a cancel is in flight while the next bar fills
    minute = _probe_long_with_exits(900, 3, latency_ms)
    _, bars, _ = market(900, 3)
    spiked = _shifted(bars, minute, 1.03, only=minute)  # next bar crosses every LONG TP
    h = build(observer=True, minutes=900, seed=3, bars=spiked, latency_ms=latency_ms)
    disposer.append(h)
    st = h.strategy
    assert isinstance(st, ObservedStrategy)
    h.session.advance(at(h, minute))
    snap = st.snapshot()
    held = snap.long.quantity
    assert held > 0
    assert snap.long.tp_quantity == held
    flattened_at = st.clock.timestamp_ns()
    ticket = st.flatten(FlattenSide.LONG)
    assert ticket.closing_orders == {"LONG": held}
    assert ticket.sent_now == {}  # the resting TP/SL could still fill: wait for their cancel
    h.session.advance(at(h, minute + 4))
    tp_fills = [
        f
        for f in h.fills()
        if f.ts_event > flattened_at
        and f.client_order_id.value.startswith("HG-TL-")  # a LONG take-profit
    ]
    assert tp_fills, "the TP must have filled while its cancel was in flight"
    tp_filled = sum((f.last_qty.as_decimal() for f in tp_fills), Decimal(0))
    closed = sum(
        (o.filled_qty.as_decimal() for o in _closes(h, Side.LONG, after_ns=flattened_at)),
        Decimal(0),
    )
    assert tp_filled + closed == held
    assert st.is_flat(FlattenSide.LONG)
    assert st.flips == []
    # Only the leg under test: with a latency longer than a bar, the SHORT grid's exits
    # arrive after the fills they were sized for (a timing artefact of this venue model).
    assert [o for o in st.over if " LONG pos=" in o] == []


def test_stop_refused_as_crossed_cancels_the_blocking_tp_before_closing(
    disposer: list[Harness],
) -> None:
    """-2021 on a resting lot's SL: its TP is cancelled first, then one close of that lot."""
    from tests.strategy.harness import rejected

    minute = _probe_long_with_exits(900, 3, 50)
    h = build(observer=True, minutes=900, seed=3)
    disposer.append(h)
    st = h.strategy
    assert isinstance(st, ObservedStrategy)
    alerts: list[tuple[str, dict[str, str]]] = []
    st.set_sinks(alert=lambda kind, details: alerts.append((kind, details)))
    h.session.advance(at(h, minute))
    held = st.snapshot().long.quantity
    assert held > 0
    cache = h.session.engine.cache
    stops = [v for v in st.open_orders() if v.kind == "sl" and v.position_side == "LONG"]
    tps = {
        v.client_order_id for v in st.open_orders() if v.kind == "tp" and v.position_side == "LONG"
    }
    assert stops
    assert tps
    newest = stops[-1]
    # The venue says the stop would trigger at once (Binance -2021): that lot is unprotected.
    st.on_order_rejected(
        rejected(st, _coid(newest.client_order_id), "Order would immediately trigger. -2021")
    )
    refused_at = st.clock.timestamp_ns()
    assert [a[0] for a in alerts] == ["gap_close"]
    assert st.closer.is_closing(Side.LONG)
    cancelled = [t for t in tps if t in st.book.cancelling]
    assert cancelled  # the TP of that lot would block the close on Binance (-2022)
    assert _closes(h, Side.LONG, after_ns=refused_at) == []  # not before the cancel is confirmed
    h.session.advance(at(h, minute + 3))
    closes = _closes(h, Side.LONG, after_ns=refused_at)
    assert all(o.is_closed and o.filled_qty == o.quantity for o in closes)
    assert sum((o.quantity.as_decimal() for o in closes), Decimal(0)) == newest.quantity
    for tp_id in cancelled:
        tp = cache.order(_coid(tp_id))
        assert tp.is_closed
        assert all(o.ts_init >= tp.ts_last for o in closes)  # the close followed the cancel ack
    assert st.flips == []
    assert st.over == []
    assert not st.closer.is_closing(Side.LONG)


def _coid(client_id: str) -> Any:
    from nautilus_trader.model.identifiers import ClientOrderId

    return ClientOrderId(client_id)
