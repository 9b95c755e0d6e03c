"""Retention of the state database's event journal (``[state] journal_max_rows`` /
``journal_max_age_days``): the newest rows are kept, older or surplus rows deleted.

Enforced by ``StateStore`` when it opens and after every ``check_every`` journal
writes, so the journal stays bounded without a timer task. The kill-switch latch and
the flatten intent live in their own tables and are never pruned.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

DAY_NS = 86_400 * 1_000_000_000


@dataclass(frozen=True, slots=True)
class JournalRetention:
    """How much journal to keep: ``None`` disables a limit."""

    max_rows: int | None = 100_000
    max_age_ns: int | None = 365 * DAY_NS
    check_every: int = 100  # journal writes between two prunes

    @classmethod
    def from_settings(cls, max_rows: int, max_age_days: float) -> JournalRetention:
        """From the ``[state]`` keys, where 0 means "no limit"."""
        return cls(
            max_rows=max_rows or None,
            max_age_ns=int(max_age_days * DAY_NS) or None,
        )


def prune_journal(conn: sqlite3.Connection, retention: JournalRetention) -> int:
    """Delete journal rows beyond the newest ``max_rows`` or older than the age limit.

    Age counts back from the newest entry's time, not the wall clock: a clock that
    jumps forward cannot wipe the journal.
    """
    deleted = 0
    if retention.max_age_ns is not None:
        cur = conn.execute(
            "DELETE FROM journal WHERE at_ns < (SELECT MAX(at_ns) FROM journal) - ?",
            (retention.max_age_ns,),
        )
        deleted += max(cur.rowcount, 0)
    if retention.max_rows is not None:
        cur = conn.execute(
            "DELETE FROM journal WHERE id <= (SELECT MAX(id) FROM journal) - ?",
            (retention.max_rows,),
        )
        deleted += max(cur.rowcount, 0)
    return deleted
