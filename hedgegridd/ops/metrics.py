"""``MetricsServer``: the daemon's own Prometheus registry served over aiohttp.

The HTTP server runs on the daemon's event loop, so each scrape reads the
strategy on that loop (no threads). It binds 127.0.0.1 by default and refuses a
non-loopback address unless ``allow_non_loopback`` is set. Besides serving, the
task probes event-loop lag (how late a timed sleep wakes up).
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable

import anyio
import structlog
from aiohttp import web
from anyio.abc import TaskStatus
from prometheus_client import (
    CollectorRegistry,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.exposition import choose_encoder

from hedgegridd.errors import ConfigError
from hedgegridd.ops.config import MetricsConfig
from hedgegridd.ops.killswitch import KillSwitch, KillSwitchStatus
from hedgegridd.ops.metrics_collector import AlertStats, DaemonStats, OpsCollector
from hedgegridd.strategy.handle import StrategyHandle

log = structlog.get_logger(__name__)


class MetricsServer:
    """Serves ``hedgegridd_*`` metrics at ``config.path``; a supervised task."""

    def __init__(
        self,
        config: MetricsConfig,
        *,
        strategy: Callable[[], StrategyHandle | None],
        killswitch: KillSwitch | None = None,
        alerts: AlertStats | None = None,
        mode: str = "unknown",
        heartbeat: Callable[[], None] | None = None,
        clock_ns: Callable[[], int] = time.time_ns,
    ) -> None:
        self._config = config
        self._heartbeat = heartbeat or (lambda: None)
        self.stats = DaemonStats()
        self.registry = CollectorRegistry(auto_describe=False)

        def ks_status() -> KillSwitchStatus | None:
            return None if killswitch is None else killswitch.status()

        self.collector = OpsCollector(
            strategy=strategy,
            killswitch=ks_status,
            alerts=lambda: alerts,
            stats=self.stats,
            mode=mode,
            clock_ns=clock_ns,
        )
        self.registry.register(self.collector)
        # The standard process_* (CPU, memory, fds, start time) and python_info families.
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        self.port: int | None = None  # the bound port, once started

    @property
    def url(self) -> str:
        """The scrape URL (valid after start)."""
        host = self._config.host
        if ":" in host:
            host = f"[{host}]"
        return f"http://{host}:{self.port}{self._config.path}"

    def record_watchdog_ping(self) -> None:
        """Count one systemd watchdog ping (called by the supervisor's watchdog)."""
        self.stats.watchdog_pings += 1

    def render(self) -> bytes:
        """The exposition text of one scrape (reads state now, on the calling loop)."""
        return generate_latest(self.registry)

    async def _handle(self, request: web.Request) -> web.Response:
        # Text format by default; OpenMetrics when the scraper asks for it (Accept header).
        encoder, content_type = choose_encoder(request.headers.get("Accept", ""))
        body = encoder(self.registry)
        return web.Response(body=body, headers={"Content-Type": content_type})

    def _check_bind(self) -> None:
        address = ipaddress.ip_address(self._config.host)
        if not address.is_loopback and not self._config.allow_non_loopback:
            raise ConfigError(
                f"metrics.host {self._config.host} is not loopback; "
                "set metrics.allow_non_loopback = true to expose it"
            )

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Serve until cancelled; raises ConfigError if the address cannot be bound."""
        self._check_bind()
        app = web.Application()
        app.router.add_get(self._config.path, self._handle)
        runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self._config.host, self._config.port, reuse_address=True)
            try:
                await site.start()
            except OSError as exc:
                raise ConfigError(
                    f"metrics cannot bind {self._config.host}:{self._config.port}: "
                    f"{exc.strerror or type(exc).__name__}"
                ) from exc
            self.port = _bound_port(site, self._config.port)
            log.info("metrics.started", host=self._config.host, port=self.port)
            task_status.started()
            await self._probe_loop_lag()
        finally:
            with anyio.CancelScope(shield=True):
                await runner.cleanup()

    async def _probe_loop_lag(self) -> None:
        interval = self._config.loop_lag_interval_s
        while True:
            self._heartbeat()
            before = anyio.current_time()
            await anyio.sleep(interval)
            lag = max(0.0, anyio.current_time() - before - interval)
            self.stats.event_loop_lag_s = lag
            self.stats.event_loop_lag_max_s = max(self.stats.event_loop_lag_max_s, lag)


def _bound_port(site: web.TCPSite, configured: int) -> int:
    server = site._server  # aiohttp exposes the bound sockets only here
    sockets = getattr(server, "sockets", None)
    if sockets:
        return int(sockets[0].getsockname()[1])
    return configured
