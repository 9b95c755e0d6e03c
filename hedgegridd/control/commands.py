"""The protocol's plain facts: version, error and exit codes, the command table.

Stdlib only, so that ``hedgegridctl --help``/``--version`` and shell completion load
no pydantic models. ``protocol.py`` re-exports every name here and pairs each command
with its argument and result schemas; it stays the one module server and ctl share.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

PROTOCOL_VERSION = 3  # 3: throttle reports entry_rungs and empty_sides
MAX_FRAME_BYTES = 64 * 1024
MAX_REQUEST_ID = 2**53  # JSON-safe integer range
DEFAULT_RUNTIME_DIRECTORY = Path("/run/hedgegrid")
SOCKET_NAME = "control.sock"


class ErrorCode(enum.StrEnum):
    """Stable wire error codes. Never rename one; add new ones instead."""

    BAD_FRAME = "bad_frame"  # not one UTF-8 JSON object per line, or too large
    BAD_REQUEST = "bad_request"  # envelope schema violated (fields, types)
    HANDSHAKE_REQUIRED = "handshake_required"  # first message was not a hello
    UNKNOWN_COMMAND = "unknown_command"
    BAD_ARGUMENT = "bad_argument"  # arguments of a known command are invalid
    PERMISSION_DENIED = "permission_denied"  # peer may not connect or run this command
    REFUSED_BY_STATE = "refused_by_state"  # e.g. resume while the kill switch is latched
    VERSION_MISMATCH = "version_mismatch"
    BUSY = "busy"  # too many clients connected
    TIMEOUT = "timeout"  # the daemon or the client gave up waiting
    INTERNAL = "internal"  # the daemon failed; details are in its log
    CONFIG_INVALID = "config_invalid"  # reload refused: the file is invalid or not for the mode
    NOT_RUNNING = "not_running"  # client side: no daemon listening on the socket
    PROTOCOL_VIOLATION = "protocol_violation"  # client side: the daemon replied nonsense


class ExitCode(enum.IntEnum):
    """``hedgegridctl`` exit codes (documented in ``hedgegridctl --help``; stable)."""

    OK = 0
    INTERNAL = 1  # the daemon or the ctl failed unexpectedly
    USAGE = 2  # bad command line or a request the daemon rejected as malformed
    NOT_RUNNING = 3  # no daemon on the socket, or it is too busy to answer
    PERMISSION_DENIED = 4  # the socket or the daemon refused this user
    REFUSED_BY_STATE = 5  # the daemon's state forbids it (e.g. kill switch latched)
    VERSION_MISMATCH = 6  # ctl and daemon speak different protocol versions
    TIMEOUT = 7  # no answer within --timeout
    NOT_FLAT = 8  # flatten sent closing orders but the book was not verified flat
    ALL_NEEDS_READ_ONLY = 64  # --all with a write command (EX_USAGE): name the --instance
    CONFIG_INVALID = 78  # reload refused: the config names the key (EX_CONFIG, as the daemon)
    PIPE_CLOSED = 141  # stdout closed by its reader (| head): 128 + SIGPIPE, as a shell reports


EXIT_CODE_FOR_ERROR: Mapping[ErrorCode, ExitCode] = {
    ErrorCode.BAD_FRAME: ExitCode.USAGE,
    ErrorCode.BAD_REQUEST: ExitCode.USAGE,
    ErrorCode.HANDSHAKE_REQUIRED: ExitCode.USAGE,
    ErrorCode.UNKNOWN_COMMAND: ExitCode.USAGE,
    ErrorCode.BAD_ARGUMENT: ExitCode.USAGE,
    ErrorCode.PERMISSION_DENIED: ExitCode.PERMISSION_DENIED,
    ErrorCode.REFUSED_BY_STATE: ExitCode.REFUSED_BY_STATE,
    ErrorCode.VERSION_MISMATCH: ExitCode.VERSION_MISMATCH,
    ErrorCode.BUSY: ExitCode.NOT_RUNNING,
    ErrorCode.TIMEOUT: ExitCode.TIMEOUT,
    ErrorCode.INTERNAL: ExitCode.INTERNAL,
    ErrorCode.CONFIG_INVALID: ExitCode.CONFIG_INVALID,
    ErrorCode.NOT_RUNNING: ExitCode.NOT_RUNNING,
    ErrorCode.PROTOCOL_VIOLATION: ExitCode.INTERNAL,
}


def exit_code_for(code: str) -> ExitCode:
    """Exit code of the ctl for a wire error code (unknown codes from a newer daemon: 1)."""
    try:
        return EXIT_CODE_FOR_ERROR[ErrorCode(code)]
    except ValueError:
        return ExitCode.INTERNAL


class Access(enum.StrEnum):
    """What a peer may do: nothing, read-only commands, or everything."""

    NONE = "none"
    READ = "read"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class CommandInfo:
    """One protocol command without its schemas: wire name, access, one-line summary."""

    name: str
    mutating: bool  # admin-only and recorded in the event journal
    summary: str

    @property
    def access(self) -> Access:
        return Access.ADMIN if self.mutating else Access.READ


COMMAND_INFO: Mapping[str, CommandInfo] = {
    info.name: info
    for info in (
        CommandInfo("status", False, "strategy state, PnL and risk figures"),
        CommandInfo("positions", False, "LONG and SHORT positions"),
        CommandInfo("orders", False, "open orders owned by the strategy"),
        CommandInfo("ladders", False, "desired grid rungs of the last bar"),
        CommandInfo(
            "pause",
            True,
            "no new exposure: withdraw entries (keep_orders: leave them resting); exits stay",
        ),
        CommandInfo("resume", True, "clear an operator pause"),
        CommandInfo("throttle", True, "scale entry sizes by 0..1"),
        CommandInfo("flatten", True, "close a side (long|short|both)"),
        CommandInfo("killswitch.status", False, "kill switch latch and reason"),
        CommandInfo("killswitch.reset", True, "clear a latched kill switch"),
        CommandInfo("reload", True, "reload what can be reloaded (as SIGHUP)"),
        CommandInfo("version", False, "daemon, protocol and engine versions"),
    )
}
