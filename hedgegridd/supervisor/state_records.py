"""What the state store persists: schema, records and their JSON details.

Split from ``hedgegridd.supervisor.state`` (which re-exports the records); no I/O here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from hedgegridd.errors import StateStoreError

SCHEMA_VERSION = 2

SCHEMA_V1 = (
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE kv_decimal (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    "CREATE TABLE kv_flag (key TEXT PRIMARY KEY, value INTEGER NOT NULL CHECK (value IN (0, 1)))",
    "CREATE TABLE killswitch_latch (id INTEGER PRIMARY KEY CHECK (id = 1),"
    " reason TEXT NOT NULL, details TEXT NOT NULL, fired_at_ns INTEGER NOT NULL)",
    "CREATE TABLE journal (id INTEGER PRIMARY KEY AUTOINCREMENT, at_ns INTEGER NOT NULL,"
    " kind TEXT NOT NULL, actor TEXT NOT NULL, details TEXT NOT NULL)",
)
# Upgrades: MIGRATIONS[v] takes a database from schema v to v + 1.
FLATTEN_INTENT = (
    "CREATE TABLE flatten_intent (id INTEGER PRIMARY KEY CHECK (id = 1),"
    " side TEXT NOT NULL, actor TEXT NOT NULL, pause_reason TEXT,"
    " pending INTEGER NOT NULL CHECK (pending IN (0, 1)), requested_at_ns INTEGER NOT NULL)"
)
MIGRATIONS: dict[int, tuple[str, ...]] = {1: (FLATTEN_INTENT,)}
SCHEMA = (*SCHEMA_V1, FLATTEN_INTENT)
SIDES = ("LONG", "SHORT", "BOTH")


@dataclass(frozen=True, slots=True)
class Latch:
    """The kill-switch latch as persisted when it fired."""

    reason: str
    details: Mapping[str, Any]
    fired_at_ns: int


@dataclass(frozen=True, slots=True)
class FlattenIntent:
    """A flatten that was requested and, until an operator resumes, its pause.

    ``pending`` is true until the book was verified flat: a restarted daemon sends
    what remains. ``pause_reason`` (e.g. ``operator_flatten``) keeps entries paused
    across restarts until an operator resumes; None for a kill-switch flatten (the
    latch holds that one).
    """

    side: str  # LONG | SHORT | BOTH
    actor: str
    pause_reason: str | None
    pending: bool
    requested_at_ns: int


@dataclass(frozen=True, slots=True)
class JournalEntry:
    """One operator command or safety action."""

    id: int
    at_ns: int
    kind: str
    actor: str
    details: Mapping[str, Any]


def dumps(details: Mapping[str, Any]) -> str:
    """Details as stored: a JSON object, keys sorted, non-JSON values as text."""
    return json.dumps(dict(details), sort_keys=True, default=str)


def loads(text: str) -> Mapping[str, Any]:
    """Stored details back as a read-only mapping (StateStoreError if not an object)."""
    value = json.loads(text)
    if not isinstance(value, dict):
        raise StateStoreError(f"state database holds a non-object details value: {text[:40]!r}")
    return MappingProxyType(value)
