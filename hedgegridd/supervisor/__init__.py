"""The ``hedgegridd`` daemon: settings, warmup, node runner, signals, systemd, state.

Kept light: importing this package does not load Nautilus.
"""

from __future__ import annotations

from hedgegridd.supervisor.state import AsyncStateStore, JournalEntry, Latch, StateStore

__all__ = ["AsyncStateStore", "JournalEntry", "Latch", "StateStore"]
