"""Opening the state database: the SQLite connection, its checks and its schema.

``open_database`` connects, runs the integrity check, turns WAL on and creates or
upgrades the schema (one version per transaction); anything unusable is a
``StateStoreError`` and the file is left as it was. ``Transaction`` is the
BEGIN IMMEDIATE ... COMMIT/ROLLBACK block ``StateStore`` writes its atomic steps in.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from hedgegridd.errors import StateStoreError
from hedgegridd.supervisor.state_records import MIGRATIONS, SCHEMA, SCHEMA_VERSION


def open_database(db_path: Path) -> sqlite3.Connection:
    """Connect to ``db_path`` (created if absent), checked and at the current schema."""
    try:
        db_path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(db_path, isolation_level=None, check_same_thread=True)
    except (OSError, sqlite3.Error) as exc:
        raise StateStoreError(f"cannot open state database {db_path}: {exc}") from exc
    try:
        conn.execute("PRAGMA busy_timeout = 5000")
        check = conn.execute("PRAGMA quick_check").fetchone()
        if check is None or check[0] != "ok":
            raise StateStoreError(f"state database {db_path} failed its integrity check")
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        migrate(conn, db_path)
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise StateStoreError(
            f"state database {db_path} is unreadable or corrupt ({exc}); "
            "move it aside to start fresh"
        ) from exc
    except StateStoreError:
        conn.close()
        raise
    return conn


def migrate(conn: sqlite3.Connection, db_path: Path) -> None:
    """Create the schema in an empty database or upgrade an older one in place."""
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    if not tables:
        conn.execute("BEGIN IMMEDIATE")
        for stmt in SCHEMA:
            conn.execute(stmt)
        conn.execute(
            "INSERT INTO meta (key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
        )
        conn.execute("COMMIT")
        return
    if "meta" not in tables:
        raise StateStoreError(f"state database {db_path} has no schema version (not ours?)")
    row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    found = None if row is None else row[0]
    version = int(found) if found is not None and found.isdigit() else None
    if version is None or not 1 <= version <= SCHEMA_VERSION:
        raise StateStoreError(
            f"state database {db_path} has schema version {found}, expected {SCHEMA_VERSION}"
        )
    while version < SCHEMA_VERSION:  # upgrade in place, one version per transaction
        conn.execute("BEGIN IMMEDIATE")
        for stmt in MIGRATIONS[version]:
            conn.execute(stmt)
        version += 1
        conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(version),))
        conn.execute("COMMIT")


class Transaction:
    """BEGIN IMMEDIATE ... COMMIT/ROLLBACK on an autocommit connection."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn

    def __enter__(self) -> None:
        self._conn.execute("BEGIN IMMEDIATE")

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self._conn.execute("COMMIT" if exc_type is None else "ROLLBACK")
