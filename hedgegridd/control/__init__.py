"""Control socket: the shared protocol, the daemon's ``ControlServer`` and ``hedgegridctl``.

Supervisor wiring::

    backend = HandleBackend(handle=..., killswitch_status=..., killswitch_reset=...,
                            reload=..., mode="paper", daemon_version=__version__)
    server = ControlServer(settings.control, backend, store.journal, heartbeat=beat)
    await tg.start(server.run)

Names that load pydantic models or the strategy package are imported lazily so that
``hedgegridctl --help`` / ``--version`` start with the stdlib only. One ctl command
runs through ``roundtrip.call`` (a blocking socket, pydantic loaded once connected,
no anyio); ``ControlClient`` is the async client (``--all``, tests, other tasks).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from hedgegridd.control.commands import (
    PROTOCOL_VERSION,
    Access,
    ErrorCode,
    ExitCode,
    exit_code_for,
)

if TYPE_CHECKING:
    from hedgegridd.control.backend import ControlBackend, HandleBackend
    from hedgegridd.control.client import ControlClient
    from hedgegridd.control.config import ControlConfig
    from hedgegridd.control.protocol import COMMANDS, CommandSpec
    from hedgegridd.control.server import ControlServer, JournalWriter

_LAZY = {
    "COMMANDS": "hedgegridd.control.protocol",
    "CommandSpec": "hedgegridd.control.protocol",
    "ControlClient": "hedgegridd.control.client",
    "ControlConfig": "hedgegridd.control.config",
    "ControlBackend": "hedgegridd.control.backend",
    "HandleBackend": "hedgegridd.control.backend",
    "ControlServer": "hedgegridd.control.server",
    "JournalWriter": "hedgegridd.control.server",
}

__all__ = [
    "COMMANDS",
    "PROTOCOL_VERSION",
    "Access",
    "CommandSpec",
    "ControlBackend",
    "ControlClient",
    "ControlConfig",
    "ControlServer",
    "ErrorCode",
    "ExitCode",
    "HandleBackend",
    "JournalWriter",
    "exit_code_for",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'hedgegridd.control' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
