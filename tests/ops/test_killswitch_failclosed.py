"""The kill switch fails closed: N blind checks pause entries; readings back resume them."""

from __future__ import annotations

import time
from decimal import Decimal

import anyio
import pytest

from hedgegridd.errors import ConfigError
from hedgegridd.ops.alert_model import AlertKey
from hedgegridd.ops.config import KillSwitchConfig
from hedgegridd.ops.killswitch import PAUSE_REASON_BLIND, KillSwitch
from hedgegridd.supervisor.state import AsyncStateStore
from tests.ops.conftest import killswitch_config
from tests.ops.fake_strategy import AlertRecorder, FakeBook
from tests.ops.helpers import until

pytestmark = pytest.mark.asyncio
D = Decimal


def config(**kw: object) -> KillSwitchConfig:
    """Fast checks that fail closed after three blind ones."""
    return killswitch_config(**{"fail_closed_after_checks": 3, **kw})


async def test_unreadable_book_for_n_checks_pauses_entries_then_readings_resume_them(
    store: AsyncStateStore,
) -> None:
    """Snapshot failures: N-1 checks only warn, the Nth pauses (critical), readings resume."""
    book = FakeBook()
    alerts = AlertRecorder()
    ks = KillSwitch(config(), strategy=book, store=store, alerts=alerts)
    await ks.restore()
    book.snapshot_error = RuntimeError("book unreadable")
    for _ in range(2):
        assert await ks.check_once() is None
    assert PAUSE_REASON_BLIND not in book.pause_reasons
    assert AlertKey.KILLSWITCH_BLIND not in alerts.keys
    assert await ks.check_once() is None
    assert PAUSE_REASON_BLIND in book.pause_reasons
    assert ks.status().blind
    assert (AlertKey.KILLSWITCH_BLIND, "CRITICAL") in [(k, s) for k, s, _ in alerts.alerts]
    book.snapshot_error = None
    assert await ks.check_once() is not None
    assert PAUSE_REASON_BLIND not in book.pause_reasons
    assert not ks.status().blind
    assert alerts.keys[-1] == AlertKey.KILLSWITCH_SIGHTED


async def test_every_reading_stale_counts_as_blind(store: AsyncStateStore) -> None:
    """No fresh price for any price-derived limit (and no margin reading) fails closed too."""
    book = FakeBook()
    book.margin_ratio = None
    book.last_bar_ns = time.time_ns() - 3_600_000_000_000  # an hour without a price
    ks = KillSwitch(
        config(max_reading_age_s=60), strategy=book, store=store, alerts=AlertRecorder()
    )
    await ks.restore()
    for _ in range(3):
        result = await ks.check_once()
        assert result is not None
        assert all(v.status.value in ("stale", "missing") for v in result.verdicts)
    assert PAUSE_REASON_BLIND in book.pause_reasons
    book.last_bar_ns = None  # FakeBook: "now"
    await ks.check_once()
    assert PAUSE_REASON_BLIND not in book.pause_reasons


async def test_one_readable_limit_is_not_blind(store: AsyncStateStore) -> None:
    """Stale prices but a margin ratio still read: the switch can act, entries stay open."""
    book = FakeBook()
    book.last_bar_ns = time.time_ns() - 3_600_000_000_000
    ks = KillSwitch(config(max_reading_age_s=60), strategy=book, store=store)
    await ks.restore()
    for _ in range(5):
        await ks.check_once()
    assert PAUSE_REASON_BLIND not in book.pause_reasons


async def test_zero_turns_failing_closed_off_and_live_refuses_it(store: AsyncStateStore) -> None:
    """fail_closed_after_checks = 0 never pauses; live mode refuses that setting."""
    book = FakeBook()
    book.snapshot_error = RuntimeError("x")
    ks = KillSwitch(config(fail_closed_after_checks=0), strategy=book, store=store)
    await ks.restore()
    for _ in range(20):
        await ks.check_once()
    assert PAUSE_REASON_BLIND not in book.pause_reasons
    with pytest.raises(ConfigError, match="fail_closed_after_checks"):
        config(fail_closed_after_checks=0).require_for_mode("live")
    config(fail_closed_after_checks=0).require_for_mode("testnet")
    assert KillSwitchConfig().fail_closed_after_checks > 0  # on by default


async def test_a_mark_update_wakes_the_check_before_the_interval_ends(
    store: AsyncStateStore,
) -> None:
    """With a 60 s cadence, marks crossing the limit fire the switch long before 60 s."""
    book = FakeBook(balance=D(10000), long_qty=D(1), short_qty=D(0))
    book.auto_fill = True
    ks = KillSwitch(
        config(check_interval_s=60, breaches_required=2, breach_window=2),
        strategy=book,
        store=store,
    )
    async with anyio.create_task_group() as tg:
        await tg.start(ks.run)
        await until(lambda: ks.checks_total >= 1)
        book.mark = D(45000)  # 50 % drawdown
        for n in (2, 3):
            ks.wake()  # what the strategy's mark observer calls
            await until(lambda n=n: ks.checks_total >= n or ks.latched, 30)
        await until(lambda: ks.last_flatten is not None, 30)
        tg.cancel_scope.cancel()
    assert ks.latched
