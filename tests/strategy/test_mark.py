"""Risk readings move with the streamed mark (or quote mid), not with bar closes."""

from __future__ import annotations

from decimal import Decimal

from nautilus_trader.adapters.binance.futures.types import BinanceFuturesMarkPriceUpdate
from nautilus_trader.model.data import QuoteTick
from nautilus_trader.model.objects import Price, Quantity

from hedgegridd.strategy.mark import MarkTracker
from tests.strategy.harness import Harness, at, build


def _mark(st: object, price: str, now: int) -> BinanceFuturesMarkPriceUpdate:
    return BinanceFuturesMarkPriceUpdate(
        instrument_id=st.instrument_id,  # type: ignore[attr-defined]
        mark=Price.from_str(price),
        index=Price.from_str(price),
        estimated_settle=Price.from_str(price),
        funding_rate=Decimal("0.0001"),
        next_funding_ns=now + 3_600_000_000_000,
        ts_event=now,
        ts_init=now,
    )


def _held(h: Harness) -> None:
    """Advance until the strategy holds a position on some side."""
    for minute in range(30, 1400, 30):
        h.session.advance(at(h, minute))
        snap = h.strategy.snapshot()
        if snap.long.quantity > 0 or snap.short.quantity > 0:
            return
    raise AssertionError("no position was ever held")


def test_mark_update_revalues_equity_notional_and_pnl_between_bars(
    disposer: list[Harness],
) -> None:
    """A mark 10 % away moves notional, unrealized PnL and equity with no bar in between."""
    h = build(config={"funding_source": "binance_mark_price"})
    disposer.append(h)
    _held(h)
    st = h.strategy
    assert st.book.fills > 0  # activity first: the position comes from real fills
    before = st.snapshot()
    now = st.clock.timestamp_ns()
    mark = (before.last_price or Decimal(0)) * Decimal("0.9")
    st.on_data(_mark(st, f"{mark:.1f}", now))
    after = st.snapshot()
    assert after.last_bar_ns == before.last_bar_ns  # no bar: the mark alone moved the book
    assert after.mark_price == Decimal(f"{mark:.1f}")
    assert after.mark_ns == now
    qty = after.long.quantity + after.short.quantity
    assert after.long.notional + after.short.notional == (qty * after.mark_price).quantize(
        Decimal("1e-8")
    )
    assert after.unrealized_pnl != before.unrealized_pnl
    assert after.equity is not None
    assert before.equity is not None
    assert after.equity != before.equity
    assert st.errors == 0


def test_quote_mid_values_the_book_in_paper(disposer: list[Harness]) -> None:
    """Without a mark stream (paper) every quote tick revalues the book at its mid."""
    h = build()
    disposer.append(h)
    _held(h)
    st = h.strategy
    now = st.clock.timestamp_ns()
    tick = QuoteTick(
        st.instrument_id,
        Price.from_str("40000.0"),
        Price.from_str("40002.0"),
        Quantity.from_str("1.000"),
        Quantity.from_str("1.000"),
        now,
        now,
    )
    st.on_quote_tick(tick)
    snap = st.snapshot()
    assert snap.mark_price == Decimal("40001.0")
    assert snap.mark_ns == now
    assert snap.long.notional == (snap.long.quantity * Decimal("40001")).quantize(Decimal("1e-8"))


def test_bar_close_values_the_book_only_when_no_mark_streams() -> None:
    """A bar close is taken before any mark, ignored right after one, taken once marks stop."""
    seen: list[Decimal] = []
    t = MarkTracker(bar_fallback_after_ns=5_000)
    t.add_observer(lambda price, ns: seen.append(price))
    assert t.observe_bar(Decimal(100), 1_000)
    assert t.price == Decimal(100)
    assert t.observe_stream(Decimal(90), 2_000)
    assert not t.observe_bar(Decimal(101), 3_000)  # the mark is fresher than a bar close
    assert t.price == Decimal(90)
    assert t.observe_bar(Decimal(102), 8_000)  # mark silent for > 5 us: the bar counts
    assert t.price == Decimal(102)
    assert t.received_ns == 8_000
    assert seen == [Decimal(100), Decimal(90), Decimal(102)]
    assert not t.observe_stream(Decimal(0), 9_000)  # nonsense prices are refused
    assert t.observe_stream(Decimal(95), 10_000)
    assert not t.observe_stream(Decimal(95), 11_000)  # same price: only its age refreshes
    assert t.received_ns == 11_000
    assert seen[-1] == Decimal(95)
    assert len(seen) == 4  # observers only hear changes
