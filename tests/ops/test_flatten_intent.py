"""Crash-consistent flatten: the intent and its pause are persisted before closing orders."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import anyio
import pytest

from hedgegridd.ops.alert_model import AlertKey
from hedgegridd.ops.config import KillSwitchConfig
from hedgegridd.ops.killswitch import PAUSE_REASON_FLATTEN, KillSwitch
from hedgegridd.strategy.handle import FlattenSide, FlattenTicket
from hedgegridd.supervisor.state import AsyncStateStore
from tests.ops.fake_strategy import AlertRecorder, FakeBook
from tests.ops.helpers import until

pytestmark = pytest.mark.asyncio


def config() -> KillSwitchConfig:
    return KillSwitchConfig(
        check_interval_s=0.05, flatten_verify_timeout_s=0.1, flatten_poll_interval_s=0.01
    )


class OrderedStore:
    """AsyncStateStore wrapper recording when the intent was written."""

    def __init__(self, inner: AsyncStateStore, trace: list[str]) -> None:
        self._inner = inner
        self._trace = trace

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    async def set_flatten_intent(self, side: str, **kw: Any) -> Any:
        record = await self._inner.set_flatten_intent(side, **kw)
        self._trace.append(f"intent:{side}")
        return record

    async def fire_killswitch(self, reason: str, details: Any, at_ns: int, **kw: Any) -> Any:
        record = await self._inner.fire_killswitch(reason, details, at_ns, **kw)
        self._trace.append(f"latch+intent:{record.side}")
        return record


class TracingBook(FakeBook):
    def __init__(self, trace: list[str], **kw: Any) -> None:
        super().__init__(**kw)
        self._trace = trace

    def flatten(self, side: FlattenSide) -> FlattenTicket:
        self._trace.append(f"close:{side.value}")
        return super().flatten(side)


async def test_intent_is_persisted_before_closing_orders(tmp_path: Path) -> None:
    """Manual flatten and kill-switch fire both write the intent before the first close."""
    store = await AsyncStateStore.open(tmp_path / "s.db")
    try:
        trace: list[str] = []
        book = TracingBook(trace)
        book.auto_fill = True
        ks = KillSwitch(config(), strategy=book, store=OrderedStore(store, trace))  # type: ignore[arg-type]
        await ks.restore()
        outcome = await ks.flatten(FlattenSide.LONG, actor="uid=1")
        assert outcome.verified
        assert trace[:2] == ["intent:LONG", "close:LONG"]
        intent = await store.flatten_intent()
        assert intent is not None
        assert not intent.pending  # verified flat
        assert intent.pause_reason == PAUSE_REASON_FLATTEN  # the pause outlives the flatten
        trace.clear()
        await ks.fire("limit:drawdown")
        assert trace[:2] == ["latch+intent:BOTH", "close:BOTH"]
        assert await store.killswitch_latch() is not None
    finally:
        await store.aclose()


async def test_restart_finishes_a_pending_flatten_and_stays_paused(tmp_path: Path) -> None:
    """A flatten that never verified is finished by the next run; the pause lasts until resume."""
    db = tmp_path / "s.db"
    store = await AsyncStateStore.open(db)
    book = FakeBook()
    book.ignore_flattens = 99  # the venue loses every close: the flatten cannot finish
    first = KillSwitch(config(), strategy=book, store=store)
    await first.restore()
    outcome = await first.flatten(FlattenSide.BOTH, actor="uid=1")
    assert not outcome.verified
    await store.aclose()  # the process "dies" here

    store = await AsyncStateStore.open(db)
    try:
        intent = await store.flatten_intent()
        assert intent is not None
        assert intent.pending
        book2 = FakeBook()  # the positions are still open at the venue
        book2.auto_fill = True
        alerts = AlertRecorder()
        second = KillSwitch(config(), strategy=book2, store=store, alerts=alerts)
        await second.restore()
        assert PAUSE_REASON_FLATTEN in book2.pause_reasons  # paused before anything runs
        assert second.status().flatten_pending
        assert not await second.clear_flatten_pause(by="uid=1")  # refused while pending
        async with anyio.create_task_group() as tg:
            await tg.start(second.run)
            await until(lambda: second.last_flatten is not None)
            assert not second.status().flatten_pending  # recorded before last_flatten is set
            tg.cancel_scope.cancel()
        assert book2.flatten_calls == [FlattenSide.BOTH]
        assert book2.is_flat(FlattenSide.BOTH)
        assert second.last_flatten is not None
        assert second.last_flatten.actor == "restart:uid=1"
        assert AlertKey.FLATTEN_RESUMED in alerts.keys
        assert PAUSE_REASON_FLATTEN in book2.pause_reasons  # still paused after finishing
        remaining = await store.flatten_intent()
        assert remaining is not None
        assert not remaining.pending
        assert await second.clear_flatten_pause(by="uid=1")
        assert PAUSE_REASON_FLATTEN not in book2.pause_reasons
        assert "flatten" not in book2.pause_reasons
        assert await store.flatten_intent() is None
        kinds = [e.kind for e in await store.recent_journal(20)]
        assert {"flatten.intent", "flatten.resumed", "flatten.pause_cleared"} <= set(kinds)
    finally:
        await store.aclose()


async def test_killswitch_flatten_intent_is_dropped_once_flat(tmp_path: Path) -> None:
    """A fired flatten holds no pause of its own (the latch does): gone once verified."""
    store = await AsyncStateStore.open(tmp_path / "s.db")
    try:
        book = FakeBook()
        book.auto_fill = True
        ks = KillSwitch(config(), strategy=book, store=store)
        await ks.restore()
        assert (await ks.fire("limit:drawdown")).verified
        assert await store.flatten_intent() is None
        assert await store.killswitch_latch() is not None
    finally:
        await store.aclose()


async def test_reset_lifts_the_fired_flatten_pause_but_not_an_operator_flatten(
    tmp_path: Path,
) -> None:
    """After a fired flatten, reset resumes trading; an earlier operator flatten still pauses."""
    store = await AsyncStateStore.open(tmp_path / "s.db")
    try:
        book = FakeBook()
        book.auto_fill = True
        ks = KillSwitch(config(), strategy=book, store=store)
        await ks.restore()
        await ks.fire("limit:drawdown")
        assert "flatten" in book.pause_reasons
        assert await ks.reset(by="uid=1")
        assert book.pause_reasons == set()
        assert book.halted is None

        book.positions["LONG"].qty = book.positions["SHORT"].qty = Decimal("0.1")
        await ks.flatten(FlattenSide.BOTH, actor="uid=1")  # operator flatten: its pause stays
        await ks.fire("limit:drawdown")
        assert await ks.reset(by="uid=1")
        assert PAUSE_REASON_FLATTEN in book.pause_reasons
    finally:
        await store.aclose()
