"""``AlertManager``: a bounded queue of alerts and one sender task.

``notify`` is synchronous, never blocks and never raises: it applies the minimum
severity, deduplication and the per-key rate limit, then appends to a bounded
queue (when full, the oldest alert of the lowest severity is dropped and
counted). ``run`` is the one sender task: it takes the oldest alert of the
highest severity first (a kill-switch alert never waits behind info chatter),
and delivers it to every route concurrently with bounded retries, so an
unreachable channel delays only other alerts, never trading or the kill switch.
"""

from __future__ import annotations

import time
from collections import Counter, deque
from collections.abc import Callable, Mapping

import aiohttp
import anyio
import structlog
from anyio.abc import TaskStatus

from hedgegridd.ops.alert_channels import (
    AlertSecrets,
    Channel,
    Sleep,
    build_channels,
    deliver,
)
from hedgegridd.ops.alert_model import Alert, AlertKey
from hedgegridd.ops.config import AlertsConfig, Severity

log = structlog.get_logger(__name__)

# Strategy alert kinds (``AlertSink`` callback of the strategy) -> (key, severity, title).
STRATEGY_ALERTS: dict[str, tuple[str, Severity, str]] = {
    "degraded": (
        AlertKey.DEGRADED,
        Severity.CRITICAL,
        "strategy DEGRADED: a handler failed, entries paused until an operator resumes",
    ),
    "start_failed": ("strategy.start_failed", Severity.CRITICAL, "strategy failed to start"),
    "circuit_breaker": (
        AlertKey.CIRCUIT_BREAKER,
        Severity.WARNING,
        "circuit breaker tripped: entries cancelled, cooling down",
    ),
    "circuit_breaker_reset": (
        "circuit_breaker_reset",
        Severity.INFO,
        "circuit breaker cooled down: entries resume",
    ),
    "drawdown": (
        "strategy.drawdown",
        Severity.WARNING,
        "strategy drawdown limit reached: entries paused",
    ),
}


class AlertManager:
    """Deduplicating, rate-limited alert queue delivered to Slack and Telegram."""

    def __init__(
        self,
        config: AlertsConfig,
        secrets: AlertSecrets | None = None,
        *,
        channels: list[Channel] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Sleep = anyio.sleep,
        heartbeat: Callable[[], None] | None = None,
    ) -> None:
        self._config = config
        self._secrets = secrets or AlertSecrets()
        self._injected = channels is not None
        self._channels: list[Channel] = (
            list(channels) if channels is not None else list(build_channels(config, self._secrets))
        )
        self._monotonic = monotonic
        self._sleep = sleep
        self._heartbeat = heartbeat or (lambda: None)
        self._queue: deque[Alert] = deque()
        self._wakeup: anyio.Event | None = None  # created on the loop by run()
        self._busy = False
        self._last_seen: dict[tuple[object, ...], float] = {}
        self._recent_by_key: dict[str, deque[float]] = {}
        self.sent: Counter[str] = Counter()  # per channel
        self.failed: Counter[str] = Counter()  # per channel
        self.suppressed: Counter[str] = Counter()  # per reason: dedup, rate_limit, severity
        self.dropped_overflow = 0

    def reconfigure(self, config: AlertsConfig) -> None:
        """Apply new routes, limits and floors (SIGHUP reload); secrets stay as given.

        ``request_timeout_s`` takes effect at the next start of ``run``.
        """
        self._config = config
        if not self._injected:
            self._channels = list(build_channels(config, self._secrets))
        log.info("alerts.reconfigured", channels=list(self.channel_names))

    @property
    def channel_names(self) -> tuple[str, ...]:
        """Names of the routes alerts are delivered to."""
        return tuple(c.name for c in self._channels)

    @property
    def queued(self) -> int:
        """Alerts waiting for delivery."""
        return len(self._queue)

    def notify(
        self,
        key: str,
        severity: Severity,
        title: str,
        text: str = "",
        fields: Mapping[str, str] | None = None,
    ) -> None:
        """Queue an alert; never blocks, never raises (see the module docstring)."""
        try:
            level = Severity.parse(severity)
        except ValueError:
            level = Severity.WARNING
        alert = Alert(
            key=str(key),
            severity=level,
            title=title,
            text=text,
            fields={str(k): str(v) for k, v in (fields or {}).items()},
        )
        reason = self._suppression(alert)
        if reason is not None:
            self.suppressed[reason] += 1
            log.debug("alert.suppressed", key=alert.key, reason=reason)
            return
        if len(self._queue) >= self._config.queue_size:
            dropped = self._take(lowest=True)
            self.dropped_overflow += 1
            log.warning("alert.dropped", key=dropped.key, reason="queue_full")
        self._queue.append(alert)
        if self._wakeup is not None:
            self._wakeup.set()

    def strategy_sink(self, kind: str, details: dict[str, str]) -> None:
        """Adapter for ``HedgeGridStrategy.set_sinks(alert=...)``: ``(kind, details)`` -> alert."""
        key, severity, title = STRATEGY_ALERTS.get(
            kind, (f"strategy.{kind}", Severity.WARNING, f"strategy: {kind}")
        )
        self.notify(key, severity, title, fields=details)

    def _take(self, *, lowest: bool) -> Alert:
        """Remove the oldest alert of the highest (or, to drop, the lowest) severity."""
        target = (min if lowest else max)(a.severity for a in self._queue)
        for index, alert in enumerate(self._queue):
            if alert.severity == target:
                del self._queue[index]
                return alert
        raise AssertionError("unreachable: target severity is in the queue")

    def _suppression(self, alert: Alert) -> str | None:
        if not self._config.enabled or not self._channels:
            return "disabled"
        if alert.severity < self._config.min_severity:
            return "severity"
        now = self._monotonic()
        fingerprint = alert.fingerprint()
        last = self._last_seen.get(fingerprint)
        if last is not None and now - last < self._config.dedup_window_s:
            return "dedup"
        recent = self._recent_by_key.setdefault(alert.key, deque())
        while recent and now - recent[0] >= self._config.rate_limit_window_s:
            recent.popleft()
        if len(recent) >= self._config.rate_limit_count:
            return "rate_limit"
        recent.append(now)
        self._last_seen[fingerprint] = now
        self._forget_old(now)
        return None

    def _forget_old(self, now: float) -> None:
        if len(self._last_seen) < 1024:
            return
        horizon = self._config.dedup_window_s
        for fp in [fp for fp, t in self._last_seen.items() if now - t >= horizon]:
            del self._last_seen[fp]

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """The sender task: deliver queued alerts until cancelled."""
        timeout = aiohttp.ClientTimeout(total=self._config.request_timeout_s)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            log.info("alerts.started", channels=list(self.channel_names))
            task_status.started()
            while True:
                self._heartbeat()
                if not self._queue:
                    self._wakeup = anyio.Event()
                    with anyio.move_on_after(1.0):
                        await self._wakeup.wait()
                    continue
                alert = self._take(lowest=False)
                self._busy = True
                try:
                    await self._deliver_everywhere(session, alert)
                finally:
                    self._busy = False

    async def _deliver_everywhere(self, session: aiohttp.ClientSession, alert: Alert) -> None:
        async def one(channel: Channel) -> None:
            if alert.severity < channel.min_severity:
                return
            try:
                ok = await deliver(channel, session, alert, self._config, sleep=self._sleep)
            except Exception as exc:  # noqa: BLE001 - a channel bug must not end all alerting
                log.error(
                    "alert.channel_error",
                    channel=channel.name,
                    key=alert.key,
                    error=type(exc).__name__,  # never str(exc)/traceback: may hold the URL
                )
                ok = False
            (self.sent if ok else self.failed)[channel.name] += 1

        async with anyio.create_task_group() as tg:
            for channel in self._channels:
                tg.start_soon(one, channel)

    async def drain(self, timeout_s: float) -> bool:
        """Wait up to ``timeout_s`` for the queue to empty (for shutdown); True if empty."""
        with anyio.move_on_after(timeout_s):
            while self._queue or self._busy:  # noqa: ASYNC110 - bounded shutdown poll
                await anyio.sleep(0.02)
        return not (self._queue or self._busy)
