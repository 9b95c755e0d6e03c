"""KillSwitch task: fires on a held breach, latches in real SQLite, flattens and verifies."""

from __future__ import annotations

import threading
from decimal import Decimal
from pathlib import Path

import anyio
import pytest
import structlog

from hedgegridd.ops.alert_model import AlertKey
from hedgegridd.ops.killswitch import KillSwitch
from hedgegridd.strategy.handle import FlattenSide, TradingState
from hedgegridd.supervisor.state import AsyncStateStore
from tests.ops.conftest import killswitch_config as fast_config
from tests.ops.fake_strategy import AlertRecorder, FakeBook
from tests.ops.helpers import until

pytestmark = pytest.mark.asyncio
D = Decimal


async def test_fires_on_held_breach_and_flattens_verified(store: AsyncStateStore) -> None:
    """A held drawdown breach latches HALTED in SQLite, cancels, closes both sides, verifies."""
    book = FakeBook(balance=D(10000), long_qty=D(1), short_qty=D("0.5"))
    book.auto_fill = True
    alerts = AlertRecorder()
    ks = KillSwitch(fast_config(), strategy=book, store=store, alerts=alerts)
    await ks.restore()
    assert (await ks.check_once()) is not None  # peak equity = 10000
    book.mark = D(48000)  # long -2000, short +1000: equity 9000, 10% down
    first = await ks.check_once()
    assert first is not None
    assert not first.fire
    second = await ks.check_once()
    assert second is not None
    assert second.fire
    outcome = await ks.fire("limit:drawdown")
    assert book.flatten_calls == [FlattenSide.BOTH]
    assert book.cancel_calls >= 1
    assert outcome.verified
    assert outcome.attempts == 1
    assert book.is_flat(FlattenSide.BOTH)
    assert book.snapshot().state is TradingState.HALTED
    latch = await store.killswitch_latch()
    assert latch is not None
    assert latch.reason == "limit:drawdown"
    assert alerts.keys[:3] == [
        AlertKey.KILLSWITCH_FIRED,
        AlertKey.FLATTEN_SENT,
        AlertKey.FLATTEN_VERIFIED,
    ]
    kinds = [e.kind for e in await store.recent_journal(10)]
    assert kinds.count("killswitch.fired") == 1  # latch and journal in one write, once
    assert "flatten.verified" in kinds


async def test_run_loop_fires_after_a_price_jump(store: AsyncStateStore) -> None:
    """The running task notices a price jump within a few checks and sends closing orders."""
    book = FakeBook(balance=D(10000), long_qty=D(1), short_qty=D(0))
    book.auto_fill = True
    beats: list[int] = []
    ks = KillSwitch(fast_config(), strategy=book, store=store, heartbeat=lambda: beats.append(1))
    async with anyio.create_task_group() as tg:
        await tg.start(ks.run)
        await until(lambda: ks.checks_total >= 2)
        book.mark = D(45000)  # -5000 on 1 BTC: 50% drawdown
        await until(lambda: ks.last_flatten is not None)
        tg.cancel_scope.cancel()
    assert book.flatten_calls == [FlattenSide.BOTH]
    assert ks.latched
    assert ks.last_flatten is not None
    assert ks.last_flatten.verified
    assert beats
    assert book.snapshot_threads == {threading.get_ident()}  # read on the loop, no threads


async def test_not_flat_is_retried_then_verified(store: AsyncStateStore) -> None:
    """When the first closing attempt leaves a position, closing is retried until flat."""
    book = FakeBook()
    book.auto_fill = True
    book.ignore_flattens = 1
    alerts = AlertRecorder()
    ks = KillSwitch(
        fast_config(flatten_verify_timeout_s=0.2), strategy=book, store=store, alerts=alerts
    )
    outcome = await ks.fire("manual-test")
    assert outcome.verified
    assert outcome.attempts == 2
    assert len(book.flatten_calls) == 2


async def test_unverified_flatten_is_alerted(
    store: AsyncStateStore, log_events: structlog.testing.LogCapture
) -> None:
    """If the book never goes flat, every attempt is made and FLATTEN_UNVERIFIED is alerted."""
    book = FakeBook()
    book.ignore_flattens = 99
    alerts = AlertRecorder()
    ks = KillSwitch(
        fast_config(flatten_verify_timeout_s=0.1, flatten_attempts=3),
        strategy=book,
        store=store,
        alerts=alerts,
    )
    outcome = await ks.fire("test")
    assert len(book.flatten_calls) == 3
    assert not outcome.verified
    assert alerts.keys[-1] == AlertKey.FLATTEN_UNVERIFIED
    assert any(e["event"] == "flatten.flat_unverified" for e in log_events.entries)
    kinds = [e.kind for e in await store.recent_journal(10)]
    assert "flatten.unverified" in kinds


async def test_verification_polls_without_blocking_the_loop(store: AsyncStateStore) -> None:
    """Closing orders fill from another task while the kill switch waits: the loop stays free."""
    book = FakeBook()
    ks = KillSwitch(fast_config(), strategy=book, store=store)
    venue_ticks = 0

    async def venue() -> None:
        nonlocal venue_ticks
        while True:
            venue_ticks += 1
            if book.pending_close and venue_ticks > 5:
                book.fill_closing()
            await anyio.sleep(0.01)

    async with anyio.create_task_group() as tg:
        tg.start_soon(venue)
        outcome = await ks.fire("test")
        tg.cancel_scope.cancel()
    assert outcome.verified
    assert outcome.attempts == 1
    assert venue_ticks > 5


async def test_latch_survives_restart_and_only_reset_clears_it(tmp_path: Path) -> None:
    """After a restart the latch halts the strategy before trading; reset clears it on disk."""
    path = tmp_path / "state.db"
    store = await AsyncStateStore.open(path)
    book = FakeBook()
    book.auto_fill = True
    await KillSwitch(fast_config(), strategy=book, store=store).fire("limit:margin_ratio")
    await store.aclose()

    store = await AsyncStateStore.open(path)
    try:
        fresh = FakeBook()  # a new process: a new strategy, not halted yet
        ks = KillSwitch(fast_config(), strategy=fresh, store=store)
        async with anyio.create_task_group() as tg:
            await tg.start(ks.run)
            assert fresh.halted == "limit:margin_ratio"  # halted before started() returned
            assert ks.status().latched
            await anyio.sleep(0.2)
            assert fresh.flatten_calls == []  # a latched switch does not fire again
            assert await ks.reset(by="operator:test")
            tg.cancel_scope.cancel()
        assert fresh.halted is None
        assert await store.killswitch_latch() is None
        assert not await ks.reset(by="operator:test")
    finally:
        await store.aclose()


async def test_manual_flatten_pauses_and_uses_the_same_path(store: AsyncStateStore) -> None:
    """A control-socket flatten of one side pauses, closes it, verifies, and does not latch."""
    book = FakeBook()
    book.auto_fill = True
    alerts = AlertRecorder()
    ks = KillSwitch(fast_config(), strategy=book, store=store, alerts=alerts)
    outcome = await ks.flatten(FlattenSide.SHORT, actor="ctl:uid=1000")
    assert outcome.verified
    assert book.flatten_calls == [FlattenSide.SHORT]
    assert book.positions["SHORT"].qty == 0
    assert book.positions["LONG"].qty > 0
    assert "operator_flatten" in book.pause_reasons
    assert not ks.latched
    assert AlertKey.FLATTEN_VERIFIED in alerts.keys
    ticket = (await ks.flatten(FlattenSide.LONG, actor="ctl:uid=1000")).sent
    assert ticket.closing_orders == {"LONG": D("0.1")}


async def test_snapshot_failure_is_reported_and_checking_continues(
    store: AsyncStateStore, log_events: structlog.testing.LogCapture
) -> None:
    """A strategy read error is logged and alerted; the task keeps checking afterwards."""
    book = FakeBook()
    book.snapshot_error = RuntimeError("engine hiccup")
    alerts = AlertRecorder()
    ks = KillSwitch(fast_config(), strategy=book, store=store, alerts=alerts)
    async with anyio.create_task_group() as tg:
        await tg.start(ks.run)
        await until(
            lambda: any(e["event"] == "killswitch.snapshot_failed" for e in log_events.entries)
        )
        book.snapshot_error = None
        await until(lambda: ks.checks_total >= 2)
        tg.cancel_scope.cancel()
    assert AlertKey.READINGS_MISSING in alerts.keys
    assert book.flatten_calls == []


async def test_missing_and_stale_readings_are_reported(
    store: AsyncStateStore, log_events: structlog.testing.LogCapture
) -> None:
    """Unknown margin ratio and old bars are logged as unknown and alerted as stale data."""
    book = FakeBook()
    book.margin_ratio = None
    book.last_bar_ns = 0
    alerts = AlertRecorder()
    ks = KillSwitch(
        fast_config(max_reading_age_s=60),
        strategy=book,
        store=store,
        alerts=alerts,
        clock_ns=lambda: 3_600_000_000_000,
    )
    await ks.restore()
    result = await ks.check_once()
    assert result is not None
    unknown = {v.limit.value: v.status.value for v in result.unknown}
    assert unknown == {"drawdown": "stale", "margin_ratio": "missing"}
    event = next(e for e in log_events.entries if e["event"] == "killswitch.readings_unknown")
    assert "margin_ratio:missing" in event["readings"]
    assert AlertKey.DATA_STALE in alerts.keys
    assert AlertKey.READINGS_MISSING not in alerts.keys  # a short gap is only logged
    for _ in range(40):
        await ks.check_once()
    assert alerts.keys.count(AlertKey.READINGS_MISSING) == 1  # a lasting gap is alerted once


async def test_peak_equity_persists_across_restarts(tmp_path: Path) -> None:
    """The drawdown peak is persisted, so a restart after a 4% loss still fires at 5% total."""
    path = tmp_path / "state.db"
    store = await AsyncStateStore.open(path)
    book = FakeBook(balance=D(10000), long_qty=D(1), short_qty=D(0))
    ks = KillSwitch(fast_config(), strategy=book, store=store)
    await ks.restore()
    await ks.check_once()
    await store.aclose()

    store = await AsyncStateStore.open(path)
    try:
        book.mark = D(49400)  # -600: 6% below the persisted 10000 peak
        ks2 = KillSwitch(fast_config(), strategy=book, store=store)
        await ks2.restore()
        results = [await ks2.check_once() for _ in range(2)]
        assert results[-1] is not None
        assert results[-1].fire
    finally:
        await store.aclose()


async def test_unreachable_alert_channel_never_blocks_the_kill_switch(
    store: AsyncStateStore,
) -> None:
    """With Slack hanging forever, the kill switch still fires, flattens and verifies."""
    from pydantic import SecretStr

    from hedgegridd.ops.alert_channels import AlertSecrets
    from hedgegridd.ops.alerts import AlertManager
    from hedgegridd.ops.config import AlertsConfig

    async def black_hole(stream: anyio.abc.SocketStream) -> None:
        await anyio.sleep_forever()

    listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
    port = listener.extra(anyio.abc.SocketAttribute.local_port)
    manager = AlertManager(
        AlertsConfig.model_validate({"slack": {"min_severity": "info"}, "request_timeout_s": 120}),
        AlertSecrets(slack_webhook_url=SecretStr(f"http://127.0.0.1:{port}/hook")),
    )
    book = FakeBook()
    book.auto_fill = True
    ks = KillSwitch(fast_config(), strategy=book, store=store, alerts=manager)
    async with anyio.create_task_group() as tg:
        tg.start_soon(listener.serve, black_hole)
        await tg.start(manager.run)
        outcome = await ks.fire("limit:margin_ratio")
        tg.cancel_scope.cancel()
    assert outcome.verified
    assert book.is_flat(FlattenSide.BOTH)
    assert manager.sent["slack"] == 0


async def test_disabled_switch_still_honours_a_persisted_latch(store: AsyncStateStore) -> None:
    """With enabled=false nothing is checked, but a latch on disk still halts the strategy."""
    await store.set_killswitch_latch("limit:drawdown", {}, 1)
    book = FakeBook()
    book.mark = D(1)  # a catastrophic loss that an enabled switch would act on
    ks = KillSwitch(fast_config(enabled=False), strategy=book, store=store)
    async with anyio.create_task_group() as tg:
        await tg.start(ks.run)
        await anyio.sleep(0.2)
        tg.cancel_scope.cancel()
    assert book.halted == "limit:drawdown"
    assert ks.checks_total == 0
    assert book.flatten_calls == []


async def test_breach_during_a_manual_flatten_still_fires_for_both_sides(
    store: AsyncStateStore,
) -> None:
    """During a manual LONG flatten checks continue; a breach latches and closes both sides."""
    book = FakeBook(balance=D(10000), long_qty=D("0.1"), short_qty=D(1))
    ks = KillSwitch(fast_config(flatten_verify_timeout_s=3.0), strategy=book, store=store)
    async with anyio.create_task_group() as tg:
        await tg.start(ks.run)
        await until(lambda: ks.checks_total >= 1)
        tg.start_soon(lambda: ks.flatten(FlattenSide.LONG, actor="ctl"))
        await until(lambda: book.flatten_calls == [FlattenSide.LONG])
        book.mark = D(60000)  # short 1 BTC from 50000: -10000 (long +1000)
        await until(lambda: ks.latched)
        assert ks.last_flatten is None  # latched while the manual path is still waiting
        book.auto_fill = True
        book.fill_closing()
        await until(lambda: FlattenSide.BOTH in book.flatten_calls)
        await until(lambda: book.is_flat(FlattenSide.BOTH))
        tg.cancel_scope.cancel()
    assert book.halted is not None


async def test_reconfigure_changes_limits_at_runtime(store: AsyncStateStore) -> None:
    """A reload that tightens the drawdown limit makes the next checks fire."""
    book = FakeBook(balance=D(10000), long_qty=D(1), short_qty=D(0))
    book.auto_fill = True
    ks = KillSwitch(fast_config(max_drawdown_pct="50"), strategy=book, store=store)
    await ks.restore()
    await ks.check_once()
    book.mark = D(49000)  # 10% down
    results = [await ks.check_once() for _ in range(2)]
    assert not any(r is not None and r.fire for r in results)
    ks.reconfigure(fast_config(max_drawdown_pct="5"))
    results = [await ks.check_once() for _ in range(2)]
    assert results[-1] is not None
    assert results[-1].fire


async def test_unreadable_latch_fails_start_loudly(store: AsyncStateStore) -> None:
    """If the latch cannot be read, run() raises StateStoreError before reporting started."""
    from hedgegridd.errors import StateStoreError

    class BrokenStore:
        async def killswitch_latch(self) -> None:
            raise StateStoreError("state database is corrupt")

    started: list[bool] = []

    class Status:
        def started(self, value: object = None) -> None:
            started.append(True)

    ks = KillSwitch(fast_config(), strategy=FakeBook(), store=BrokenStore())  # type: ignore[arg-type]
    with pytest.raises(StateStoreError):
        await ks.run(task_status=Status())  # type: ignore[arg-type]
    assert started == []


async def test_confirm_interval_rechecks_a_breach_sooner(store: AsyncStateStore) -> None:
    """With confirm_interval_s, a first breach is re-checked early instead of a 30 s cadence."""
    book = FakeBook(balance=D(10000), long_qty=D(1), short_qty=D(0))
    book.auto_fill = True
    cfg = fast_config(check_interval_s=30, confirm_interval_s=0.02)
    ks = KillSwitch(cfg, strategy=book, store=store)
    await ks.restore()
    await ks.check_once()  # peak equity 10000
    book.mark = D(45000)  # 50% down: already breaching when the task starts
    async with anyio.create_task_group() as tg:
        await tg.start(ks.run)
        await until(lambda: ks.last_flatten is not None, deadline_s=10)
        tg.cancel_scope.cancel()
    assert ks.latched
    assert ks.checks_total == 3  # setup, first breach, the early confirmation


async def test_a_failing_store_does_not_stop_checking_or_firing(store: AsyncStateStore) -> None:
    """Baseline writes failing on a broken store are alerted; checks go on and still fire."""
    from hedgegridd.errors import StateStoreError

    class FailingWrites:
        def __init__(self, inner: AsyncStateStore) -> None:
            self.inner = inner

        def __getattr__(self, name: str) -> object:
            return getattr(self.inner, name)

        async def set_decimal(self, key: str, value: Decimal) -> None:
            raise StateStoreError("disk I/O error")

    book = FakeBook(balance=D(10000), long_qty=D(1), short_qty=D(0))
    book.auto_fill = True
    alerts = AlertRecorder()
    ks = KillSwitch(
        fast_config(),
        strategy=book,
        store=FailingWrites(store),
        alerts=alerts,  # type: ignore[arg-type]
    )
    await ks.restore()
    await ks.check_once()
    book.mark = D(45000)
    results = [await ks.check_once() for _ in range(2)]
    assert results[-1] is not None
    assert results[-1].fire
    assert alerts.keys.count(AlertKey.STATE_STORE_FAILED) == 1


async def test_outcome_without_a_successful_call_reports_an_empty_ticket_for_its_side() -> None:
    """FlattenOutcome.sent names the side(s) and no closing orders when nothing was sent."""
    from hedgegridd.ops.flatten import FlattenOutcome

    both = FlattenOutcome(FlattenSide.BOTH, "ctl", False, 3, None, None)
    assert both.sent.sides == ("LONG", "SHORT")
    assert both.sent.closing_orders == {}
    short = FlattenOutcome(FlattenSide.SHORT, "ctl", True, 1, 0.01, 0.02)
    assert short.sent.sides == ("SHORT",)
