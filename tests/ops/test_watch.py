"""Snapshot-derived alerts: degraded, circuit breaker and large loss, edge-triggered."""

from __future__ import annotations

import dataclasses
from decimal import Decimal
from pathlib import Path

import pytest

from hedgegridd.ops.alert_model import AlertKey
from hedgegridd.ops.config import KillSwitchConfig
from hedgegridd.ops.killswitch import KillSwitch
from hedgegridd.ops.killswitch_rules import Readings
from hedgegridd.ops.watch import SnapshotAlerts
from hedgegridd.strategy.handle import TradingState
from hedgegridd.supervisor.state import AsyncStateStore
from tests.ops.fake_strategy import AlertRecorder, FakeBook

D = Decimal


def readings(loss: Decimal | None) -> Readings:
    return Readings(D(0), D(0), D(0), loss, D(0), D(0), 1.0)


def test_degraded_and_circuit_breaker_alert_once_per_transition() -> None:
    """Entering DEGRADED and each new breaker trip alert once; a steady state is quiet."""
    sink = AlertRecorder()
    watch = SnapshotAlerts(sink)
    snap = FakeBook().snapshot()
    watch.observe(snap, readings(D(0)))
    assert sink.alerts == []
    degraded = dataclasses.replace(snap, state=TradingState.DEGRADED, circuit_breaker_trips=1)
    watch.observe(degraded, readings(D(0)))
    watch.observe(degraded, readings(D(0)))
    assert sink.keys == [AlertKey.DEGRADED, AlertKey.CIRCUIT_BREAKER]


def test_large_loss_alerts_on_crossing_and_rearms() -> None:
    """Session loss crossing the threshold alerts once; after recovering it can alert again."""
    sink = AlertRecorder()
    watch = SnapshotAlerts(sink, large_loss=D(500))
    snap = FakeBook().snapshot()
    for loss in (D(100), D(600), D(700), D(100), D(800), None):
        watch.observe(snap, readings(loss))
    assert sink.keys == [AlertKey.LARGE_LOSS, AlertKey.LARGE_LOSS]


@pytest.mark.asyncio
async def test_kill_switch_feeds_the_watcher_each_check(tmp_path: Path) -> None:
    """The kill switch hands every snapshot to on_check, so a loss alert needs no extra task."""
    store = await AsyncStateStore.open(tmp_path / "s.db")
    try:
        sink = AlertRecorder()
        book = FakeBook(long_qty=D(1), short_qty=D(0))
        watch = SnapshotAlerts(sink, large_loss=D(200))
        ks = KillSwitch(KillSwitchConfig(), strategy=book, store=store, on_check=watch.observe)
        await ks.restore()
        await ks.check_once()
        book.mark = D(49700)  # -300 on 1 BTC
        await ks.check_once()
    finally:
        await store.aclose()
    assert sink.keys == [AlertKey.LARGE_LOSS]


def test_transitions_off_leaves_only_large_loss() -> None:
    """With transitions=False (strategy reports them itself) only large loss is alerted."""
    sink = AlertRecorder()
    watch = SnapshotAlerts(sink, large_loss=D(10), transitions=False)
    snap = FakeBook().snapshot()
    watch.observe(snap, readings(D(0)))
    degraded = dataclasses.replace(snap, state=TradingState.DEGRADED, circuit_breaker_trips=4)
    watch.observe(degraded, readings(D(50)))
    assert sink.keys == [AlertKey.LARGE_LOSS]
