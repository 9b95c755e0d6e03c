"""The ``hedgegridd`` daemon: settings, warmup, node runner, signals, systemd, state.

Public API (kept light: importing this package does not load Nautilus or aiohttp):

- ``StateStore`` / ``AsyncStateStore`` (+ ``Latch``, ``JournalEntry``): durable state.
- ``Settings`` / ``load_settings(path)``: the daemon's validated configuration.
- ``ExitCode``: why the daemon exited (0, 70, 74, 75, 76, 78).

Heavier pieces are imported from their modules: ``hedgegridd.supervisor.app.Daemon``,
``.warmup.run_warmup``, ``.node_runner.NodeRunner`` (Nautilus), ``.cli.main``.
"""

from __future__ import annotations

from hedgegridd.supervisor.exit_codes import ExitCode
from hedgegridd.supervisor.settings import Settings, load_settings
from hedgegridd.supervisor.state import AsyncStateStore, JournalEntry, Latch, StateStore

__all__ = [
    "AsyncStateStore",
    "ExitCode",
    "JournalEntry",
    "Latch",
    "Settings",
    "StateStore",
    "load_settings",
]
