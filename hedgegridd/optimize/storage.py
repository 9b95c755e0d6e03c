"""Study storage: SQLite by default, an RDB URL or a journal file shared by many machines.

- ``sqlite:///path/study.db``: the default (``<out>/study.db``); good for the
  worker processes of one host (a generous lock timeout keeps them from failing
  on ``database is locked``).
- ``postgresql://user@host/db`` (or any SQLAlchemy URL Optuna's RDBStorage takes):
  many machines join one study; the driver must be installed on each.
- ``journal:/shared/path/study.log``: Optuna's journal storage on a shared
  filesystem (append-only file with locking), no database server needed.
"""

from __future__ import annotations

import re
from pathlib import Path

import optuna
from optuna.storages import BaseStorage, JournalStorage, RDBStorage
from optuna.storages.journal import JournalFileBackend

from hedgegridd.errors import ConfigError

JOURNAL_PREFIX = "journal:"
SQLITE_LOCK_TIMEOUT_S = 120


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
    try:
        return RDBStorage(url, engine_kwargs=engine_kwargs)
    except Exception as exc:  # sqlalchemy/driver errors of many kinds, mapped at the boundary
        raise ConfigError(
            f"study.storage: cannot open {redact(url)}: {type(exc).__name__}"
        ) from exc
