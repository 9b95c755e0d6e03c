"""Durable daemon state in one SQLite file (WAL): ``StateStore`` and ``AsyncStateStore``.

What lives here survives restarts: peak equity, realized PnL, throttle and other
decimals, flags (pause), the kill-switch latch, the flatten intent (a flatten in
progress and its pause, written before any closing order is sent) and a journal of
operator commands and safety actions. The schema is versioned; a database that is corrupt, not a
SQLite file, or of an unknown schema version raises ``StateStoreError`` and is
never silently reset (opening, checks and upgrades: ``state_db``).

``StateStore`` is synchronous. ``AsyncStateStore`` runs every call on one
dedicated worker thread (SQLite connections are thread-bound) so that async tasks
never block the event loop.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from hedgegridd.errors import StateStoreError
from hedgegridd.supervisor.state_db import Transaction, open_database
from hedgegridd.supervisor.state_records import (
    SCHEMA_VERSION,
    SIDES,
    FlattenIntent,
    JournalEntry,
    Latch,
    dumps,
    loads,
)
from hedgegridd.supervisor.state_retention import JournalRetention, prune_journal
from hedgegridd.supervisor.state_worker import StateWorker

__all__ = [
    "SCHEMA_VERSION",
    "AsyncStateStore",
    "FlattenIntent",
    "JournalEntry",
    "Latch",
    "StateStore",
]


class StateStore:
    """Synchronous, schema-versioned key/value + journal store on SQLite (WAL)."""

    def __init__(
        self, conn: sqlite3.Connection, path: Path, retention: JournalRetention | None = None
    ) -> None:
        self._conn = conn
        self.path = path
        self.retention = retention or JournalRetention()
        self._journal_writes = 0

    # -- lifecycle -------------------------------------------------------------------
    @classmethod
    def open(cls, path: Path | str, retention: JournalRetention | None = None) -> StateStore:
        """Open (creating if absent) the store at ``path``; raise StateStoreError if unusable.

        The journal is pruned to ``retention`` at once and every ``check_every`` writes."""
        db_path = Path(path)
        conn = open_database(db_path)
        store = cls(conn, db_path, retention)
        store.prune_journal()
        return store

    def close(self) -> None:
        """Checkpoint and close the connection (idempotent)."""
        try:
            self._conn.close()
        except sqlite3.Error as exc:
            raise StateStoreError(f"closing state database failed: {exc}") from exc

    def _exec(self, sql: str, params: tuple[Any, ...] = ()) -> sqlite3.Cursor:
        try:
            return self._conn.execute(sql, params)
        except sqlite3.Error as exc:
            raise StateStoreError(f"state database error: {exc}") from exc

    # -- decimals and flags ----------------------------------------------------------
    def get_decimal(self, key: str) -> Decimal | None:
        """The stored decimal under ``key`` or None."""
        row = self._exec("SELECT value FROM kv_decimal WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        try:
            return Decimal(row[0])
        except InvalidOperation as exc:
            raise StateStoreError(f"state key {key!r} holds a non-decimal value") from exc

    def set_decimal(self, key: str, value: Decimal) -> None:
        """Store ``value`` (finite Decimal) under ``key``."""
        if not isinstance(value, Decimal) or not value.is_finite():
            raise StateStoreError(f"state key {key!r} needs a finite Decimal, got {value!r}")
        self._exec(
            "INSERT INTO kv_decimal (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, str(value)),
        )

    def get_flag(self, key: str) -> bool | None:
        """The stored boolean under ``key`` or None."""
        row = self._exec("SELECT value FROM kv_flag WHERE key = ?", (key,)).fetchone()
        return None if row is None else bool(row[0])

    def set_flag(self, key: str, value: bool) -> None:
        """Store boolean ``value`` under ``key``."""
        self._exec(
            "INSERT INTO kv_flag (key, value) VALUES (?, ?) "
            "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, 1 if value else 0),
        )

    # -- kill-switch latch -----------------------------------------------------------
    def killswitch_latch(self) -> Latch | None:
        """The persisted latch, or None when the kill switch is not latched."""
        row = self._exec(
            "SELECT reason, details, fired_at_ns FROM killswitch_latch WHERE id = 1"
        ).fetchone()
        if row is None:
            return None
        return Latch(reason=row[0], details=loads(row[1]), fired_at_ns=int(row[2]))

    def set_killswitch_latch(
        self, reason: str, details: Mapping[str, Any], at_ns: int, *, actor: str = "killswitch"
    ) -> None:
        """Latch the kill switch (first reason wins) and journal it, atomically."""
        try:
            with self._transaction():
                self._latch_rows(reason, details, at_ns, actor)
        except sqlite3.Error as exc:
            raise StateStoreError(f"state database error: {exc}") from exc
        self._journal_written()

    def fire_killswitch(
        self, reason: str, details: Mapping[str, Any], at_ns: int, *, actor: str
    ) -> FlattenIntent:
        """Latch, journal ``killswitch.fired`` and record a BOTH flatten, in one transaction.

        The kill switch's first closing order waits on this single commit.
        """
        try:
            with self._transaction():
                self._latch_rows(reason, details, at_ns, actor)
                intent = self._intent_rows("BOTH", actor=actor, pause_reason=None, at_ns=at_ns)
        except sqlite3.Error as exc:
            raise StateStoreError(f"state database error: {exc}") from exc
        self._journal_written()
        return intent

    def _latch_rows(self, reason: str, details: Mapping[str, Any], at_ns: int, actor: str) -> None:
        self._conn.execute(
            "INSERT OR IGNORE INTO killswitch_latch (id, reason, details, fired_at_ns) "
            "VALUES (1, ?, ?, ?)",
            (reason, dumps(details), at_ns),
        )
        self._conn.execute(
            "INSERT INTO journal (at_ns, kind, actor, details) VALUES (?, ?, ?, ?)",
            (at_ns, "killswitch.fired", actor, dumps({"reason": reason, **details})),
        )

    def clear_killswitch_latch(self, by: str, at_ns: int) -> None:
        """Clear the latch (operator reset) and journal who did it, atomically."""
        try:
            with self._transaction():
                self._conn.execute("DELETE FROM killswitch_latch WHERE id = 1")
                self._conn.execute(
                    "INSERT INTO journal (at_ns, kind, actor, details) VALUES (?, ?, ?, ?)",
                    (at_ns, "killswitch.reset", by, "{}"),
                )
        except sqlite3.Error as exc:
            raise StateStoreError(f"state database error: {exc}") from exc
        self._journal_written()

    # -- flatten intent --------------------------------------------------------------
    def flatten_intent(self) -> FlattenIntent | None:
        """The persisted flatten intent, or None."""
        row = self._exec(
            "SELECT side, actor, pause_reason, pending, requested_at_ns FROM flatten_intent"
            " WHERE id = 1"
        ).fetchone()
        if row is None:
            return None
        return FlattenIntent(
            side=row[0],
            actor=row[1],
            pause_reason=row[2],
            pending=bool(row[3]),
            requested_at_ns=int(row[4]),
        )

    def set_flatten_intent(
        self, side: str, *, actor: str, pause_reason: str | None, at_ns: int
    ) -> FlattenIntent:
        """Record a flatten before its closing orders go out (merged with one pending).

        Two pending sides merge to BOTH; a pause reason already recorded is kept.
        Journaled as ``flatten.intent`` in the same transaction.
        """
        if side not in SIDES:
            raise StateStoreError(f"flatten side must be one of {SIDES}, got {side!r}")
        try:
            with self._transaction():
                intent = self._intent_rows(
                    side, actor=actor, pause_reason=pause_reason, at_ns=at_ns
                )
        except sqlite3.Error as exc:
            raise StateStoreError(f"state database error: {exc}") from exc
        self._journal_written()
        return intent

    def _intent_rows(
        self, side: str, *, actor: str, pause_reason: str | None, at_ns: int
    ) -> FlattenIntent:
        old = self.flatten_intent()
        merged_side = side
        if old is not None and old.pending and old.side != side:
            merged_side = "BOTH"
        reason = pause_reason or (old.pause_reason if old is not None else None)
        self._conn.execute(
            "INSERT INTO flatten_intent (id, side, actor, pause_reason, pending,"
            " requested_at_ns) VALUES (1, ?, ?, ?, 1, ?) ON CONFLICT(id) DO UPDATE SET"
            " side = excluded.side, actor = excluded.actor,"
            " pause_reason = excluded.pause_reason, pending = 1,"
            " requested_at_ns = excluded.requested_at_ns",
            (merged_side, actor, reason, at_ns),
        )
        self._conn.execute(
            "INSERT INTO journal (at_ns, kind, actor, details) VALUES (?, ?, ?, ?)",
            (at_ns, "flatten.intent", actor, dumps({"side": merged_side})),
        )
        return FlattenIntent(merged_side, actor, reason, True, at_ns)

    def finish_flatten_intent(self) -> None:
        """The book was verified flat: no longer pending; dropped when it holds no pause."""
        self._exec("DELETE FROM flatten_intent WHERE id = 1 AND pause_reason IS NULL")
        self._exec("UPDATE flatten_intent SET pending = 0 WHERE id = 1")

    def clear_flatten_pause(self) -> None:
        """An operator resumed: forget the pause (a pending flatten is still finished)."""
        self._exec("DELETE FROM flatten_intent WHERE id = 1 AND pending = 0")
        self._exec("UPDATE flatten_intent SET pause_reason = NULL WHERE id = 1")

    # -- journal ---------------------------------------------------------------------
    def journal(self, kind: str, *, actor: str, details: Mapping[str, Any], at_ns: int) -> None:
        """Append one entry to the event journal."""
        self._exec(
            "INSERT INTO journal (at_ns, kind, actor, details) VALUES (?, ?, ?, ?)",
            (at_ns, kind, actor, dumps(details)),
        )
        self._journal_written()

    def prune_journal(self) -> int:
        """Apply the journal retention now; returns the number of rows deleted."""
        try:
            return prune_journal(self._conn, self.retention)
        except sqlite3.Error as exc:
            raise StateStoreError(f"state database error: {exc}") from exc

    def _journal_written(self) -> None:
        self._journal_writes += 1
        if self._journal_writes % self.retention.check_every == 0:
            self.prune_journal()

    def recent_journal(self, limit: int = 50) -> list[JournalEntry]:
        """The newest ``limit`` journal entries, newest first."""
        rows = self._exec(
            "SELECT id, at_ns, kind, actor, details FROM journal ORDER BY id DESC LIMIT ?",
            (max(0, int(limit)),),
        ).fetchall()
        return [
            JournalEntry(id=r[0], at_ns=r[1], kind=r[2], actor=r[3], details=loads(r[4]))
            for r in rows
        ]

    def _transaction(self) -> Transaction:
        return Transaction(self._conn)


class AsyncStateStore:
    """Awaitable facade over ``StateStore``: every call runs on one dedicated worker thread."""

    def __init__(self, store: StateStore, worker: StateWorker) -> None:
        self._store = store
        self._worker = worker

    @classmethod
    async def open(
        cls, path: Path | str, retention: JournalRetention | None = None
    ) -> AsyncStateStore:
        """Open the store on a fresh worker thread; raises StateStoreError on failure."""
        worker = StateWorker()
        try:
            store = await worker.call(StateStore.open, path, retention)
        except BaseException:
            worker.shutdown()
            raise
        return cls(store, worker)

    @property
    def sync(self) -> StateStore:
        """The wrapped synchronous store (use only from the worker thread or at shutdown)."""
        return self._store

    async def aclose(self) -> None:
        """Close the store and stop the worker thread."""
        try:
            await self._worker.call(self._store.close)
        finally:
            self._worker.shutdown()

    async def get_decimal(self, key: str) -> Decimal | None:
        return await self._worker.call(self._store.get_decimal, key)

    async def set_decimal(self, key: str, value: Decimal) -> None:
        await self._worker.call(self._store.set_decimal, key, value)

    async def get_flag(self, key: str) -> bool | None:
        return await self._worker.call(self._store.get_flag, key)

    async def set_flag(self, key: str, value: bool) -> None:
        await self._worker.call(self._store.set_flag, key, value)

    async def killswitch_latch(self) -> Latch | None:
        return await self._worker.call(self._store.killswitch_latch)

    async def set_killswitch_latch(
        self, reason: str, details: Mapping[str, Any], at_ns: int
    ) -> None:
        await self._worker.call(self._store.set_killswitch_latch, reason, details, at_ns)

    async def fire_killswitch(
        self, reason: str, details: Mapping[str, Any], at_ns: int, *, actor: str
    ) -> FlattenIntent:
        def _do() -> FlattenIntent:
            return self._store.fire_killswitch(reason, details, at_ns, actor=actor)

        return await self._worker.call(_do)

    async def clear_killswitch_latch(self, by: str, at_ns: int) -> None:
        await self._worker.call(self._store.clear_killswitch_latch, by, at_ns)

    async def flatten_intent(self) -> FlattenIntent | None:
        return await self._worker.call(self._store.flatten_intent)

    async def set_flatten_intent(
        self, side: str, *, actor: str, pause_reason: str | None, at_ns: int
    ) -> FlattenIntent:
        def _do() -> FlattenIntent:
            return self._store.set_flatten_intent(
                side, actor=actor, pause_reason=pause_reason, at_ns=at_ns
            )

        return await self._worker.call(_do)

    async def finish_flatten_intent(self) -> None:
        await self._worker.call(self._store.finish_flatten_intent)

    async def clear_flatten_pause(self) -> None:
        await self._worker.call(self._store.clear_flatten_pause)

    async def journal(
        self, kind: str, *, actor: str, details: Mapping[str, Any], at_ns: int
    ) -> None:
        def _do() -> None:
            self._store.journal(kind, actor=actor, details=details, at_ns=at_ns)

        await self._worker.call(_do)

    async def recent_journal(self, limit: int = 50) -> list[JournalEntry]:
        return await self._worker.call(self._store.recent_journal, limit)
