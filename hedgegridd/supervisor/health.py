"""Health registry: what must hold for the watchdog to keep pinging systemd.

- every registered task heartbeats within ``max_heartbeat_age_s``;
- event-loop lag (measured by the watchdog's probe) stays under ``max_loop_lag_s``;
- the node's data and exec engines report connected (a probe callable);
- market data is fresh: the last data seen is newer than ``max_data_age_s``.
Probes are plain callables so the registry knows nothing of Nautilus.

Degraded conditions (``set_condition``) are different: the process is healthy but the
venue is not as it must be (hedge mode lost, venue unreachable, a book difference the
repairs did not clear, a user stream that cannot be re-established). They are reported
(``HealthReport.degraded``, metrics, logs) but do NOT withhold watchdog pings: a systemd
restart cannot fix an account setting or an exchange outage, and the restarted daemon
would refuse to start (warmup requires hedge mode) and leave the positions it protects
unmanaged. The running daemon keeps managing exits, alerts, and recovers by itself
when the condition clears.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from hedgegridd.supervisor.settings import WatchdogSettings

Clock = Callable[[], float]


@dataclass(frozen=True, slots=True)
class HealthReport:
    """Result of one evaluation: ``ok`` and the reasons it is not."""

    ok: bool
    reasons: tuple[str, ...]
    degraded: tuple[str, ...] = ()  # active conditions: pings continue, operators are told


class Health:
    """Collects heartbeats and probes; ``evaluate()`` says whether the daemon is healthy."""

    def __init__(self, bounds: WatchdogSettings, clock: Clock = time.monotonic) -> None:
        self._bounds = bounds
        self._clock = clock
        self._beats: dict[str, float] = {}
        self._max_age: dict[str, float] = {}
        self.loop_lag_s = 0.0
        self._engines: Callable[[], bool] | None = None
        self._data_age: Callable[[], float | None] | None = None
        self.ready = False  # no watchdog pings before READY=1 (engines not up yet)
        self._conditions: dict[str, str] = {}

    def mark_ready(self, ready: bool = True) -> None:
        """The daemon reached READY (or left it, when stopping)."""
        self.ready = ready

    def heartbeat_for(self, name: str, max_age_s: float | None = None) -> Callable[[], None]:
        """Return the heartbeat function of task ``name``.

        The task is expected to keep beating from its first beat on (so a component
        built early but started late is not reported dead before it runs).
        ``max_age_s`` overrides ``max_heartbeat_age_s`` for a task whose loop may
        legitimately block longer (alert delivery inside its retry budget).
        """
        if max_age_s is not None:
            self._max_age[name] = max_age_s

        def beat() -> None:
            self._beats[name] = self._clock()

        return beat

    def retire(self, name: str) -> None:
        """Stop expecting heartbeats from ``name`` (task finished on purpose)."""
        self._beats.pop(name, None)

    def set_engines_probe(self, probe: Callable[[], bool] | None) -> None:
        """``probe()`` is True while the node's data and exec engines are connected."""
        self._engines = probe

    def set_data_age_probe(self, probe: Callable[[], float | None] | None) -> None:
        """``probe()`` returns seconds since the last market data (None = none yet)."""
        self._data_age = probe

    def set_condition(self, name: str, active: bool, detail: str = "") -> bool:
        """Raise or clear degraded condition ``name``; True when that changed it."""
        if active:
            changed = name not in self._conditions
            self._conditions[name] = detail
            return changed
        return self._conditions.pop(name, None) is not None

    def conditions(self) -> dict[str, str]:
        """Active degraded conditions and their details."""
        return dict(self._conditions)

    @property
    def degraded(self) -> bool:
        """True while any degraded condition is active."""
        return bool(self._conditions)

    def evaluate(self) -> HealthReport:
        """Check every bound now."""
        reasons: list[str] = []
        now = self._clock()
        if self.loop_lag_s > self._bounds.max_loop_lag_s:
            reasons.append(f"loop_lag={self.loop_lag_s:.3f}s")
        for name, last in self._beats.items():
            age = now - last
            if age > self._max_age.get(name, self._bounds.max_heartbeat_age_s):
                reasons.append(f"heartbeat:{name}={age:.1f}s")
        if self._engines is not None and not self._engines():
            reasons.append("engines_disconnected")
        if self._data_age is not None:
            age_s = self._data_age()
            if age_s is None or age_s > self._bounds.max_data_age_s:
                shown = "none" if age_s is None else f"{age_s:.1f}s"
                reasons.append(f"market_data_stale={shown}")
        return HealthReport(
            ok=not reasons, reasons=tuple(reasons), degraded=tuple(sorted(self._conditions))
        )
