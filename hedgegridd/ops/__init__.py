"""ops: the daemon's safety net and eyes (kill switch, alerts, Prometheus metrics).

Configs live in ``hedgegridd.ops.config``; components are imported from their
modules (``hedgegridd.ops.killswitch``, ``.alerts``, ``.metrics``). This package
imports no Nautilus.
"""

from hedgegridd.ops.config import (
    AlertsConfig,
    KillSwitchConfig,
    MetricsConfig,
    Severity,
    SlackRoute,
    TelegramRoute,
)

__all__ = [
    "AlertsConfig",
    "KillSwitchConfig",
    "MetricsConfig",
    "Severity",
    "SlackRoute",
    "TelegramRoute",
]
