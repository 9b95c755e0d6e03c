"""Study storage: SQLite by default, an RDB URL or a journal file shared by many machines.

- ``sqlite:///path/study.db``: the default (``<out>/study.db``); good for the
  worker processes of one host (a generous lock timeout keeps them from failing
  on ``database is locked``).
- ``postgresql://user@host/db`` (or any SQLAlchemy URL Optuna's RDBStorage takes):
  many machines join one study; the driver must be installed on each.
- ``journal:/shared/path/study.log``: Optuna's journal storage on a shared
  filesystem (append-only file with locking), no database server needed.

Credentials never need to be in the URL: with PostgreSQL, libpq reads the
password from ``PGPASSWORD`` or a password file (``~/.pgpass``, ``PGPASSFILE``),
and ``?host=/run/dir`` connects over a Unix socket.

``BudgetLock`` serializes "count the study's trials, then ask for one" across
every worker of a study (a PostgreSQL advisory lock, a MySQL named lock, or a
file lock next to an SQLite or journal file), so workers on many hosts stop at
exactly ``--trials`` trials.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import optuna
from optuna.storages import BaseStorage, JournalStorage, RDBStorage
from optuna.storages.journal import JournalFileBackend
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError, ProgrammingError

from hedgegridd.errors import ConfigError

JOURNAL_PREFIX = "journal:"
SQLITE_LOCK_TIMEOUT_S = 120
SCHEMA_RACE_ATTEMPTS = 5  # opening retries when workers create the schema at once


def default_storage_url(out_dir: Path) -> str:
    """The SQLite file inside the output folder."""
    return f"sqlite:///{(out_dir / 'study.db').resolve()}"


def redact(url: str) -> str:
    """The URL with any password hidden (safe for logs and reports)."""
    return re.sub(r"(://[^:/@]+):[^@]*@", r"\1:***@", url)


def open_storage(url: str) -> BaseStorage:
    """An Optuna storage for ``url``; ConfigError when it is malformed or unreachable."""
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if url.startswith(JOURNAL_PREFIX):
        path = Path(url.removeprefix(JOURNAL_PREFIX))
        if not path.name:
            raise ConfigError(f"study.storage: journal storage needs a file path; got {url!r}")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            return JournalStorage(JournalFileBackend(str(path)))
        except OSError as exc:
            raise ConfigError(f"study.storage: cannot open journal {path}: {exc}") from exc
    if "://" not in url:
        raise ConfigError(
            "study.storage: expected sqlite:///path, postgresql://..., mysql://... or "
            f"journal:/path; got {redact(url)!r}"
        )
    engine_kwargs: dict[str, object] = {}
    if url.startswith("sqlite:"):
        db = url.removeprefix("sqlite:///")
        if db and db != url:
            Path(db).parent.mkdir(parents=True, exist_ok=True)
        engine_kwargs = {"connect_args": {"timeout": SQLITE_LOCK_TIMEOUT_S}}
    else:
        engine_kwargs = {"pool_pre_ping": True}
    for attempt in range(SCHEMA_RACE_ATTEMPTS):
        try:
            return RDBStorage(url, engine_kwargs=engine_kwargs)
        except (IntegrityError, ProgrammingError) as exc:
            # Workers starting together on an empty database both create Optuna's schema;
            # the loser sees a duplicate (table, type or version row): the schema exists now.
            if attempt + 1 == SCHEMA_RACE_ATTEMPTS:
                raise ConfigError(
                    f"study.storage: cannot open {redact(url)}: {type(exc).__name__}"
                ) from exc
            time.sleep(0.2 * 2**attempt)
        except Exception as exc:  # sqlalchemy/driver errors of many kinds, mapped at the boundary
            raise ConfigError(
                f"study.storage: cannot open {redact(url)}: {type(exc).__name__}"
            ) from exc
    raise AssertionError("unreachable")  # the loop returns or raises


def _lock_key(study_name: str) -> int:
    """A stable signed 64-bit key for the study (PostgreSQL advisory locks take bigint)."""
    digest = hashlib.sha256(f"hedgegrid-budget:{study_name}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class BudgetLock:
    """A cross-process, cross-host lock of one study's trial budget (``with lock: ...``).

    Held while a worker counts the trials and asks for a new one, so two workers
    can never both take the last trial. PostgreSQL: ``pg_advisory_lock`` on a
    dedicated connection (released if that worker's connection dies); MySQL:
    ``GET_LOCK``; SQLite and journal files: ``flock`` on ``<file>.budget-lock``.
    Other storages get no lock (each worker may then overshoot by one trial).
    """

    def __init__(self, url: str, storage: BaseStorage, study_name: str) -> None:
        self._key = _lock_key(study_name)
        self._name = f"hedgegrid-budget-{self._key & 0xFFFFFFFF:08x}"
        self._engine: Any = None
        self._file: Path | None = None
        self._conn: Any = None
        self._fd: int | None = None
        if url.startswith(JOURNAL_PREFIX):
            self._file = Path(url.removeprefix(JOURNAL_PREFIX) + ".budget-lock")
        elif url.startswith("sqlite:///") and url != "sqlite:///":
            self._file = Path(url.removeprefix("sqlite:///") + ".budget-lock")
        elif isinstance(storage, RDBStorage) and storage.engine.dialect.name in (
            "postgresql",
            "mysql",
        ):
            self._engine = storage.engine

    @property
    def kind(self) -> str:
        """Which mechanism guards the budget: advisory, named, file or none."""
        if self._file is not None:
            return "file"
        if self._engine is None:
            return "none"
        return "advisory" if self._engine.dialect.name == "postgresql" else "named"

    def try_acquire(self) -> bool:
        """Take the lock if it is free; False (and nothing held) if another holder has it."""
        return self.acquire(blocking=False)

    def acquire(self, *, blocking: bool = True) -> bool:
        """Take the lock, waiting for it unless ``blocking`` is False."""
        if self._file is not None:
            fd = _open_lock_file(self._file)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
            except BlockingIOError:
                os.close(fd)
                return False
            self._fd = fd
            return True
        if self._engine is None:
            return True
        conn = self._engine.connect()
        try:
            if self._engine.dialect.name == "postgresql":
                sql = (
                    "SELECT pg_advisory_lock(:k)" if blocking else "SELECT pg_try_advisory_lock(:k)"
                )
                got = conn.execute(text(sql), {"k": self._key}).scalar()
            else:
                got = conn.execute(
                    text("SELECT GET_LOCK(:n, :t)"), {"n": self._name, "t": -1 if blocking else 0}
                ).scalar()
            conn.commit()
        except BaseException:
            conn.invalidate()
            conn.close()
            raise
        if blocking or got in (True, 1):
            self._conn = conn
            return True
        conn.close()
        return False

    def release(self) -> None:
        """Give the lock back (no-op when not held)."""
        if self._fd is not None:
            fd, self._fd = self._fd, None
            fcntl.flock(fd, fcntl.LOCK_UN)
            os.close(fd)
        if self._conn is not None:
            conn, self._conn = self._conn, None
            try:
                if self._engine.dialect.name == "postgresql":
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": self._key})
                else:
                    conn.execute(text("SELECT RELEASE_LOCK(:n)"), {"n": self._name})
                conn.commit()
            except Exception:
                conn.invalidate()  # drop the session (and its lock) instead of pooling it
                raise
            finally:
                conn.close()

    def __enter__(self) -> BudgetLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def _open_lock_file(path: Path) -> int:
    path.parent.mkdir(parents=True, exist_ok=True)
    return os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
