"""Pause means no new exposure: entries withdrawn (or frozen: keep_orders); exits always stay."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from hedgegridd.core.types import Side
from hedgegridd.strategy.book import Book
from hedgegridd.strategy.orders import meta_from_client_id
from hedgegridd.strategy.strategy import HedgeGridStrategy
from hedgegridd.strategy.warmup import WarmupData
from tests.strategy.harness import Harness, at, build, params, rejected


def _open_ids(h: Harness, kind: str) -> set[str]:
    """Client ids of the strategy's open ``kind`` orders (entry/tp/sl), cancels in flight out."""
    out = set()
    for order in h.session.engine.cache.orders_open(instrument_id=h.strategy.instrument_id):
        meta = meta_from_client_id(order.client_order_id)
        key = order.client_order_id.value
        if meta is not None and meta.kind == kind and key not in h.strategy.book.cancelling:
            out.add(key)
    return out


def _exits(h: Harness) -> set[str]:
    return _open_ids(h, "tp") | _open_ids(h, "sl")


def _running_with_entries_and_exits(h: Harness) -> int:
    """Advance until entries and exits both rest; returns the minute."""
    for minute in range(200, 880):
        h.session.advance(at(h, minute))
        if _open_ids(h, "entry") and _exits(h):
            return minute
    raise AssertionError("no moment with resting entries and exits")


def _cancelled_kinds(st: HedgeGridStrategy, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record the kind of every order the strategy cancels from now on."""
    kinds: list[str] = []
    original = st.cancel_order

    def spy(order: Any, *args: Any, **kwargs: Any) -> None:
        meta = meta_from_client_id(order.client_order_id)
        kinds.append(meta.kind if meta is not None else "?")
        original(order, *args, **kwargs)

    monkeypatch.setattr(st, "cancel_order", spy)
    return kinds


def test_pause_withdraws_entries_keep_orders_freezes_them_and_exits_stay(
    disposer: list[Harness],
) -> None:
    """pause cancels every resting entry; pause --keep-orders leaves them; exits stay in both."""
    h = build(minutes=900, seed=3)
    disposer.append(h)
    st = h.strategy
    minute = _running_with_entries_and_exits(h)
    assert len(h.fills()) > 0
    entries, exits = _open_ids(h, "entry"), _exits(h)

    st.pause("operator", keep_orders=True)
    h.session.advance(at(h, minute + 1))
    assert _open_ids(h, "entry") >= entries - {o for o in entries if _filled(h, o)}
    assert _open_ids(h, "entry")  # frozen: still resting
    st.resume("operator")
    h.session.advance(at(h, minute + 5))
    entries, exits = _open_ids(h, "entry"), _exits(h)
    assert entries
    assert exits

    st.pause("operator")
    assert "operator" in st.snapshot().pause_reasons
    h.session.advance(at(h, minute + 6))
    assert _open_ids(h, "entry") == set()  # withdrawn
    assert exits <= _exits(h) | {o for o in exits if _closed_by_fill(h, o)}
    h.session.advance(at(h, minute + 60))
    assert _open_ids(h, "entry") == set()  # and none placed while paused


def _filled(h: Harness, client_id: str) -> bool:
    order = h.session.engine.cache.order(_coid(client_id))
    return order is not None and order.filled_qty.as_decimal() > 0


def _closed_by_fill(h: Harness, client_id: str) -> bool:
    """An exit that is gone because it (or its OUO twin) traded, not because we cancelled it."""
    order = h.session.engine.cache.order(_coid(client_id))
    if order is None:
        return False
    if order.filled_qty.as_decimal() > 0:
        return True
    twins = [h.session.engine.cache.order(t) for t in order.linked_order_ids or ()]
    return any(t is not None and t.filled_qty.as_decimal() > 0 for t in twins)


def _coid(client_id: str) -> Any:
    from nautilus_trader.model.identifiers import ClientOrderId

    return ClientOrderId(client_id)


def _trip_breaker(h: Harness) -> None:
    st = h.strategy
    for order_id in sorted(_open_ids(h, "entry"))[:3]:
        order = h.session.engine.cache.order(_coid(order_id))
        st.on_order_rejected(rejected(st, order.client_order_id, "POST_ONLY would take"))
    assert st.snapshot().circuit_breaker_trips == 1


def _halt(h: Harness) -> None:
    h.strategy.halt("kill switch: drawdown")


def _degrade(h: Harness) -> None:
    h.strategy._enter_degraded("test", RuntimeError("boom"))


def _pause_keep(h: Harness) -> None:
    h.strategy.pause("operator", keep_orders=True)


PATHS: dict[str, tuple[Callable[[Harness], None], bool]] = {
    "breaker": (_trip_breaker, True),
    "halt": (_halt, True),
    "degraded": (_degrade, True),
    "pause": (lambda h: h.strategy.pause("operator"), True),
    "pause_keep_orders": (_pause_keep, False),
}


@pytest.mark.parametrize("path", sorted(PATHS))
def test_breaker_halt_degraded_and_pause_never_cancel_an_exit(
    path: str, disposer: list[Harness], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each path withdraws (or freezes) entries; not one exit is cancelled by it."""
    h = build(minutes=900, seed=3, strategy_params=params(risk={"max_rejections": 3}))
    disposer.append(h)
    st = h.strategy
    _running_with_entries_and_exits(h)
    assert len(h.fills()) > 0
    assert len(_open_ids(h, "entry")) >= 3
    exits = _exits(h)
    cancelled = _cancelled_kinds(st, monkeypatch)
    run, withdraws = PATHS[path]
    run(h)
    st._sync("bar")  # the next decision in this mode (no time passes, so no fill intervenes)
    assert "tp" not in cancelled
    assert "sl" not in cancelled
    assert _exits(h) == exits
    if withdraws:
        assert cancelled.count("entry") > 0
        assert _open_ids(h, "entry") == set()
    else:
        assert cancelled == []
        assert _open_ids(h, "entry")


def test_pause_restored_at_start_withdraws_adopted_entries(disposer: list[Harness]) -> None:
    """A persisted pause reason restored on restart cancels the entries found resting."""
    h = build(minutes=900, seed=3)
    disposer.append(h)
    st = h.strategy
    minute = _running_with_entries_and_exits(h)
    entries, exits = _open_ids(h, "entry"), _exits(h)
    assert entries
    # Restart: a fresh book, the persisted pause restored, resting orders adopted by id.
    st.book = Book()
    assert st.risk is not None
    st.risk.resume("operator")
    st._apply_warmup(WarmupData(pause_reasons=("flatten",)))
    st._adopt_existing()
    assert set(st.book.open_ids) >= entries
    h.session.advance(at(h, minute + 2))
    assert _open_ids(h, "entry") == set()
    assert exits <= _exits(h) | {o for o in exits if _closed_by_fill(h, o)}
    assert st.snapshot().state.value == "PAUSED"


def test_positions_cache_is_not_left_fresh_after_a_failed_build(
    disposer: list[Harness], monkeypatch: pytest.MonkeyPatch
) -> None:
    """If building the positions raises, the next call rebuilds instead of serving stale ones."""
    from hedgegridd.strategy import strategy as strategy_module

    h = build(minutes=900, seed=3)
    disposer.append(h)
    st = h.strategy
    for minute in range(100, 880):
        h.session.advance(at(h, minute))
        if any(p.qty > 0 for p in st.confirmed_positions()):
            break
    stale = st.confirmed_positions()
    assert any(p.qty > 0 for p in stale)
    st._positions_key = None  # as if the positions had just changed
    real = strategy_module._core_position

    def boom(side: Side, position: Any) -> Any:
        raise RuntimeError("cache read failed")

    monkeypatch.setattr(strategy_module, "_core_position", boom)
    with pytest.raises(RuntimeError):
        st.confirmed_positions()
    assert st._positions_key is None  # not marked fresh
    calls: list[Side] = []

    def counting(side: Side, position: Any) -> Any:
        calls.append(side)
        return real(side, position)

    monkeypatch.setattr(strategy_module, "_core_position", counting)
    assert st.confirmed_positions() == stale
    assert calls == [Side.LONG, Side.SHORT]  # rebuilt, not served from the cache


def test_a_burst_of_pause_resume_pairs_neither_trips_the_breaker_nor_churns_orders(
    disposer: list[Harness],
) -> None:
    """50 pause/resume pairs at once: no Nautilus rate-limit denial, no breaker trip, a
    bounded number of entry orders, and the grid trades again after the burst."""
    h = build(minutes=600)
    disposer.append(h)
    st = h.strategy
    minute = _running_with_entries_and_exits(h)
    assert _open_ids(h, "entry")
    before = len([o for o in h.orders() if _kind(o) == "entry"])
    levels = st.grid.params.ladder.levels_per_side if st.grid is not None else 0
    assert levels > 0
    for _ in range(50):
        st.pause("operator")
        st.resume("operator")
    submitted = len([o for o in h.orders() if _kind(o) == "entry"]) - before
    h.session.advance(at(h, minute + 5))
    after = len([o for o in h.orders() if _kind(o) == "entry"]) - before
    assert st.book.denied == 0
    assert st.risk is not None
    assert st.risk.trips == 0
    assert not st.risk.breaker_tripped
    assert submitted <= 2 * levels  # at most one placement round per side during the burst
    assert after <= 4 * levels  # and one coalesced re-sync (plus the bars' own syncs) after
    assert st.pause_reasons_now() == ()
    assert _open_ids(h, "entry")


def _kind(order: Any) -> str | None:
    meta = meta_from_client_id(order.client_order_id)
    return None if meta is None else meta.kind
