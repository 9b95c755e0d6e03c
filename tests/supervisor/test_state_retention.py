"""The event journal stays bounded: [state] journal_max_rows / journal_max_age_days."""

from __future__ import annotations

from pathlib import Path

import pytest

from hedgegridd.errors import ConfigError
from hedgegridd.supervisor.settings import load_settings
from hedgegridd.supervisor.state import AsyncStateStore, StateStore
from hedgegridd.supervisor.state_retention import DAY_NS, JournalRetention


def _count(store: StateStore) -> int:
    return len(store.recent_journal(1_000_000))


def test_row_limit_keeps_the_newest_entries_on_write(tmp_path: Path) -> None:
    """With max_rows 10, 50 writes leave the newest 10 (pruned every check_every writes)."""
    retention = JournalRetention(max_rows=10, max_age_ns=None, check_every=5)
    store = StateStore.open(tmp_path / "state.db", retention)
    for i in range(50):
        store.journal("control.command", actor="uid=0", details={"n": i}, at_ns=1_000 + i)
        assert _count(store) <= 10 + retention.check_every - 1
    kept = [e.details["n"] for e in store.recent_journal(100)]
    assert kept == list(range(49, 39, -1))
    store.close()


def test_age_limit_counts_back_from_the_newest_entry(tmp_path: Path) -> None:
    """Entries older than max_age before the newest one are deleted, the rest kept."""
    retention = JournalRetention(max_rows=None, max_age_ns=30 * DAY_NS, check_every=1)
    store = StateStore.open(tmp_path / "state.db", retention)
    for day in range(100):
        store.journal("pause", actor="ctl", details={"day": day}, at_ns=day * DAY_NS)
    days = sorted(int(e.details["day"]) for e in store.recent_journal(1000))
    assert days == list(range(69, 100))
    store.close()


def test_opening_prunes_a_journal_written_without_limits(tmp_path: Path) -> None:
    """A journal grown before the limit existed is cut at the next start; latch kept."""
    path = tmp_path / "state.db"
    unbounded = StateStore.open(path, JournalRetention(max_rows=None, max_age_ns=None))
    unbounded.set_killswitch_latch("drawdown", {"drawdown_pct": "11"}, at_ns=1)
    for i in range(300):
        unbounded.journal("control.command", actor="uid=0", details={"n": i}, at_ns=10 + i)
    assert _count(unbounded) == 301
    unbounded.close()
    again = StateStore.open(path, JournalRetention(max_rows=50, max_age_ns=None))
    assert _count(again) == 50
    assert again.recent_journal(1)[0].details["n"] == 299
    latch = again.killswitch_latch()
    assert latch is not None
    assert latch.reason == "drawdown"
    again.close()


@pytest.mark.asyncio
async def test_async_store_applies_the_retention(tmp_path: Path) -> None:
    """AsyncStateStore.open passes the retention to the store it opens."""
    store = await AsyncStateStore.open(
        tmp_path / "state.db", JournalRetention(max_rows=3, max_age_ns=None, check_every=1)
    )
    try:
        for i in range(10):
            await store.journal("pause", actor="ctl", details={"n": i}, at_ns=i)
        assert [e.details["n"] for e in await store.recent_journal(100)] == [9, 8, 7]
    finally:
        await store.aclose()


def test_state_settings_map_to_a_retention_zero_meaning_no_limit(tmp_path: Path) -> None:
    """[state] keys load, are range-checked, and 0 disables a limit."""
    config = tmp_path / "hedgegridd.toml"
    config.write_text("[state]\njournal_max_rows = 0\njournal_max_age_days = 7\n")
    state = load_settings(config).state
    retention = JournalRetention.from_settings(state.journal_max_rows, state.journal_max_age_days)
    assert retention.max_rows is None
    assert retention.max_age_ns == 7 * DAY_NS
    default = load_settings(None, missing_ok=True).state
    assert (default.journal_max_rows, default.journal_max_age_days) == (100_000, 365.0)
    config.write_text("[state]\njournal_max_rows = -1\n")
    with pytest.raises(ConfigError, match=r"state\.journal_max_rows"):
        load_settings(config)
