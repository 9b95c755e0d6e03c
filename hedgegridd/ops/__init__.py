"""ops: the daemon's safety net and eyes (kill switch, alerts, Prometheus metrics).

Public API (components are loaded lazily so that importing the configs stays cheap;
no Nautilus import anywhere in this package):

- configs: ``KillSwitchConfig``, ``AlertsConfig``, ``MetricsConfig``, ``Severity``
- ``KillSwitch`` (``run``, ``restore``, ``fire``, ``flatten``, ``reset``, ``status``,
  ``wake`` on a mark update, ``clear_flatten_pause`` on an operator resume),
  ``KillSwitchStatus``, ``FlattenOutcome``; collaborators ``BlindWatch`` (fails
  closed), ``FlattenIntents`` (crash-consistent flatten), ``Baselines``, ``CheckReporter``
- ``AlertManager`` (``run``, ``notify``, ``drain``), ``AlertSecrets``, ``AlertKey``,
  ``AlertSink``, ``NullAlertSink``
- ``MetricsServer`` (``run``, ``record_watchdog_ping``, ``render``, ``url``)
- ``SnapshotAlerts`` (degraded / circuit breaker / large loss, fed by the kill switch)
"""

from __future__ import annotations

import importlib
from typing import Any

from hedgegridd.ops.config import (
    AlertsConfig,
    KillSwitchConfig,
    MetricsConfig,
    Severity,
    SlackRoute,
    TelegramRoute,
)

_LAZY = {
    "KillSwitch": "hedgegridd.ops.killswitch",
    "KillSwitchStatus": "hedgegridd.ops.killswitch",
    "FlattenOutcome": "hedgegridd.ops.flatten",
    "AlertManager": "hedgegridd.ops.alerts",
    "AlertSecrets": "hedgegridd.ops.alert_channels",
    "AlertKey": "hedgegridd.ops.alert_model",
    "AlertSink": "hedgegridd.ops.alert_model",
    "NullAlertSink": "hedgegridd.ops.alert_model",
    "MetricsServer": "hedgegridd.ops.metrics",
    "SnapshotAlerts": "hedgegridd.ops.watch",
}

__all__ = [
    "AlertKey",
    "AlertManager",
    "AlertSecrets",
    "AlertSink",
    "AlertsConfig",
    "FlattenOutcome",
    "KillSwitch",
    "KillSwitchConfig",
    "KillSwitchStatus",
    "MetricsConfig",
    "MetricsServer",
    "NullAlertSink",
    "Severity",
    "SlackRoute",
    "SnapshotAlerts",
    "TelegramRoute",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'hedgegridd.ops' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
