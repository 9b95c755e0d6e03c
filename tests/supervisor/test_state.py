"""Tests of the SQLite state store (sync and async facades)."""

from __future__ import annotations

import sqlite3
import threading
from decimal import Decimal
from pathlib import Path

import pytest

from hedgegridd.errors import StateStoreError
from hedgegridd.supervisor.state import SCHEMA_VERSION, AsyncStateStore, StateStore


def test_values_survive_reopen(tmp_path: Path) -> None:
    """Decimals, flags, latch and journal written before close are read back after reopen."""
    path = tmp_path / "state.db"
    store = StateStore.open(path)
    store.set_decimal("peak_equity", Decimal("10123.45"))
    store.set_flag("pause", True)
    store.set_killswitch_latch("drawdown", {"drawdown_pct": "6.1"}, at_ns=123)
    store.journal("pause", actor="ctl:alice", details={"reason": "manual"}, at_ns=7)
    store.close()

    again = StateStore.open(path)
    assert again.get_decimal("peak_equity") == Decimal("10123.45")
    assert again.get_flag("pause") is True
    latch = again.killswitch_latch()
    assert latch is not None
    assert latch.reason == "drawdown"
    assert latch.details["drawdown_pct"] == "6.1"
    assert latch.fired_at_ns == 123
    kinds = [e.kind for e in again.recent_journal(10)]
    assert kinds == ["pause", "killswitch.fired"]
    again.close()


def test_missing_keys_are_none(tmp_path: Path) -> None:
    """Unknown keys read as None, not zero or False."""
    store = StateStore.open(tmp_path / "s.db")
    assert store.get_decimal("realized_pnl") is None
    assert store.get_flag("pause") is None
    assert store.killswitch_latch() is None
    store.close()


def test_database_is_in_wal_mode(tmp_path: Path) -> None:
    """The store switches the database to WAL journaling."""
    path = tmp_path / "s.db"
    StateStore.open(path).close()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.close()


def test_latch_first_reason_wins_and_reset_journals(tmp_path: Path) -> None:
    """A second fire keeps the first latch; clearing journals who reset it."""
    store = StateStore.open(tmp_path / "s.db")
    store.set_killswitch_latch("drawdown", {}, at_ns=1)
    store.set_killswitch_latch("margin", {}, at_ns=2)
    latch = store.killswitch_latch()
    assert latch is not None
    assert latch.reason == "drawdown"
    store.clear_killswitch_latch("ctl:bob", at_ns=3)
    assert store.killswitch_latch() is None
    newest = store.recent_journal(1)[0]
    assert (newest.kind, newest.actor, newest.at_ns) == ("killswitch.reset", "ctl:bob", 3)
    store.close()


def test_non_finite_decimal_refused(tmp_path: Path) -> None:
    """NaN/inf cannot be stored as a decimal value."""
    store = StateStore.open(tmp_path / "s.db")
    with pytest.raises(StateStoreError, match="peak_equity"):
        store.set_decimal("peak_equity", Decimal("NaN"))
    store.close()


def test_corrupt_file_is_an_error_not_a_reset(tmp_path: Path) -> None:
    """A file that is not SQLite raises StateStoreError and is left untouched."""
    path = tmp_path / "s.db"
    garbage = b"this is not a database" * 100
    path.write_bytes(garbage)
    with pytest.raises(StateStoreError, match="corrupt"):
        StateStore.open(path)
    assert path.read_bytes() == garbage


def test_unknown_schema_version_refused(tmp_path: Path) -> None:
    """A database written by a future schema version is refused with a clear message."""
    path = tmp_path / "s.db"
    StateStore.open(path).close()
    conn = sqlite3.connect(path)
    conn.execute(
        "UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION + 1),)
    )
    conn.commit()
    conn.close()
    with pytest.raises(StateStoreError, match="schema version"):
        StateStore.open(path)


def test_foreign_sqlite_database_refused(tmp_path: Path) -> None:
    """A SQLite file without our meta table is refused, not adopted."""
    path = tmp_path / "s.db"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE other (x)")
    conn.commit()
    conn.close()
    with pytest.raises(StateStoreError, match="no schema version"):
        StateStore.open(path)


@pytest.mark.asyncio
async def test_async_store_runs_on_one_worker_thread(tmp_path: Path) -> None:
    """Async calls run off the loop thread, all on the same worker thread."""
    store = await AsyncStateStore.open(tmp_path / "s.db")
    seen: set[int] = set()
    original = store.sync.get_decimal

    def spy(key: str) -> Decimal | None:
        seen.add(threading.get_ident())
        return original(key)

    store.sync.get_decimal = spy  # type: ignore[method-assign]
    await store.set_decimal("throttle", Decimal("0.5"))
    for _ in range(3):
        assert await store.get_decimal("throttle") == Decimal("0.5")
    await store.journal("throttle", actor="ctl", details={"value": "0.5"}, at_ns=1)
    entries = await store.recent_journal(5)
    assert entries[0].details["value"] == "0.5"
    assert len(seen) == 1
    assert threading.get_ident() not in seen
    await store.aclose()


@pytest.mark.asyncio
async def test_async_open_corrupt_raises(tmp_path: Path) -> None:
    """AsyncStateStore.open surfaces StateStoreError for a corrupt file."""
    path = tmp_path / "s.db"
    path.write_bytes(b"garbage" * 1000)
    with pytest.raises(StateStoreError):
        await AsyncStateStore.open(path)


def test_schema_1_database_is_upgraded_in_place(tmp_path: Path) -> None:
    """A version-1 database keeps its values and gains the flatten intent table."""
    path = tmp_path / "s.db"
    conn = sqlite3.connect(path)
    for stmt in (
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        "CREATE TABLE kv_decimal (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        "CREATE TABLE kv_flag (key TEXT PRIMARY KEY, value INTEGER NOT NULL)",
        "CREATE TABLE killswitch_latch (id INTEGER PRIMARY KEY CHECK (id = 1),"
        " reason TEXT NOT NULL, details TEXT NOT NULL, fired_at_ns INTEGER NOT NULL)",
        "CREATE TABLE journal (id INTEGER PRIMARY KEY AUTOINCREMENT, at_ns INTEGER NOT NULL,"
        " kind TEXT NOT NULL, actor TEXT NOT NULL, details TEXT NOT NULL)",
        "INSERT INTO meta VALUES ('schema_version', '1')",
        "INSERT INTO kv_decimal VALUES ('peak_equity', '123.4')",
    ):
        conn.execute(stmt)
    conn.commit()
    conn.close()
    store = StateStore.open(path)
    assert store.get_decimal("peak_equity") == Decimal("123.4")
    assert store.flatten_intent() is None
    store.set_flatten_intent("LONG", actor="a", pause_reason="operator_flatten", at_ns=1)
    store.close()
    conn = sqlite3.connect(path)
    version = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    conn.close()
    assert version == (str(SCHEMA_VERSION),)


def test_flatten_intent_lifecycle(tmp_path: Path) -> None:
    """Pending sides merge to BOTH, finishing keeps the pause, clearing the pause drops it."""
    store = StateStore.open(tmp_path / "s.db")
    store.set_flatten_intent("LONG", actor="a", pause_reason="operator_flatten", at_ns=1)
    merged = store.set_flatten_intent("SHORT", actor="b", pause_reason=None, at_ns=2)
    assert merged.side == "BOTH"
    assert merged.pause_reason == "operator_flatten"  # kept from the first request
    store.clear_flatten_pause()  # an operator resume while pending: the flatten still runs
    intent = store.flatten_intent()
    assert intent is not None
    assert intent.pending
    assert intent.pause_reason is None
    store.set_flatten_intent("BOTH", actor="a", pause_reason="operator_flatten", at_ns=3)
    store.finish_flatten_intent()
    done = store.flatten_intent()
    assert done is not None
    assert not done.pending
    assert done.pause_reason == "operator_flatten"
    store.clear_flatten_pause()
    assert store.flatten_intent() is None
    store.set_flatten_intent("BOTH", actor="killswitch", pause_reason=None, at_ns=4)
    store.finish_flatten_intent()  # no pause to keep: gone
    assert store.flatten_intent() is None
    assert [e.kind for e in store.recent_journal(3)] == ["flatten.intent"] * 3
    with pytest.raises(StateStoreError, match="side"):
        store.set_flatten_intent("UP", actor="a", pause_reason=None, at_ns=5)
    store.close()


def test_fire_killswitch_latches_journals_once_and_records_the_flatten(tmp_path: Path) -> None:
    """One commit: latch, one ``killswitch.fired`` journal entry, a pending BOTH flatten intent."""
    store = StateStore.open(tmp_path / "state.db")
    try:
        intent = store.fire_killswitch("limit:drawdown", {"drawdown_pct": "6"}, 5, actor="ks")
        assert (intent.side, intent.actor, intent.pending) == ("BOTH", "ks", True)
        latch = store.killswitch_latch()
        assert latch is not None
        assert latch.reason == "limit:drawdown"
        kinds = [entry.kind for entry in store.recent_journal(10)]
        assert kinds.count("killswitch.fired") == 1
        assert kinds.count("flatten.intent") == 1
        persisted = store.flatten_intent()
        assert persisted is not None
        assert (persisted.side, persisted.pending) == ("BOTH", True)
    finally:
        store.close()
