"""Process exit codes of ``hedgegridd`` (documented in ``hedgegridd --help`` and the unit file).

78 (EX_CONFIG) is the one systemd is told not to restart on (RestartPreventExitStatus=78):
a bad config will not fix itself by restarting.
"""

from __future__ import annotations

import enum

from hedgegridd.errors import (
    ConfigError,
    StateStoreError,
    VenueRefusedError,
    WarmupError,
)


class ExitCode(enum.IntEnum):
    """Why the daemon exited."""

    OK = 0  # clean stop (signal or operator), everything shut down in time
    INTERNAL = 70  # EX_SOFTWARE: an unexpected error, a task crashed, or a forced (escalated) stop
    STATE_STORE = 74  # EX_IOERR: the state database is unreadable, corrupt or of unknown schema
    WARMUP = 75  # EX_TEMPFAIL: warmup could not fetch what the strategy needs in its deadline
    VENUE_REFUSED = 76  # the venue/account cannot be traded safely (netting, engines not connected)
    CONFIG = 78  # EX_CONFIG: invalid settings or config file; the unit does not restart on it


EXIT_CODES_HELP = "\n".join(
    (
        "exit codes:",
        "  0   clean stop",
        "  70  internal error, crashed task, or stop escalated by a second signal",
        "  74  state database unreadable, corrupt or of an unknown schema version",
        "  75  warmup failed (exchange info, hedge mode, clock skew, history, funding)",
        "  76  venue refused (netting/hedge mode off, engines not connected, guard refused)",
        "  78  configuration error (not restarted by systemd)",
    )
)


def exit_code_for(exc: BaseException) -> ExitCode:
    """Map an error to the exit code that says why the daemon stopped."""
    if isinstance(exc, ConfigError):
        return ExitCode.CONFIG
    if isinstance(exc, StateStoreError):
        return ExitCode.STATE_STORE
    if isinstance(exc, WarmupError):
        return ExitCode.WARMUP
    if isinstance(exc, VenueRefusedError):
        return ExitCode.VENUE_REFUSED
    return ExitCode.INTERNAL
